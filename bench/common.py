"""Shared shape of a benchmark result, and the one way every contender is measured.

Machines here are noisy, so no figure means anything alone. A row compares us with a peer in
one of two ways, and says which:

* a **peer measured in the same run** (wrk, a raw jsonschema-rs loop, a bare interpreter):
  both sides are measured the same way, the same number of times, interleaved (ours, peer,
  ours, peer...) so that a burst of load elsewhere hits both, and compared by their medians;
* a **fixed figure** (the rate asked for, a memory budget, a CI step's time budget): the row
  says "fixed", not "same run", and only our side has a spread.

Every row shows the spread (lowest and highest of the runs) next to the median, and the ratio's
range from the least to the most favourable pairing of runs. A same-run row whose two sides ran
a different number of times is refused when it is built (issue 14, item 5: the median of N for
both, never our best of three against its single run). A row's :class:`Target` is data, so
``make bench`` can say which missed and exit 1.

Commands are timed one way only, :func:`timed`: a subprocess from spawn to exit, interpreter
start and imports included, as a user meets them. ``R360_BENCH_QUICK=1`` shrinks every run count
and size (:func:`knob`) to check that the benchmarks work; its figures never reach the README.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``R360_BENCH_QUICK=1``: a check that the benchmarks run, not a measurement.
QUICK = os.environ.get("R360_BENCH_QUICK", "") == "1"


def knob(name: str, default: int, quick: int) -> int:
    """The ``R360_*`` setting ``name`` when set, else ``quick`` in quick mode, else ``default``.

    Run counts and sizes are knobs so one benchmark can be checked in seconds on a shared machine
    without editing it; the environment wins so a quick run can still ask for more.
    """
    value = os.environ.get(name)
    if value is not None:
        return int(value)
    return quick if QUICK else default


@dataclass(frozen=True, slots=True)
class Measure:
    """The figures of one contender over its runs; compared by the median."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a measure needs at least one run")

    @classmethod
    def of(cls, value: float | Measure) -> Measure:
        return value if isinstance(value, Measure) else cls((float(value),))

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def runs(self) -> int:
        return len(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "samples": list(self.samples),
        }


@dataclass(frozen=True, slots=True)
class Target:
    """What the ratio ours/peer must be: at least, at most, between, or nothing (information)."""

    low: float | None = None
    high: float | None = None
    note: str = ""

    @classmethod
    def at_least(cls, value: float, note: str = "") -> Target:
        return cls(low=value, note=note)

    @classmethod
    def at_most(cls, value: float, note: str = "") -> Target:
        return cls(high=value, note=note)

    @classmethod
    def between(cls, low: float, high: float) -> Target:
        return cls(low=low, high=high)

    @property
    def informative(self) -> bool:
        return self.low is None and self.high is None

    def holds(self, ratio: float) -> bool:
        return (self.low is None or ratio >= self.low) and (self.high is None or ratio <= self.high)

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            text = f"{self.low:g}-{self.high:g}x"
        elif self.low is not None:
            text = f">= {self.low:g}x"
        elif self.high is not None:
            text = f"<= {self.high:g}x"
        else:
            text = "(info)"
        return f"{text} {self.note}".strip()


#: A row that only informs: it never fails ``make bench``.
INFO = Target()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: our measure over a peer's (same run) or a fixed figure."""

    name: str
    ours: Measure
    peer_name: str
    peer: Measure | None
    unit: str
    target: Target = field(default=INFO)
    #: The peer is a fixed figure (a budget, the rate asked), not something measured.
    fixed: bool = False

    def __post_init__(self) -> None:
        if self.fixed and (self.peer is None or self.peer.runs != 1):
            raise ValueError(f"{self.name}: a fixed figure is one value")
        if not self.fixed and self.peer is not None and self.peer.runs != self.ours.runs:
            raise ValueError(
                f"{self.name}: ours has {_runs(self.ours.runs)} and {self.peer_name} "
                f"{_runs(self.peer.runs)}; a same-run peer is measured as often as we are"
            )

    @classmethod
    def same_run(
        cls,
        name: str,
        ours: float | Measure,
        peer_name: str,
        peer: float | Measure,
        unit: str,
        target: Target = INFO,
    ) -> Row:
        """Ours against a peer measured in this run, as often as ours (else ``ValueError``)."""
        return cls(name, Measure.of(ours), peer_name, Measure.of(peer), unit, target)

    @classmethod
    def against_fixed(
        cls,
        name: str,
        ours: float | Measure,
        peer_name: str,
        value: float,
        unit: str,
        target: Target = INFO,
    ) -> Row:
        """Ours against a fixed figure (a budget, the rate asked): the table says "fixed:"."""
        return cls(name, Measure.of(ours), peer_name, Measure.of(value), unit, target, fixed=True)

    @classmethod
    def alone(cls, name: str, ours: float | Measure, unit: str) -> Row:
        """A figure with nothing to compare it with (information only)."""
        return cls(name, Measure.of(ours), "(none)", None, unit)

    @property
    def ratio(self) -> float | None:
        if self.peer is None or not self.peer.median:
            return None
        return self.ours.median / self.peer.median

    @property
    def ratio_range(self) -> tuple[float, float] | None:
        """From the least to the most favourable pairing of a run of ours with a run of the peer."""
        if self.peer is None or self.peer.low <= 0:
            return None
        return self.ours.low / self.peer.high, self.ours.high / self.peer.low

    @property
    def missed(self) -> bool:
        """The row has a target and its ratio (of medians) does not meet it."""
        if self.target.informative:
            return False
        ratio = self.ratio
        return ratio is None or not self.target.holds(ratio)

    @property
    def verdict(self) -> str:
        if self.target.informative:
            return ""
        return "MISSED" if self.missed else "held"

    def to_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "unit": self.unit,
            "ours": self.ours.to_json(),
            "peer_name": self.peer_name,
            "peer": self.peer.to_json() if self.peer else None,
            "peer_kind": "fixed" if self.fixed else ("same run" if self.peer else None),
            "ratio": round(ratio, 4) if ratio is not None else None,
            "ratio_range": self.ratio_range,
            "target": str(self.target),
            "verdict": self.verdict or None,
        }


def interleaved(
    contenders: dict[str, Callable[[], float]], runs: int, *, unit: str = ""
) -> dict[str, Measure]:
    """Run each contender ``runs`` times, round-robin, printing each figure as it comes.

    Round-robin, not one contender's runs then the next's: load from elsewhere on a shared
    machine comes in bursts, and interleaving spreads a burst over every contender.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for index in range(runs):
        for name, measure in contenders.items():
            value = measure()
            samples[name].append(value)
            print(f"  run {index + 1}/{runs}  {name}: {number(value)} {unit}".rstrip(), flush=True)
    return {name: Measure(tuple(values)) for name, values in samples.items()}


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def cli_executable() -> str:
    """The ``r360-webhooks`` beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("r360-webhooks")
    found = str(beside) if beside.exists() else shutil.which("r360-webhooks")
    if found is None:
        raise SystemExit("r360-webhooks is not installed: run make bench (it installs the package)")
    return found


def timed(command: list[str], exit_codes: Collection[int] = (0,)) -> float:
    """Wall seconds of ``command`` as a subprocess, from spawn to exit; it must exit with one of
    ``exit_codes`` (a run that failed is not a fast run).

    The one way a command is timed, ours and a peer's alike, so both pay the same interpreter
    start; stdout is discarded (a terminal would time the terminal).
    """
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if done.returncode not in exit_codes:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return wall


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
