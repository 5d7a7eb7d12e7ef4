"""Pacing and load mode: the rate asked is the rate sent, and ``load`` keeps up with the library.

* pacing: ``Sender.deliver_many`` at ``rate=PACING_RATE`` for PACING_SECONDS, achieved starts/s
  over the rate asked (a fixed figure);
* load mode, sustained and ramped, through the library's ``LoadRun``: requests sent over the
  requests the plan asks for (fixed);

  each of these three PACING_RUNS times (``R360_BENCH_PACING_RUNS``, default 3), interleaved;
* issue 14, item 2: ``r360-webhooks load`` at full speed (a rate no sender reaches here,
  FULL_SPEED_RATE, for FULL_SPEED_SECONDS) against ``LoadRun`` with the same plan, bodies and
  concurrency (64, the command's default), RUNS times interleaved: at least 0.9x. The command is
  timed as users meet it, a subprocess from spawn to exit (``bench.common.timed``: start,
  imports and writing the report count), and the library from making its sender to closing it;
  each side's rate is the requests its run sent over that time. The achieved rate each run
  reports (requests started per second while it sent, start-up left out) is shown beside, for
  information.

All against one nginx answering 204 (``bench/nginx.py``). Run alone with
``python bench/run.py load``; about two and a half minutes.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import INFO, Measure, Row, Target, cli_executable, interleaved, knob, timed
from bench.nginx import ensure_tools, nginx_204
from contracts.bulk import BodyMix, BulkGenerator
from mockserver.delivery import Sender
from mockserver.load import LoadPlan, LoadRun

RUNS = knob("R360_BENCH_RUNS", 5, 2)
PACING_RUNS = knob("R360_BENCH_PACING_RUNS", 3, 2)
PACING_RATE = 1000
PACING_SECONDS = knob("R360_BENCH_PACING_SECONDS", 10, 2)
FULL_SPEED_RATE = 100_000
#: A full-speed run as a user runs one: 15 s (a command's start, about 0.8 s, is part of what is
#: timed; load tests run for minutes, and a 5 s run made start-up a sixth of the figure).
FULL_SPEED_SECONDS = knob("R360_BENCH_FULL_SPEED_SECONDS", 15, 2)
SEED = 5
EVOLVED_SHARE = 0.3


def pacing(url: str) -> float:
    count = PACING_RATE * PACING_SECONDS
    items = ((b.event, b.body) for b in itertools.islice(BulkGenerator(seed=3), count))
    starts: list[float] = []
    with Sender(url, retry="none") as sender:
        summary = sender.deliver_many(
            items,
            concurrency=16,
            rate=PACING_RATE,
            on_done=lambda d: starts.append(d.attempts[0].started_at),
        )
    assert summary.delivered == count
    return (count - 1) / (max(starts) - min(starts))


def library_load(url: str, plan: LoadPlan) -> tuple[float, float, float]:
    """(sent, wall seconds from making the sender to closing it, achieved rate) of one run."""
    started = time.perf_counter()
    with Sender(url, retry="none") as sender:
        result = LoadRun(sender, plan, BodyMix(seed=SEED, evolved_share=EVOLVED_SHARE)).run()
    wall = time.perf_counter() - started
    return float(result.totals.sent), wall, result.achieved_rate


def cli_load(url: str, tmp: Path) -> tuple[float, float, float]:
    """(sent, wall seconds from spawn to exit, achieved rate in its report) of one command."""
    report = tmp / "load.json"
    command = [
        cli_executable(), "load", url, "--rate", str(FULL_SPEED_RATE),
        "--duration", str(FULL_SPEED_SECONDS), "--seed", str(SEED),
        "--evolved-share", str(EVOLVED_SHARE), "--no-progress", "--report", str(report),
    ]  # fmt: skip
    wall = timed(command)
    totals = json.loads(report.read_text())["totals"]
    return float(totals["sent"]), wall, float(totals["achieved_rate"])


def run() -> list[Row]:
    nginx, _ = ensure_tools()
    steady = LoadPlan(rate=PACING_RATE, duration_s=PACING_SECONDS)
    ramp = LoadPlan(rate=PACING_RATE, duration_s=PACING_SECONDS, ramp=True)
    full = LoadPlan(rate=FULL_SPEED_RATE, duration_s=FULL_SPEED_SECONDS)
    achieved: dict[str, list[float]] = {"cli": [], "library": []}

    def full_speed(side: str, one: tuple[float, float, float]) -> float:
        sent, wall, rate = one
        achieved[side].append(rate)
        return sent / wall

    with tempfile.TemporaryDirectory(prefix="r360-bench-load-") as name:
        tmp = Path(name)
        with nginx_204(nginx, tmp) as url:
            paced = interleaved(
                {
                    "pacing (deliveries/s)": lambda: pacing(url),
                    "load mode (requests)": lambda: library_load(url, steady)[0],
                    "load mode, ramp (requests)": lambda: library_load(url, ramp)[0],
                },
                PACING_RUNS,
            )
            m = interleaved(
                {
                    "load (CLI)": lambda: full_speed("cli", cli_load(url, tmp)),
                    "LoadRun (library)": lambda: full_speed("library", library_load(url, full)),
                },
                RUNS,
                unit="requests/s",
            )
    full_name = f"at full speed (asked {FULL_SPEED_RATE:,}/s for {FULL_SPEED_SECONDS} s)"
    reported = {side: Measure(tuple(rates)) for side, rates in achieved.items()}
    return [
        Row.against_fixed(f"pacing at rate={PACING_RATE} for {PACING_SECONDS} s", paced["pacing (deliveries/s)"], "asked", PACING_RATE, "deliveries/s", Target.between(0.98, 1.02)),
        Row.against_fixed(f"load mode, {PACING_RATE}/s for {PACING_SECONDS} s", paced["load mode (requests)"], "asked", steady.total, "requests", Target.between(0.98, 1.02)),
        Row.against_fixed(f"load mode, ramp to {PACING_RATE}/s", paced["load mode, ramp (requests)"], "asked", ramp.total, "requests", Target.between(0.98, 1.02)),
        Row.same_run(f"load (CLI) {full_name}, spawn to exit", m["load (CLI)"], "LoadRun (library), same plan, sender made to closed", m["LoadRun (library)"], "requests/s", Target.at_least(0.9)),
        Row.same_run("  same, achieved rate in the report", reported["cli"], "LoadRun's achieved rate", reported["library"], "requests/s", INFO),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["load"]))
