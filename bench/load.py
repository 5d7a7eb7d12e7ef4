"""Pacing and load mode: the rate asked is the rate sent, and ``load`` keeps up with the library.

* pacing: ``Sender.deliver_many`` at ``rate=PACING_RATE`` for PACING_SECONDS, achieved starts/s
  over the rate asked (a fixed figure);
* load mode, sustained and ramped, through the library's ``LoadRun``: requests sent over the
  requests the plan asks for (fixed);
* issue 14, item 2: ``r360-webhooks load`` at full speed (a rate no sender reaches here,
  FULL_SPEED_RATE, for FULL_SPEED_SECONDS) against ``LoadRun`` with the same plan, bodies and
  concurrency (64, the command's default), RUNS times interleaved: at least 0.9x. Both are
  read the same way, the achieved rate of the run's report (requests started per second).

All against one nginx answering 204 (``bench/nginx.py``). Run alone with
``python bench/run.py load``; about 90 s.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.common import Row, Target, interleaved
from bench.nginx import ensure_tools, nginx_204
from bench.send import cli_executable, timed_command
from contracts.bulk import BodyMix, BulkGenerator
from mockserver.delivery import Sender
from mockserver.load import LoadPlan, LoadRun

RUNS = int(os.environ.get("R360_BENCH_RUNS", "5"))
PACING_RATE = 1000
PACING_SECONDS = 10
FULL_SPEED_RATE = 100_000
FULL_SPEED_SECONDS = 5
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


def library_load(url: str, plan: LoadPlan) -> tuple[float, float]:
    """(sent, achieved rate) of one library load run."""
    with Sender(url, retry="none") as sender:
        result = LoadRun(sender, plan, BodyMix(seed=SEED, evolved_share=EVOLVED_SHARE)).run()
    return float(result.totals.sent), result.achieved_rate


def cli_load(url: str, tmp: Path) -> float:
    report = tmp / "load.json"
    command = [
        cli_executable(), "load", url, "--rate", str(FULL_SPEED_RATE),
        "--duration", str(FULL_SPEED_SECONDS), "--seed", str(SEED),
        "--evolved-share", str(EVOLVED_SHARE), "--no-progress", "--report", str(report),
    ]  # fmt: skip
    timed_command(command)
    rate: float = json.loads(report.read_text())["totals"]["achieved_rate"]
    return rate


def run() -> list[Row]:
    nginx, _ = ensure_tools()
    steady = LoadPlan(rate=PACING_RATE, duration_s=PACING_SECONDS)
    ramp = LoadPlan(rate=PACING_RATE, duration_s=PACING_SECONDS, ramp=True)
    full = LoadPlan(rate=FULL_SPEED_RATE, duration_s=FULL_SPEED_SECONDS)
    with tempfile.TemporaryDirectory(prefix="r360-bench-load-") as name:
        tmp = Path(name)
        with nginx_204(nginx, tmp) as url:
            achieved = pacing(url)
            print(f"  pacing: asked {PACING_RATE}/s, achieved {achieved:,.1f}/s", flush=True)
            steady_sent, _ = library_load(url, steady)
            ramp_sent, _ = library_load(url, ramp)
            print(
                f"  load: {steady_sent:,.0f} of {steady.total:,.0f}; ramp {ramp_sent:,.0f} of {ramp.total:,.0f}"
            )
            m = interleaved(
                {
                    "load (CLI)": lambda: cli_load(url, tmp),
                    "LoadRun (library)": lambda: library_load(url, full)[1],
                },
                RUNS,
                unit="requests/s",
            )
    full_name = f"at full speed (asked {FULL_SPEED_RATE:,}/s for {FULL_SPEED_SECONDS} s)"
    return [
        Row.against_fixed(f"pacing at rate={PACING_RATE} for {PACING_SECONDS} s", achieved, "asked", PACING_RATE, "deliveries/s", Target.between(0.98, 1.02)),
        Row.against_fixed(f"load mode, {PACING_RATE}/s for {PACING_SECONDS} s", steady_sent, "asked", steady.total, "requests", Target.between(0.98, 1.02)),
        Row.against_fixed(f"load mode, ramp to {PACING_RATE}/s", ramp_sent, "asked", ramp.total, "requests", Target.between(0.98, 1.02)),
        Row.same_run(f"load (CLI) {full_name}", m["load (CLI)"], "LoadRun (library), same plan", m["LoadRun (library)"], "requests/s", Target.at_least(0.9)),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["load"]))
