"""Memory: the sender stays flat and under budget over RSS_COUNT deliveries.

In a fresh process (so nothing else this run imported counts): RSS_COUNT deliveries to nginx
answering 204, with a delivery log to /dev/null, VmRSS sampled every 10,000 deliveries and VmHWM
(the peak) read at the end. Compared with a fixed budget (RSS_BUDGET_MB) and with itself: RSS
after the last delivery over RSS after the first 50,000 (flat: at most 1.1x).
Run alone with ``python bench/run.py memory``; about 30 s.
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

from bench.common import Row, Target
from bench.nginx import ensure_tools, nginx_204
from contracts.bulk import BulkGenerator
from mockserver.delivery import Sender
from mockserver.delivery.delivery_log import DeliveryLog

RSS_COUNT = 200_000
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
        if done % 10_000 == 0:
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
    with (
        tempfile.TemporaryDirectory(prefix="r360-bench-memory-") as name,
        nginx_204(nginx, Path(name)) as url,
    ):
        memory = rss(url)
    samples = memory["samples_mb"]
    print(
        f"  RSS over {RSS_COUNT:,} deliveries ({memory['engine']}): "
        + ", ".join(f"{k // 1000}k {v:.0f} MB" for k, v in samples.items() if k % 50_000 == 0)
        + f"; peak {memory['peak_mb']:.0f} MB",
        flush=True,
    )
    return [
        Row.against_fixed(f"peak RSS over {RSS_COUNT:,} deliveries", memory["peak_mb"], "budget (MB)", RSS_BUDGET_MB, "MB", Target.at_most(1.0)),
        Row.same_run(f"RSS after {RSS_COUNT // 1000}k deliveries", samples[RSS_COUNT], "RSS after 50k, same process (MB)", samples[50_000], "MB", Target.at_most(1.1, "(flat)")),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(rss_child(sys.argv[2])))
    else:
        from bench.run import main

        sys.exit(main(["memory"]))
