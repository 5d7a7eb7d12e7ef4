"""Load mode: a sustained or ramped rate of webhooks, measured second by second.

A :class:`LoadRun` drives one consumer at a :class:`LoadPlan` (``rate`` requests started per
second for ``duration_s``, or with ``ramp`` a linear climb from :data:`RAMP_START_RATE` to
``rate``), sending seeded valid and evolved bodies (:class:`BodyMix`, from
:class:`contracts.bulk.BulkGenerator`) through the ordinary :class:`~mockserver.delivery.Sender`
and its bulk engine (aiohttp on the real network). Retries are off: each request counts once,
so what a second shows is what the consumer answered to that second's load.

Measurement: every attempt lands in the second in which it *started* (its ``started_at``, taken
right before the request goes out), whenever its answer comes; a :class:`Series` keeps per
second the count sent, the 2xx, the 429s, the other answers by kind (``"500"``, ``"401"``,
``"timeout"``, ``"connect"``...) and the attempt durations, from which the p50/p95/p99 of that
second are exact (nearest rank). From the series a :class:`LoadResult` names the highest rate the
consumer held without an error (429 aside) and where it started answering 429.

Pacing is :class:`PlanPacer`, the GCRA of :class:`~mockserver.delivery.pacing.TokenBucket` with a burst of
one and an interval that follows the plan: from a start at ``t`` the next comes when the plan's
integral has grown by one request, exactly, also on the ramp. A start booked late (the sender was
busy) is not made up by a burst later. The pacer also ends the input: no start is booked at or
after ``duration_s``.

``contracts/cli/load.py`` is the command (``r360-webhooks load``); :func:`save_plot` draws a
result with matplotlib, imported only when called.
"""

from __future__ import annotations

import math
import random
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.bulk import BulkBody, BulkGenerator
from mockserver.delivery import Delivery, Engine, Sender
from mockserver.delivery.clock import Clock
from mockserver.delivery.records import Attempt
from mockserver.errors import UsageError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_EVOLVED_SHARE",
    "RAMP_START_RATE",
    "BodyMix",
    "LoadPlan",
    "LoadResult",
    "LoadRun",
    "Mark",
    "PlanPacer",
    "SecondStats",
    "Series",
    "save_plot",
]

#: Where a ramp starts (requests per second), or the asked rate when that is lower.
RAMP_START_RATE = 1.0
#: Requests in flight at most; a slow consumer needs about rate x latency of them.
DEFAULT_CONCURRENCY = 64
#: Share of evolved bodies (one to three catalogue changes) among the valid ones.
DEFAULT_EVOLVED_SHARE = 0.3
#: Version of the JSON report (``LoadResult.to_json``); bumped on an incompatible change.
REPORT_VERSION = 1


