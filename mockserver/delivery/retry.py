"""Retry policies of large senders, the status rules that decide a retry, and ``Retry-After``.

Record360 does not publish its retry schedule, so the mock sender offers the schedules of the
senders consumers most often meet (see PEERS.md §5), all as immutable :class:`RetryPolicy`
values that run under a virtual clock:

=============== ========== ======================================================================
name            attempts   delays before attempts 2..n
=============== ========== ======================================================================
``standard``    10         5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (≈ 75 h 35 min);
                           the example schedule of the Standard Webhooks spec
``svix``        8          5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (≈ 27 h 35 min); Svix docs
``shopify``     8          2, 4, 8, 16, 32, 64, 128 min (≈ 4 h 14 min): Shopify promises
                           exponential back-off over 4 h without listing the steps, so these are
                           our choice of a doubling series that ends near 4 h
``stripe-test`` 4          30 min, 1 h, 2 h (3 retries over 3.5 h): Stripe's sandbox says only
                           "3 retries over a few hours"; the steps are our choice
``none``        1          (no retries; GitHub does not redeliver automatically)
``quick``       3          1 s, 5 s: the CLI default, so a run against a laptop endpoint ends in
                           seconds; the status rules and ``Retry-After`` apply as everywhere
``custom:…``    n + 1      ``custom:0,5,30`` = the delays before attempts 2, 3, 4 in seconds
=============== ========== ======================================================================

Status rules (Standard Webhooks "Retry Schedule", Svix): any 2xx is success; connection errors,
timeouts, 5xx and 429 are retried; 410 Gone stops at once; 3xx is a failure and is not followed;
every other status is a failure the consumer answered on purpose and is not retried.

``Retry-After`` (RFC 9110 §10.2.3) is honoured on 429 and 503 as in Svix's sender (PR #2203): the
next delay is ``max(schedule delay, Retry-After)`` but never more than the schedule delay plus
:attr:`RetryPolicy.retry_after_cap` (default 2 h), so a consumer cannot park a delivery forever.

The verifier has a policy of its own, :class:`~mockserver.delivery.throttle.ThrottleRetry`
(``verifier``, in :mod:`mockserver.delivery.throttle`): only a 429 is waited out, for exactly its
``Retry-After``, within a per-delivery limit and the run's shared time budget.

A policy is the only owner of a wait: the delivery core asks it, after each failed attempt, for
the delay before the next one or ``None`` (no more attempts), and sleeps nowhere else.
"""

from __future__ import annotations

import calendar
import email.utils
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol

from mockserver.errors import UsageError

if TYPE_CHECKING:
    from mockserver.delivery.records import Attempt, Delivery

__all__ = [
    "PRESETS",
    "Policy",
    "RetryPolicy",
    "Verdict",
    "classify_status",
    "next_delay",
    "parse_retry",
    "parse_retry_after",
]

_MIN = 60.0
_HOUR = 3600.0

