"""Memory: the sender stays flat and under budget over RSS_COUNT deliveries.

In a fresh process (so nothing else this run imported counts): RSS_COUNT deliveries to nginx
answering 204, with a delivery log to /dev/null, VmRSS sampled every twentieth of the run
(10,000 deliveries) and VmHWM (the peak) read at the end. Compared with a fixed budget
(RSS_BUDGET_MB) and with itself: RSS after the last delivery over RSS after the first quarter
(50,000; flat: at most 1.1x). RUNS fresh processes (``R360_BENCH_MEMORY_RUNS``, default 3), one
after another, each giving both of its figures, so the two sides of the flatness row always
have the same runs. Run alone with ``python bench/run.py memory``; about 90 s.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import Measure, Row, Target, interleaved, knob
from bench.nginx import ensure_tools, nginx_204
from contracts.bulk import BulkGenerator
from mockserver.delivery import Sender
from mockserver.delivery.delivery_log import DeliveryLog

RUNS = knob("R360_BENCH_MEMORY_RUNS", 3, 2)
RSS_COUNT = knob("R360_BENCH_RSS_COUNT", 200_000, 40_000)
#: VmRSS is read every SAMPLE_EVERY deliveries; flatness is judged from FLAT_FROM on.
SAMPLE_EVERY = RSS_COUNT // 20
FLAT_FROM = RSS_COUNT // 4
RSS_BUDGET_MB = 150


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_child(url: str) -> dict[str, Any]:
    """In this (fresh) process: RSS_COUNT deliveries logged to /dev/null, VmRSS sampled."""
    items = ((b.event, b.body) for b in itertools.islice(BulkGenerator(seed=5), RSS_COUNT))
    samples: dict[int, float] = {0: _status_kb("VmRSS") / 1024}
    done = 0

    def on_done(delivery: object) -> None:
        nonlocal done
        done += 1
        if done % SAMPLE_EVERY == 0:
            samples[done] = _status_kb("VmRSS") / 1024

    with Sender(url, retry="none") as sender, DeliveryLog(os.devnull) as log:
        summary = sender.deliver_many(items, concurrency=64, on_done=on_done, log=log)
    return {
        "delivered": summary.delivered,
        "engine": sender.engine_for(),
        "samples_mb": samples,
        "peak_mb": _status_kb("VmHWM") / 1024,
    }


def rss(url: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--child", url],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    result["samples_mb"] = {int(k): v for k, v in result["samples_mb"].items()}
    return result


def run() -> list[Row]:
    nginx, _ = ensure_tools()
    found: list[dict[str, Any]] = []

    def peak(url: str) -> float:
        found.append(rss(url))
        samples = found[-1]["samples_mb"]
        print(
            f"  RSS over {RSS_COUNT:,} deliveries ({found[-1]['engine']}): "
            + ", ".join(f"{k:,} {v:.0f} MB" for k, v in samples.items() if k % FLAT_FROM == 0),
            flush=True,
        )
        peak_mb: float = found[-1]["peak_mb"]
        return peak_mb

    with (
        tempfile.TemporaryDirectory(prefix="r360-bench-memory-") as name,
        nginx_204(nginx, Path(name)) as url,
    ):
        peaks = interleaved({"peak RSS": lambda: peak(url)}, RUNS, unit="MB")["peak RSS"]
    last = Measure(tuple(run["samples_mb"][RSS_COUNT] for run in found))
    early = Measure(tuple(run["samples_mb"][FLAT_FROM] for run in found))
    return [
        Row.against_fixed(f"peak RSS over {RSS_COUNT:,} deliveries", peaks, "budget (MB)", RSS_BUDGET_MB, "MB", Target.at_most(1.0)),
        Row.same_run(f"RSS after {RSS_COUNT // 1000}k deliveries", last, f"RSS after {FLAT_FROM // 1000}k, same process (MB)", early, "MB", Target.at_most(1.1, "(flat)")),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(rss_child(sys.argv[2])))
    else:
        from bench.run import main

        sys.exit(main(["memory"]))
