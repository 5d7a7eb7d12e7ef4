"""Time as an injected dependency, so retry schedules are testable.

The Standard Webhooks example schedule spans about 75 h 35 min and Svix's about 27 h 35 min. A test
cannot wait that long, and a test that only checks "it retried" cannot tell 5 min from 5 s. The
sender therefore reads the time and sleeps only through a :class:`Clock`: production uses
:class:`SystemClock`; tests use :class:`FakeClock`, whose ``sleep`` advances virtual time at once
and records how long it was asked to wait, so a test can assert exactly when each attempt ran.

``now()`` is wall-clock Unix time (not a monotonic counter) because ``Retry-After`` may be an
HTTP-date (RFC 9110 §10.2.3), which is only meaningful against the real calendar.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """What the sender needs from time: the current Unix time and a way to wait."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (virtual clocks return at once)."""
        ...


class SystemClock:
    """The real clock: :func:`time.time` and :func:`time.sleep`."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A virtual clock: ``sleep`` advances ``now`` instantly and is recorded in :attr:`sleeps`.

    Thread-safe, so it can drive the bulk sender; with several workers the sleeps of all threads
    add up on one timeline, which is what the token-bucket pacing test wants (one thread sleeps)
    but not a model of parallel waiting.
    """

    #: 2023-11-14T22:13:20Z: a fixed, realistic default start so HTTP-dates are plausible.
    DEFAULT_START = 1_700_000_000.0

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._lock = threading.Lock()
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (something else took that long)."""
        with self._lock:
            self._now += seconds
