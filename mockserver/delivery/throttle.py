"""The verifier's retry policy: a 429 is the limiter's business, waited out for exactly what
it asks, within the run's time.

:class:`ThrottleRetry` (``verifier``) retries only a 429, for exactly its ``Retry-After`` (``0``
means at once, an HTTP-date means until then; missing or unusable means
:data:`DEFAULT_THROTTLE_WAIT`), within a per-delivery limit and the run's shared :class:`Budget`.
Every wait of every check goes through it (and :func:`throttle_wait`), so ``Retry-After: 0``
means the same thing everywhere. It is a :class:`~mockserver.delivery.retry.Policy` like the
sender's schedules (:mod:`mockserver.delivery.retry`), and lives apart from them because its
rules are the run's time, not a schedule.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from mockserver.delivery.clock import Clock, SystemClock
from mockserver.errors import UsageError

if TYPE_CHECKING:
    from mockserver.delivery.records import Attempt, Delivery

__all__ = [
    "DEFAULT_THROTTLE_WAIT",
    "MAX_THROTTLE_ATTEMPTS",
    "ZERO_WAIT_GRACE_S",
    "Budget",
    "ThrottleRetry",
    "throttle_wait",
]


#: What a 429 without a usable ``Retry-After`` is waited for (RFC 6585 makes the header
#: optional; a second is the usual guess of senders and the reference consumer's minimum).
DEFAULT_THROTTLE_WAIT = 1.0


def throttle_wait(attempt: Attempt) -> float:
    """Seconds a 429 asks for: its ``Retry-After`` exactly (``0`` included), else the default."""
    value = attempt.retry_after_s
    if value is None or not math.isfinite(value) or value < 0:
        return DEFAULT_THROTTLE_WAIT
    return value


#: How long a delivery keeps retrying at once while its 429s keep saying ``Retry-After: 0`` (or
#: an HTTP-date already past). A limiter that rounds its wait down says 0 only for what is left
#: of its window, under a second (flask-limiter's own header does); one that still says it two
#: seconds on is not lifting, and the run stops asking a thousand times a second.
ZERO_WAIT_GRACE_S: float = 2
#: The most attempts one delivery makes: a guard on memory, whatever the clock says (on the
#: loopback a zero-wait streak makes about a thousand a second).
MAX_THROTTLE_ATTEMPTS = 10_000


class Budget:
    """The time one run may spend, shared by every wait in it (a verify run, a plugin session).

    Besides the end of the run it remembers, once, that the consumer kept a delivery limited past
    its own limit (:attr:`limited`): then no other delivery waits either, since a limiter that
    did not lift for one will not lift for the next (a "penalty box").
    """

    def __init__(self, seconds: float, clock: Clock) -> None:
        if not math.isfinite(seconds) or seconds <= 0:
            raise UsageError(f"a time budget of {seconds!r} s must be a number of seconds > 0")
        self.seconds = float(seconds)
        self._clock = clock
        self._ends = clock.now() + seconds
        #: Why the first delivery that stayed limited past its limit stopped waiting ("429 never
        #: lifted within 30 s, although it said Retry-After: 1"), once one has.
        self.limited: str | None = None

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock.now())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


class ThrottleRetry:
    """The verifier's policy (``verifier``): wait out a 429 for exactly its ``Retry-After``.

    Only a 429 is retried (anything else is the answer the check judges). A delivery stops
    waiting when the time since its first attempt started would pass ``per_delivery_s``, when
    its 429s have asked for no wait for :data:`ZERO_WAIT_GRACE_S` in a row, after
    :data:`MAX_THROTTLE_ATTEMPTS` attempts, when the run's ``budget`` is spent or has less time
    left than the wait asks, or once another delivery stayed limited past its own limit.

    The time is read from ``clock``, which must be the sender's (its attempts' ``started_at``
    come from it), not summed from the waits: a 429 that says ``Retry-After: 0`` (or an
    HTTP-date in the past) asks for no wait at all, and waits that add up to nothing would let
    such a limiter hold a delivery for ever.
    """

    name = "verifier"
    #: Time is the limit; the count only bounds a limiter that keeps asking for no wait at all.
    max_attempts = MAX_THROTTLE_ATTEMPTS

    def __init__(
        self,
        *,
        per_delivery_s: float = 30.0,
        budget: Budget | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not math.isfinite(per_delivery_s) or per_delivery_s < 0:
            raise UsageError(f"per-delivery wait {per_delivery_s!r} must be a number >= 0")
        self.per_delivery_s = per_delivery_s
        self.budget = budget
        #: The sender's clock: the attempts' ``started_at`` are read from it.
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._stops: dict[str, str] = {}
        #: When each delivery's current run of zero-wait 429s began (its first such attempt).
        self._zero_since: dict[str, float] = {}

    def delay_after(self, delivery: Delivery, attempt: Attempt, rng: random.Random) -> float | None:
        if attempt.status != 429:
            self._stops[delivery.id] = "the verifier waits out only a 429"
            return None
        reason, stuck = self._reason(delivery, attempt)
        if reason is None:
            return throttle_wait(attempt)
        if stuck and self.budget is not None:
            self.budget.limited = reason
        if len(self._stops) > 4096:
            self._stops.clear()
        self._stops[delivery.id] = reason
        self._zero_since.pop(delivery.id, None)
        return None

    def _reason(self, delivery: Delivery, attempt: Attempt) -> tuple[str | None, bool]:
        """Why this delivery stops waiting, and whether that shows a limit that never lifts."""
        wait = throttle_wait(attempt)
        elapsed = self.clock.now() - delivery.attempts[0].started_at
        budget = self.budget
        said = _said(attempt)
        left = budget.remaining() if budget is not None else math.inf
        if budget is not None and budget.limited is not None:
            return f"not waited for, since another delivery's {budget.limited}", False
        if budget is not None and left <= 0:
            return f"the run's time budget ran out while a 429 was waited out ({said})", False
        if wait > min(self.per_delivery_s, left):
            # One long wait is the consumer's honest (or overstated) answer, not a stuck
            # limiter: the other deliveries still wait out their own 429s.
            return (
                f"429 asked to wait {wait:g} s ({said}), more than the verifier waits "
                f"({min(self.per_delivery_s, left):.0f} s)"
            ), False
        if elapsed + wait > self.per_delivery_s:
            return (
                f"429 never lifted within {self.per_delivery_s:g} s, although it said {said}",
                True,
            )
        if wait > 0:
            self._zero_since.pop(delivery.id, None)
        else:
            since = self._zero_since.get(delivery.id)
            if since is None or since < delivery.attempts[0].started_at:  # not a past delivery's
                if len(self._zero_since) > 4096:
                    self._zero_since.clear()
                since = self._zero_since[delivery.id] = attempt.started_at
            grace = min(ZERO_WAIT_GRACE_S, self.per_delivery_s)
            if self.clock.now() - since >= grace:
                return f"429 never lifted within {grace:g} s of saying {said}", True
        if attempt.number >= self.max_attempts:
            return (
                f"429 never lifted in {attempt.number} attempts ({elapsed:.1f} s), although it "
                f"said {said}"
            ), True
        return None, False

    def why_stopped(self, delivery: Delivery, attempt: Attempt) -> str:
        return self._stops.pop(delivery.id, "the verifier stopped waiting")


def _said(attempt: Attempt) -> str:
    value = attempt.response_headers.get("retry-after")
    return f"Retry-After: {value}" if value is not None else "no Retry-After"
