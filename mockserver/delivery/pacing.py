"""Rate pacing for bulk delivery: a token bucket, and a pacer along a ramp, on an injected clock.

``--rate 200`` means 200 deliveries *started* per second. With the default burst of 1 the starts
are spaced exactly ``1 / rate`` apart, so a consumer sees a smooth stream rather than a spike at
the top of every second (which would test its burst tolerance, not its throughput). Retries are
not paced: they follow their own schedule, as a real sender's retry queue does.

Implemented as GCRA (the "virtual scheduling" form of a token bucket): one timestamp, the
theoretical arrival time, instead of a token count refilled by a timer. :class:`PlanPacer` is the
same GCRA with a burst of one and an interval that follows a :class:`Schedule` (``load --ramp``):
from a start at ``t`` the next comes when the plan's integral has grown by one request. A start
booked late (the sender was busy) is not made up by a burst later.

The reference consumer's limiter is the same :class:`TokenBucket` (:meth:`TokenBucket.try_take`):
one GCRA in the project, on both sides of the wire.
"""

from __future__ import annotations

import threading
from typing import Protocol

from mockserver.delivery.clock import Clock
from mockserver.errors import UsageError

__all__ = ["MAX_RATE", "MIN_RATE", "Pacer", "PlanPacer", "Schedule", "TokenBucket", "check_rate"]

#: The slowest and fastest paced rates: one start every ~17 minutes, a million a second. Beyond
#: them a run would wait for ever (``--rate 1e-300``) or ask for what no machine sends.
MIN_RATE = 0.001
MAX_RATE = 1_000_000.0


def check_rate(value: float, option: str = "rate") -> float:
    """``value`` as a rate per second within [:data:`MIN_RATE`, :data:`MAX_RATE`], or a one-line
    :class:`~mockserver.errors.UsageError` naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{option} must be a number per second")
    if not MIN_RATE <= value <= MAX_RATE:  # also refuses NaN and infinities
        raise UsageError(f"{option} {value:g} must be from {MIN_RATE:g} to {MAX_RATE:g} per second")
    return float(value)


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


class Schedule(Protocol):
    """A rate that may change over time (a load ramp): when the next start comes after ``t``."""

    def interval_after(self, t: float) -> float:
        """Seconds from a start at ``t`` (after the first start) to the next one."""
        ...


class TokenBucket:
    """Allows ``rate`` acquisitions per second, up to ``burst`` back to back."""

    def __init__(self, rate: float, clock: Clock, *, burst: int = 1) -> None:
        check_rate(rate)
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

    def try_take(self) -> float:
        """A limiter's question: take a start *now* and return 0, or take nothing and return the
        seconds until one would be allowed (what a 429's ``Retry-After`` should say)."""
        with self._lock:
            now = self._clock.now()
            tat = now if self._tat is None else max(self._tat, now)
            # A small epsilon absorbs float error at exact refills (0.1 + 0.2 > 0.3).
            if tat - self._tolerance <= now + 1e-9:
                self._tat = tat + self._interval
                return 0.0
            return tat - self._tolerance - now

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


class PlanPacer:
    """GCRA pacing along a :class:`Schedule` (``mockserver.load.LoadPlan``): a :class:`Pacer`.

    Time starts at the first booking (:attr:`t0`, on ``clock``); :meth:`next_start` tells when
    the next booking would start, so the input can end before it reaches the plan's end.
    """

    def __init__(self, plan: Schedule, clock: Clock) -> None:
        self._plan = plan
        self._clock = clock
        self._lock = threading.Lock()
        self._t0: float | None = None
        self._tat = 0.0  # seconds after t0 of the next conforming start

    @property
    def t0(self) -> float | None:
        """Clock time of the first start, ``None`` before it."""
        return self._t0

    def begin(self) -> float:
        """Fix :attr:`t0` now if it is not yet; return it."""
        with self._lock:
            return self._begin(self._clock.now())

    def _begin(self, now: float) -> float:
        if self._t0 is None:
            self._t0 = now
        return self._t0

    def next_start(self) -> float:
        """Seconds after :attr:`t0` at which the next booking would start."""
        with self._lock:
            now = self._clock.now()
            return max(self._tat, now - self._begin(now))

    def reserve(self) -> float:
        with self._lock:
            now = self._clock.now()
            elapsed = now - self._begin(now)
            start = max(self._tat, elapsed)
            self._tat = start + self._plan.interval_after(start)
        return max(0.0, start - elapsed)

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            self._clock.sleep(wait)
        return self._clock.now()
