"""Drift speed: ``r360-webhooks drift`` on 1,000,000 captured deliveries vs a raw jsonschema-rs loop.

Issue 15, item 4: drift over a million captured bodies must take seconds, not minutes, and reach
at least 0.25x the bodies/s of the loop a user would write over the same capture file: parse each
line, parse its ``body``, ``is_valid`` against ``webhook.json`` with jsonschema-rs (formats on).
The capture is ``r360-capture/1`` as ``record`` writes it: 80 % valid bodies, 15 % evolved (new
fields), 5 % broken (an integer id or a month 13), times over 30 days. Ours runs the command as
a user would, a subprocess timed from spawn to exit (``bench.common.timed``), which splits a file
this big across one process per core; the row with ``--jobs 1`` (one process) is for
information. The peer (``bench/jsonschema_rs_loop.py --capture``) is run and timed the same way.
All get RUNS runs (``R360_DRIFT_RUNS``, default 3), interleaved, medians compared.
``R360_DRIFT_BODIES`` changes the size (default 1,000,000; about 2.7 GB in a temp folder).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Measure, Row, Target, cli_executable, interleaved, knob, timed
from bench.validate import raw_loop
from contracts.bulk import BulkGenerator

BODIES = knob("R360_DRIFT_BODIES", 1_000_000, 20_000)
RUNS = knob("R360_DRIFT_RUNS", 3, 2)
WARM_BODIES = 2000


def capture_file(path: Path, count: int) -> None:
    """``count`` r360-capture/1 lines: 80 % valid, 15 % evolved, 5 % broken."""
    rng = random.Random(15)
    valid = BulkGenerator(seed=15, templates=200)
    evolved = BulkGenerator(seed=16, evolved=True, templates=200)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            kind = index % 20
            body = (next(evolved) if kind < 3 else next(valid)).body.decode()
            if kind == 3:
                payload = json.loads(body)
                resource = payload.get("transaction") or payload.get("task")
                if rng.random() < 0.5:
                    resource["id"] = rng.randint(1, 10**9)
                else:
                    resource["created_at"] = "2026-13-01T00:00:00Z"
                body = json.dumps(payload)
            day, second = 1 + index * 30 // count, index % 86400
            line = {
                "format": "r360-capture/1",
                "time": f"2026-11-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000Z",
                "event": None,
                "content_type": "application/json",
                "body": body,
                "headers": ["content-type", "authorization"],
                "auth": "Authorization: Bearer [REDACTED]",
                "remote": "127.0.0.1",
                "answer": {"status": 202, "duration_s": 0.004},
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def run() -> list[Row]:
    def ours(path: Path, *jobs: str) -> float:
        # exit 1: the capture holds violations of the contract, on purpose
        return timed([cli_executable(), "drift", str(path), *jobs], exit_codes=(1,))

    with tempfile.TemporaryDirectory(prefix="r360-bench-drift-") as name:
        tmp = Path(name)
        path, warm = tmp / "staging.capture.jsonl", tmp / "warm.jsonl"
        started = time.perf_counter()
        capture_file(path, BODIES)
        capture_file(warm, WARM_BODIES)
        size = path.stat().st_size / 1e9
        print(
            f"capture: {BODIES:,} deliveries, {size:.2f} GB, written in {time.perf_counter() - started:.0f} s"
        )
        loop = raw_loop(tmp)
        ours(warm)
        loop(warm, WARM_BODIES, True)
        m = interleaved(
            {
                "raw": lambda: BODIES / loop(path, BODIES, True),
                "ours": lambda: BODIES / ours(path),
                "one": lambda: BODIES / ours(path, "--jobs", "1"),
            },
            RUNS,
            unit="bodies/s",
        )
    label = f"{BODIES // 1000:,}k captured"
    return [
        Row.same_run(f"drift, {label}", m["ours"], "raw jsonschema-rs loop, same file", m["raw"], "bodies/s", Target.at_least(0.25)),
        Row.same_run(f"drift --jobs 1, {label}", m["one"], "raw jsonschema-rs loop, same file", m["raw"], "bodies/s"),
        Row.against_fixed(f"drift wall time, {label}", Measure(tuple(BODIES / r for r in m["ours"].samples)), "one minute (s)", 60.0, "s"),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["drift"]))
