"""Rate pacing for bulk delivery: a token bucket that sleeps on the injected clock.

``--rate 200`` means 200 deliveries *started* per second. With the default burst of 1 the starts
are spaced exactly ``1 / rate`` apart, so a consumer sees a smooth stream rather than a spike at
the top of every second (which would test its burst tolerance, not its throughput). Retries are
not paced: they follow their own schedule, as a real sender's retry queue does.

Implemented as GCRA (the "virtual scheduling" form of a token bucket): one timestamp, the
theoretical arrival time, instead of a token count refilled by a timer.
"""

from __future__ import annotations

import math
import threading
from typing import Protocol

from mockserver.delivery.clock import Clock
from mockserver.errors import UsageError

__all__ = ["Pacer", "TokenBucket"]


class Pacer(Protocol):
    """What the bulk engines need from pacing: book the next start, wait for it or not.

    :class:`TokenBucket` is the fixed-rate one; ``mockserver.load`` has one whose rate follows a
    ramp. Both engines book and start in one step (no other booking in between), so a pacer may
    also decide when the input ends.
    """

    def acquire(self) -> float:
        """Wait (on the pacer's clock) until the next start is allowed; return its time."""
        ...

    def reserve(self) -> float:
        """Book the next start without sleeping; return the seconds to wait for it (>= 0)."""
        ...


class TokenBucket:
    """Allows ``rate`` acquisitions per second, up to ``burst`` back to back."""

    def __init__(self, rate: float, clock: Clock, *, burst: int = 1) -> None:
        if not math.isfinite(rate) or rate <= 0:
            raise UsageError(f"rate {rate!r} must be a number of deliveries per second > 0")
        if burst < 1:
            raise UsageError(f"burst {burst!r} must be at least 1")
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: float | None = None  # theoretical arrival time of the next conforming call

    def acquire(self) -> float:
        """Wait (on the clock) until a start is allowed; return the start time."""
        now, start = self._book()
        if start > now:
            self._clock.sleep(start - now)
        return start

    def reserve(self) -> float:
        """Book the next start without sleeping; return the seconds to wait for it (>= 0).

        For callers that wait in their own way: the aiohttp engine awaits ``asyncio.sleep`` on
        this, so pacing never blocks the event loop and the schedule is the same GCRA.
        """
        now, start = self._book()
        return max(0.0, start - now)

    def _book(self) -> tuple[float, float]:
        with self._lock:
            now = self._clock.now()
            tat = now if self._tat is None else max(self._tat, now)
            start = max(now, tat - self._tolerance)
            self._tat = tat + self._interval
        return now, start
