"""What a load run asks for: a constant rate or a linear ramp, and when each request starts.

Why its own module: the plan is pure arithmetic (no engine, no thread), shared by the run
(:mod:`mockserver.load`), its per-second series and the pacer
(:class:`~mockserver.delivery.pacing.PlanPacer`), and tested on its own without a consumer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mockserver.delivery.pacing import check_rate
from mockserver.errors import UsageError

__all__ = ["DEFAULT_CONCURRENCY", "MAX_DURATION_S", "RAMP_START_RATE", "LoadPlan"]

#: Requests in flight at most; a slow consumer needs about rate x latency of them.
DEFAULT_CONCURRENCY = 64

#: Where a ramp starts (requests per second), or the asked rate when that is lower.
RAMP_START_RATE = 1.0


#: The longest load run: a day (a soak beyond that is a job for Locust's distributed runners).
MAX_DURATION_S = 86_400.0


def _duration(value: float) -> float:
    if not 0 < value <= MAX_DURATION_S:  # also refuses NaN and infinities
        raise UsageError(
            f"--duration {value:g} must be more than 0 and at most {MAX_DURATION_S:g} s"
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How many requests to start when: ``rate`` per second for ``duration_s``, or a ramp."""

    rate: float
    duration_s: float
    ramp: bool = False

    def __post_init__(self) -> None:
        check_rate(self.rate, "--rate")
        _duration(self.duration_s)

    @property
    def start_rate(self) -> float:
        """The rate at the first start: :data:`RAMP_START_RATE` on a ramp, else ``rate``."""
        return min(RAMP_START_RATE, self.rate) if self.ramp else self.rate

    @property
    def seconds(self) -> int:
        """Buckets in the series: one per started second of the duration."""
        return math.ceil(self.duration_s)

    @property
    def total(self) -> float:
        """Requests the whole plan asks for."""
        return self.expected(0.0, self.duration_s)

    def rate_at(self, t: float) -> float:
        """Asked requests per second at ``t`` seconds after the first start."""
        if not self.ramp:
            return self.rate
        share = min(max(t / self.duration_s, 0.0), 1.0)
        return self.start_rate + (self.rate - self.start_rate) * share

    def expected(self, start: float, end: float) -> float:
        """Requests the plan asks for in ``[start, end)`` (exact: the rate is linear)."""
        start, end = max(start, 0.0), min(end, self.duration_s)
        if end <= start:
            return 0.0
        return (end - start) * (self.rate_at(start) + self.rate_at(end)) / 2

    def interval_after(self, t: float) -> float:
        """Seconds from a start at ``t`` to the next: when the plan's integral has grown by 1.

        With rate ``r`` and slope ``k`` that is the root of ``r d + k d^2 / 2 = 1``, written as
        ``2 / (r + sqrt(r^2 + 2k))`` so that it stays exact as ``k`` goes to 0 (``1 / r``).
        """
        rate = self.rate_at(t)
        slope = 0.0
        if self.ramp and t < self.duration_s:
            slope = (self.rate - self.start_rate) / self.duration_s
        return 2.0 / (rate + math.sqrt(rate * rate + 2.0 * slope))