#: How much a ``Retry-After`` may add to the schedule delay by default (Svix PR #2203: 2 h).
DEFAULT_RETRY_AFTER_CAP = 2 * _HOUR
#: Delays are multiplied by a random factor in ``[1, 1 + jitter]`` (Standard Webhooks: "jitter").
DEFAULT_JITTER = 0.1
#: The longest wait between two attempts: a week (the presets top out at 24 h); a delay of
#: ``1e308`` seconds would park a delivery, and ``serve``'s worker, for ever.
MAX_DELAY_S = 7 * 24 * _HOUR


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A named retry schedule.

    :param name: the preset name (or ``custom:…``) shown in logs and reports.
    :param delays: seconds to wait before attempts 2..n; ``len(delays) + 1`` attempts in all.
    :param jitter: each delay is multiplied by a random factor in ``[1, 1 + jitter]`` so that
        many failing deliveries do not retry in lock-step (thundering herd).
    :param retry_after_cap: the most a ``Retry-After`` header may add to a schedule delay.
    """

    name: str
    delays: tuple[float, ...]
    jitter: float = DEFAULT_JITTER
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP

    def __post_init__(self) -> None:
        for delay in self.delays:
            if not 0 <= delay <= MAX_DELAY_S:  # also refuses NaN and infinities
                raise UsageError(
                    f"retry policy {self.name!r}: delay {delay!r} must be from 0 to "
                    f"{MAX_DELAY_S:g} seconds (a week)"
                )
        if not math.isfinite(self.jitter) or self.jitter < 0:
            raise UsageError(f"retry policy {self.name!r}: jitter {self.jitter!r} must be >= 0")
        if not math.isfinite(self.retry_after_cap) or self.retry_after_cap < 0:
            raise UsageError(
                f"retry policy {self.name!r}: retry_after_cap {self.retry_after_cap!r} "
                "must be a finite number >= 0"
            )

    @property
    def max_attempts(self) -> int:
        """Total attempts, the first one included."""
        return len(self.delays) + 1

    @property
    def window(self) -> float:
        """Seconds from the first to the last attempt when every attempt fails (no jitter)."""
        return float(sum(self.delays))

    def delay_after(self, delivery: Delivery, attempt: Attempt, rng: random.Random) -> float | None:
        """The wait before the next attempt after a retryable ``attempt``; ``None`` when spent."""
        if attempt.number >= self.max_attempts:
            return None
        honoured = attempt.retry_after_s if attempt.status in RETRY_AFTER_STATUSES else None
        return next_delay(self, attempt.number, rng, honoured)

    def why_stopped(self, delivery: Delivery, attempt: Attempt) -> str:
        count = len(delivery.attempts)
        plural = "s" if count != 1 else ""
        return f"{count} attempt{plural} failed, retry policy {self.name!r} exhausted"


class Policy(Protocol):
    """What the delivery core asks of a retry policy (:class:`RetryPolicy`, :class:`ThrottleRetry`).

    ``delay_after`` is called after each attempt whose verdict is ``retry`` (no answer, 5xx,
    429) and returns the seconds to wait before the next attempt, or ``None`` to stop; then
    ``why_stopped`` says why, in a few words, for the dead-letter detail.
    """

    @property
    def name(self) -> str: ...

    @property
    def max_attempts(self) -> int: ...

    def delay_after(
        self, delivery: Delivery, attempt: Attempt, rng: random.Random
    ) -> float | None: ...

    def why_stopped(self, delivery: Delivery, attempt: Attempt) -> str: ...


PRESETS: Mapping[str, RetryPolicy] = MappingProxyType(
    {
        "standard": RetryPolicy(
            "standard",
            (
                5,
                5 * _MIN,
                30 * _MIN,
                2 * _HOUR,
                5 * _HOUR,
                10 * _HOUR,
                14 * _HOUR,
                20 * _HOUR,
                24 * _HOUR,
            ),
        ),
        "svix": RetryPolicy(
            "svix", (5, 5 * _MIN, 30 * _MIN, 2 * _HOUR, 5 * _HOUR, 10 * _HOUR, 10 * _HOUR)
        ),
        "shopify": RetryPolicy("shopify", tuple(2 * _MIN * 2**i for i in range(7))),
        "stripe-test": RetryPolicy("stripe-test", (30 * _MIN, _HOUR, 2 * _HOUR)),
        "none": RetryPolicy("none", ()),
        "quick": RetryPolicy("quick", (1, 5)),
    }
)

_CUSTOM = "custom:"


def parse_retry(text: str) -> RetryPolicy:
    """Turn a ``--retry`` value (a preset name or ``custom:D1,D2,…``) into a policy.

    Raises :class:`~mockserver.errors.UsageError` naming the bad value and listing valid ones.
    """
    value = text.strip()
    policy = PRESETS.get(value.lower())
    if policy is not None:
        return policy
    if value.lower().startswith(_CUSTOM):
        return _parse_custom(value)
    valid = ", ".join(PRESETS)
    raise UsageError(
        f"unknown retry policy {text!r}; use one of {valid}, or custom:D1,D2,... "
        "(delays in seconds before attempts 2, 3, ...)"
    )


#: ``custom:`` lists at most this many delays (the longest preset has nine).
MAX_CUSTOM_DELAYS = 100


def _parse_custom(value: str) -> RetryPolicy:
    items = value[len(_CUSTOM) :].split(",")
    if len(items) > MAX_CUSTOM_DELAYS:
        raise UsageError(
            f"retry policy custom: lists {len(items)} delays; at most {MAX_CUSTOM_DELAYS}"
        )
    delays: list[float] = []
    for item in items:
        try:
            delay = float(item.strip())
        except ValueError:
            delay = math.nan
        if not 0 <= delay <= MAX_DELAY_S:  # also refuses NaN and infinities
            raise UsageError(
                f"retry policy {value[:40]!r}: {item.strip()[:20]!r} is not a delay in seconds "
                f"from 0 to {MAX_DELAY_S:g}; write custom:D1,D2,..., e.g. custom:0,5,30"
            )
        delays.append(delay)
    return RetryPolicy(f"custom:{','.join(f'{d:g}' for d in delays)}", tuple(delays))


Verdict = Literal["delivered", "retry", "gone", "redirect", "rejected"]


def classify_status(status: int) -> Verdict:
    """What a response status means for the delivery (Standard Webhooks and Svix rules)."""
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"  # Standard Webhooks: 410 -> disable the endpoint, stop sending
    if status == 429 or status >= 500:
        return "retry"
    if 300 <= status < 400:
        return "redirect"  # a failure; redirects are never followed
    return "rejected"


#: Statuses whose ``Retry-After`` the sender honours (Svix: 429 and 503).
RETRY_AFTER_STATUSES = frozenset({429, 503})

_DELTA_SECONDS = re.compile(r"[0-9]+")


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value, or ``None`` when it is unusable.

    RFC 9110 §10.2.3: either ``delta-seconds`` (a non-negative integer; ``0`` is valid) or an
    HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept),
    taken relative to ``now`` (Unix seconds). A date in the past means "now" (0). Anything else,
    including fractions and negative numbers, is ignored so the schedule applies.
    """
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(int(text))
    parsed = email.utils.parsedate_tz(text)
    if parsed is None or not text[:1].isalpha():
        return None
    try:
        when = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
    except (OverflowError, ValueError):
        return None
    return max(0.0, when - now)


def next_delay(
    policy: RetryPolicy,
    attempt: int,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    The schedule delay gets jitter first; a ``retry_after`` (already filtered to 429/503) may
    lengthen it, by at most :attr:`RetryPolicy.retry_after_cap`.
    """
    delay = policy.delays[attempt - 1]
    if policy.jitter and delay:
        delay *= rng.uniform(1.0, 1.0 + policy.jitter)
    if retry_after is not None:
        delay = min(max(delay, retry_after), delay + policy.retry_after_cap)
    return delay
