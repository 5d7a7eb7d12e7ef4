"""Load mode: a sustained or ramped rate of webhooks, measured second by second.

A :class:`LoadRun` drives one consumer at a :class:`~mockserver.load_plan.LoadPlan` (``rate``
requests started per second for ``duration_s``, or with ``ramp`` a linear climb), sending seeded
valid and evolved bodies (:class:`contracts.bulk.BodyMix`) through the ordinary
:class:`~mockserver.delivery.Sender` and its bulk engine (aiohttp on the real network). Retries
are off: each request counts once, so what a second shows is what the consumer answered to that
second's load.

Measurement: every attempt lands in the second in which it *started* (its ``started_at``, taken
right before the request goes out), whenever its answer comes; a :class:`Series` keeps per
second the count sent, the 2xx, the 429s, the other answers by kind (``"500"``, ``"401"``,
``"timeout"``, ``"connect"``...) and the attempt durations, from which the p50/p95/p99 of that
second are exact (nearest rank). From the series a :class:`LoadResult` names the highest rate the
consumer held without an error (429 aside) and where it started answering 429.

Pacing is :class:`~mockserver.delivery.pacing.PlanPacer` along the plan (:meth:`LoadPlan.
interval_after`); the run ends the input when the next start would fall at or after
``duration_s``.

``contracts/cli/load.py`` is the command (``r360-webhooks load``); :mod:`mockserver.load_plot`
draws a result with matplotlib.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.bulk import BulkBody
from mockserver.delivery import Delivery, Engine, Sender
from mockserver.delivery.pacing import PlanPacer
from mockserver.delivery.records import Attempt
from mockserver.delivery.sender import check_concurrency
from mockserver.delivery.summary import percentile
from mockserver.errors import UsageError
from mockserver.load_plan import DEFAULT_CONCURRENCY, RAMP_START_RATE, LoadPlan

__all__ = [
    "DEFAULT_CONCURRENCY",
    "RAMP_START_RATE",
    "LoadPlan",
    "LoadResult",
    "LoadRun",
    "Mark",
    "SecondStats",
    "Series",
]

#: Version of the JSON report (``LoadResult.to_json``); bumped on an incompatible change.
REPORT_VERSION = 1


def classify(attempt: Attempt) -> str:
    """``ok`` (2xx), ``throttled`` (429), or the kind of error: status text or error kind."""
    status = attempt.status
    if status is not None and 200 <= status < 300:
        return "ok"
    if status == 429:
        return "throttled"
    return attempt.outcome


@dataclass(frozen=True, slots=True)
class SecondStats:
    """One second of a run (or several merged, see :meth:`LoadResult.windows`)."""

    second: int
    #: Seconds after the first start where this bucket begins, and how long it is (the last
    #: second of a fractional duration is shorter).
    start_s: float
    width_s: float
    #: What the plan asked for in this bucket, per second.
    asked_rate: float
    sent: int
    ok: int
    throttled: int
    #: Other answers by kind: a status code as text (``"500"``) or an error kind (``"timeout"``).
    errors: dict[str, int]
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None

    @property
    def rate(self) -> float:
        """Requests started per second in this bucket."""
        return self.sent / self.width_s if self.width_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "start_s": round(self.start_s, 6),
            "width_s": round(self.width_s, 6),
            "asked_rate": round(self.asked_rate, 3),
            "sent": self.sent,
            "rate": round(self.rate, 3),
            "ok": self.ok,
            "throttled": self.throttled,
            "errors": dict(sorted(self.errors.items())),
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "latency_p99_s": self.latency_p99_s,
        }


@dataclass
class _Bucket:
    sent: int = 0
    ok: int = 0
    throttled: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    durations: array[float] = field(default_factory=lambda: array("d"))


class Series:
    """Per-second counters of a run, filled from any thread (the engine's ``on_done``)."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self._lock = threading.Lock()
        self._buckets = [_Bucket() for _ in range(plan.seconds)]

    def add(self, attempt: Attempt, offset_s: float) -> None:
        """Count ``attempt``, which started ``offset_s`` seconds after the first start.

        A start booked before the end that went out a moment after it (a late wake-up) is
        counted in the last second.
        """
        index = min(max(int(offset_s), 0), len(self._buckets) - 1)
        kind = classify(attempt)
        with self._lock:
            bucket = self._buckets[index]
            bucket.sent += 1
            if kind == "ok":
                bucket.ok += 1
            elif kind == "throttled":
                bucket.throttled += 1
            else:
                bucket.errors[kind] += 1
            bucket.durations.append(attempt.duration_s)

    def window(self, first: int, last: int) -> SecondStats:
        """Seconds ``first`` to ``last`` (inclusive) as one bucket, percentiles merged."""
        plan = self.plan
        start = float(first)
        end = min(float(last + 1), plan.duration_s)
        with self._lock:
            chosen = self._buckets[first : last + 1]
            durations = sorted(d for b in chosen for d in b.durations)
            errors: Counter[str] = Counter()
            for b in chosen:
                errors.update(b.errors)
            sent = sum(b.sent for b in chosen)
            ok = sum(b.ok for b in chosen)
            throttled = sum(b.throttled for b in chosen)
        width = max(end - start, 0.0)
        return SecondStats(
            second=first,
            start_s=start,
            width_s=width,
            asked_rate=plan.expected(start, end) / width if width > 0 else 0.0,
            sent=sent,
            ok=ok,
            throttled=throttled,
            errors=dict(sorted(errors.items())),
            latency_p50_s=percentile(durations, 0.50),
            latency_p95_s=percentile(durations, 0.95),
            latency_p99_s=percentile(durations, 0.99),
        )

    def seconds(self, upto: int | None = None) -> list[SecondStats]:
        """One :class:`SecondStats` per second, the first ``upto`` of them (default: all)."""
        count = len(self._buckets) if upto is None else max(0, min(upto, len(self._buckets)))
        return [self.window(i, i) for i in range(count)]


@dataclass(frozen=True, slots=True)
class Mark:
    """A point of the series: which second, and the rate sent in it."""

    second: int
    rate: float

    def to_json(self) -> dict[str, Any]:
        return {"second": self.second, "rate": round(self.rate, 3)}


@dataclass(frozen=True)
class LoadResult:
    """A finished (or interrupted) run: the series, the totals and what they say."""

    url: str
    engine: str
    concurrency: int
    plan: LoadPlan
    seconds: tuple[SecondStats, ...]
    totals: SecondStats
    #: Seconds from the first start to the last answer.
    elapsed_s: float
    seed: int | None = None
    evolved_share: float | None = None
    interrupted: bool = False
    _series: Series | None = field(default=None, repr=False, compare=False)

    @property
    def achieved_rate(self) -> float:
        """Requests started per second over the seconds the run covered."""
        covered = sum(s.width_s for s in self.seconds)
        return self.totals.sent / covered if covered > 0 else 0.0

    @property
    def asked_total(self) -> float:
        return sum(s.asked_rate * s.width_s for s in self.seconds)

    @property
    def held(self) -> Mark | None:
        """The highest per-second rate sent while no second so far had an error (429 aside).

        ``None`` when the very first second had one.
        """
        best: Mark | None = None
        for stats in self.seconds:
            if stats.error_count:
                break
            if best is None or stats.rate > best.rate:
                best = Mark(stats.second, stats.rate)
        return best

    @property
    def first_error(self) -> Mark | None:
        return next((Mark(s.second, s.rate) for s in self.seconds if s.error_count), None)

    @property
    def first_429(self) -> Mark | None:
        """The first second with a 429, and the rate sent in it."""
        return next((Mark(s.second, s.rate) for s in self.seconds if s.throttled), None)

    def windows(self, step: int) -> list[SecondStats]:
        """The series in buckets of ``step`` seconds (for a readable table of a long run)."""
        if step <= 1 or self._series is None:
            return list(self.seconds)
        last = len(self.seconds) - 1
        return [self._series.window(i, min(i + step - 1, last)) for i in range(0, last + 1, step)]

    def to_json(self) -> dict[str, Any]:
        """The ``--report`` document (``version`` :data:`REPORT_VERSION`)."""

        def mark(value: Mark | None) -> dict[str, Any] | None:
            return value.to_json() if value is not None else None

        totals = self.totals.to_json()
        for key in ("second", "start_s", "rate"):
            del totals[key]
        totals["width_s"] = round(sum(s.width_s for s in self.seconds), 6)
        totals["asked"] = round(self.asked_total, 3)
        totals["achieved_rate"] = round(self.achieved_rate, 3)
        return {
            "version": REPORT_VERSION,
            "url": self.url,
            "engine": self.engine,
            "concurrency": self.concurrency,
            "rate": self.plan.rate,
            "duration_s": self.plan.duration_s,
            "ramp": self.plan.ramp,
            "start_rate": self.plan.start_rate,
            "seed": self.seed,
            "evolved_share": self.evolved_share,
            "interrupted": self.interrupted,
            "elapsed_s": round(self.elapsed_s, 6),
            "seconds": [s.to_json() for s in self.seconds],
            "totals": totals,
            "held": mark(self.held),
            "first_error": mark(self.first_error),
            "first_429": mark(self.first_429),
        }


class LoadRun:
    """One load run against ``sender``'s URL; :meth:`run` blocks until the last answer.

    The sender must not retry (``retry="none"``): a load run counts each request once. Read
    :meth:`snapshot` from another thread for a live display.
    """

    def __init__(
        self,
        sender: Sender,
        plan: LoadPlan,
        bodies: Iterable[BulkBody],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        engine: Engine = "auto",
        seed: int | None = None,
        evolved_share: float | None = None,
    ) -> None:
        if sender.policy.max_attempts != 1:
            raise UsageError(
                f"a load run counts each request once, but the sender's retry policy "
                f"{sender.policy.name!r} retries; make it with retry='none'"
            )
        check_concurrency(concurrency, "--concurrency")
        self.sender = sender
        self.plan = plan
        self.concurrency = concurrency
        self.engine = sender.engine_for(engine)
        self.seed = seed
        self.evolved_share = evolved_share
        self.series = Series(plan)
        self._bodies = iter(bodies)
        self._pacer = PlanPacer(plan, sender.clock)
        self._last_answer: float | None = None

    def _items(self) -> Iterator[tuple[str, bytes]]:
        end = self.plan.duration_s
        pacer = self._pacer
        for body in self._bodies:
            # Both engines book the start right after taking an item, with no other booking in
            # between, so this is the start the item will get.
            if pacer.next_start() >= end:
                return
            yield body.event, body.body

    def _done(self, delivery: Delivery) -> None:
        t0 = self._pacer.t0
        assert t0 is not None  # set by the booking that started this delivery
        for attempt in delivery.attempts:
            self.series.add(attempt, attempt.started_at - t0)
        self._last_answer = self.sender.clock.now()

    def run(self) -> LoadResult:
        """Send the plan; return the result (``KeyboardInterrupt`` passes through)."""
        self.sender.deliver_many(
            self._items(),
            concurrency=self.concurrency,
            pacer=self._pacer,
            on_done=self._done,
            engine=self.engine,
        )
        return self.result()

    def elapsed(self) -> float:
        """Seconds since the first start (0 before it)."""
        t0 = self._pacer.t0
        return 0.0 if t0 is None else max(0.0, self.sender.clock.now() - t0)

    def snapshot(self) -> list[SecondStats]:
        """The seconds begun so far, the current one included (thread-safe)."""
        if self._pacer.t0 is None:
            return []
        return self.series.seconds(int(self.elapsed()) + 1)

    def result(self, *, interrupted: bool = False) -> LoadResult:
        """The result so far; after an interrupt, only the seconds that were reached."""
        t0 = self._pacer.t0
        reached = self.plan.seconds if not interrupted else int(self.elapsed()) + 1
        seconds = tuple(self.series.seconds(reached if t0 is not None else 0))
        last = len(seconds) - 1
        totals = (
            self.series.window(0, last)
            if seconds
            else SecondStats(0, 0.0, 0.0, 0.0, 0, 0, 0, {}, None, None, None)
        )
        end = self._last_answer if self._last_answer is not None else t0
        return LoadResult(
            url=self.sender.redactor.text(self.sender.url),
            engine=self.engine,
            concurrency=self.concurrency,
            plan=self.plan,
            seconds=seconds,
            totals=totals,
            elapsed_s=(end - t0) if t0 is not None and end is not None else 0.0,
            seed=self.seed,
            evolved_share=self.evolved_share,
            interrupted=interrupted,
            _series=self.series,
        )