def _number(name: str, value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} {value:g} must be more than 0 {what}")
    return float(value)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How many requests to start when: ``rate`` per second for ``duration_s``, or a ramp."""

    rate: float
    duration_s: float
    ramp: bool = False

    def __post_init__(self) -> None:
        _number("--rate", self.rate, "requests per second")
        _number("--duration", self.duration_s, "seconds")

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


class PlanPacer:
    """GCRA pacing along a :class:`LoadPlan` (a :class:`~mockserver.delivery.pacing.Pacer`).

    Time starts at the first booking (:attr:`t0`, on ``clock``); :meth:`next_start` tells when
    the next booking would start, so the input can end before it reaches the plan's end.
    """

    def __init__(self, plan: LoadPlan, clock: Clock) -> None:
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


class BodyMix:
    """Seeded valid and evolved bodies, evolved with probability ``evolved_share``; unique IDs.

    Two generators (seeds ``2 * seed`` and ``2 * seed + 1``) feed the mix, so their ID prefixes
    differ and no ID repeats within a mix; mixes whose seeds differ by less than 4,500 never
    share an ID either (``mockserver.locust`` gives worker ``i`` the seed ``seed + i``).
    """

    def __init__(self, *, seed: int, evolved_share: float, templates: int = 64) -> None:
        if not 0.0 <= evolved_share <= 1.0:  # also refuses NaN
            raise UsageError(
                f"evolved share {evolved_share:g} must be between 0 and 1 (0.3: 30 % evolved)"
            )
        self.seed = seed
        self.evolved_share = evolved_share
        self._rng = random.Random(seed)
        self._valid = None
        if evolved_share < 1.0:
            self._valid = BulkGenerator(seed=2 * seed, templates=templates)
        self._evolved = None
        if evolved_share > 0.0:
            self._evolved = BulkGenerator(seed=2 * seed + 1, evolved=True, templates=templates)

    def __iter__(self) -> Iterator[BulkBody]:
        return self

    def __next__(self) -> BulkBody:
        if self._valid is None or (
            self._evolved is not None and self._rng.random() < self.evolved_share
        ):
            assert self._evolved is not None
            return next(self._evolved)
        return next(self._valid)


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]  # nearest rank


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
            latency_p50_s=_percentile(durations, 0.50),
            latency_p95_s=_percentile(durations, 0.95),
            latency_p99_s=_percentile(durations, 0.99),
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
        if concurrency < 1:
            raise UsageError(f"--concurrency {concurrency} must be at least 1")
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


def save_plot(result: LoadResult, path: str | Path) -> None:
    """Draw requests/s (asked, sent, 2xx, 429) and p95 latency over time into a PNG.

    Uses matplotlib's Agg canvas on a private figure (no pyplot, no global backend switch);
    matplotlib is imported here only, so a run without ``--plot`` never loads it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    seconds = result.seconds
    x = [s.start_s + s.width_s / 2 for s in seconds]
    style: dict[str, Any] = {"marker": "o", "markersize": 3.5} if len(seconds) <= 40 else {}
    figure = Figure(figsize=(10, 5.2), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    rates = figure.add_subplot()
    rates.plot(
        x, [s.asked_rate for s in seconds], "--", color="0.35", lw=1.1, label="asked/s", zorder=4
    )
    rates.plot(x, [s.rate for s in seconds], color="tab:blue", lw=1.8, label="sent/s", **style)
    rates.plot(
        x, [s.ok / s.width_s if s.width_s else 0 for s in seconds],
        color="tab:green", lw=1.8, label="2xx/s", **style,
    )  # fmt: skip
    rates.bar(
        x, [s.throttled / s.width_s if s.width_s else 0 for s in seconds],
        width=[0.8 * s.width_s for s in seconds], color="tab:orange", alpha=0.35,
        label="429/s",
    )  # fmt: skip
    failed = [(xi, s.error_count / s.width_s) for xi, s in zip(x, seconds, strict=True) if s.errors]
    if failed:
        rates.scatter(
            [p[0] for p in failed], [p[1] for p in failed],
            marker="x", color="tab:red", s=40, zorder=5, label="errors/s",
        )  # fmt: skip
    rates.set_xlabel("seconds since the first request")
    rates.set_ylabel("requests per second")
    rates.set_xlim(0, max(result.plan.duration_s, 1.0))
    rates.grid(True, alpha=0.3)

    latency = rates.twinx()
    p95 = [
        (xi, 1000 * s.latency_p95_s)
        for xi, s in zip(x, seconds, strict=True)
        if s.latency_p95_s is not None
    ]
    latency.plot(
        [p[0] for p in p95], [p[1] for p in p95],
        color="tab:purple", lw=1.4, ls="-.", label="p95 latency (ms)", **style,
    )  # fmt: skip
    latency.set_ylabel("p95 latency (ms)", color="tab:purple")
    latency.tick_params(axis="y", colors="tab:purple")
    # Headroom above the latency line keeps it clear of the 429 note and the rate lines' peak.
    latency.set_ylim(0, max([p[1] for p in p95] + [1.0]) * 1.45)

    first = result.first_429
    if first is not None:
        at = seconds[first.second].start_s
        rates.axvline(at, color="tab:orange", lw=1.2, ls=":")
        rates.annotate(
            f"first 429 at {first.rate:.0f}/s",
            xy=(at, 0.97), xycoords=("data", "axes fraction"),
            xytext=(4, 0), textcoords="offset points", ha="left", va="top",
            color="tab:orange", fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )  # fmt: skip

    handles = [
        *rates.get_legend_handles_labels()[0],
        *latency.get_legend_handles_labels()[0],
    ]
    if first is not None:
        handles.append(Line2D([], [], color="tab:orange", lw=1.2, ls=":", label="first 429"))
    figure.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8.5,
        frameon=False,
    )  # fmt: skip
    top = max([s.rate for s in seconds] + [s.asked_rate for s in seconds] + [1.0])
    rates.set_ylim(0, top * 1.12)
    plan = result.plan
    shape = f"ramp {plan.start_rate:g} to {plan.rate:g}/s" if plan.ramp else f"{plan.rate:g}/s"
    url = result.url if len(result.url) <= 60 else result.url[:57] + "..."
    rates.set_title(f"r360-webhooks load: {shape} for {plan.duration_s:g} s to {url}", fontsize=10)
    figure.savefig(Path(path), format="png")
