"""Validation speed: contracts.schemas.validate vs raw jsonschema vs jsonschema-rs, same bodies.

``contracts.validate`` picks the event's envelope and collects every violation with a JSON path;
the peers validate against ``webhook.json`` (what a user of our schemas would write) and also
collect every error, so all three do the same job on the same 2,000 bodies (80 % valid), RUNS
runs each, interleaved.

``validate --summary`` (issue 14, item 3: at least 0.25x) runs the command in this process over
one JSON Lines file of 100,000 bodies (90 % valid, 5 % evolved, 5 % broken in three ways); the
peer is the loop a user would write with jsonschema-rs over the same file: ``json.loads`` each
line, then ``is_valid`` against ``webhook.json`` with formats. Both get one warm-up run on the
first 2,000 lines, then RUNS runs each, interleaved, and the median of each is compared. Both
are timed in this process: the command's start is ``bench/cli.py``'s row.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bench.common import Row, Target, interleaved
from contracts import schemas
from contracts.bulk import BulkGenerator

COUNT = 2000
SUMMARY_BODIES = 100_000
RUNS = int(os.environ.get("R360_BENCH_RUNS", "5"))


def _bodies() -> list[dict[str, Any]]:
    rng = random.Random(7)
    bodies = [item.payload for item in BulkGenerator(seed=7, templates=200).take(COUNT)]
    for body in rng.sample(bodies, COUNT // 5):  # break one in five
        resource = body.get("transaction") or body["task"]
        resource["created_at"] = "not a date"
        resource.pop("id")
    return [copy.deepcopy(b) for b in bodies]


def _rate(fn: Any, bodies: list[dict[str, Any]]) -> float:
    for body in bodies[:50]:  # warm caches and compiled validators
        fn(body)
    started = time.perf_counter()
    for body in bodies:
        fn(body)
    return len(bodies) / (time.perf_counter() - started)


def summary_file(path: Path, count: int = SUMMARY_BODIES) -> None:
    """``count`` JSON Lines bodies: 90 % valid, 5 % evolved, 5 % broken (date, id, type)."""
    rng = random.Random(11)
    valid = BulkGenerator(seed=11, templates=200)
    evolved = BulkGenerator(seed=12, evolved=True, templates=200)
    with path.open("wb") as out:
        for index in range(count):
            kind = index % 20
            if kind == 0:
                out.write(next(evolved).body + b"\n")
                continue
            body = next(valid).body
            if kind == 1:
                payload = json.loads(body)
                resource = payload.get("transaction") or payload.get("task")
                broken = rng.choice(["date", "id", "type"])
                if broken == "date":
                    resource["created_at"] = "2020-13-01T00:00:00Z"
                elif broken == "id":
                    resource.pop("id")
                else:
                    resource["id"] = rng.randint(1, 10**9)
                body = json.dumps(payload).encode()
            out.write(body + b"\n")


def _summary_rows(fast: Any) -> list[Row]:
    from contracts.cli import main

    def ours(path: Path) -> float:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            main(["validate", "--summary", str(path)])
        return SUMMARY_BODIES / (time.perf_counter() - started)

    def raw(path: Path) -> float:
        started = time.perf_counter()
        with path.open("rb") as lines:
            for line in lines:
                fast.is_valid(json.loads(line))
        return SUMMARY_BODIES / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="r360-bench-validate-") as tmp:
        path, warm = Path(tmp) / "bodies.jsonl", Path(tmp) / "warm.jsonl"
        summary_file(path)
        summary_file(warm, 2000)
        ours(warm)
        raw(warm)
        m = interleaved(
            {"raw": lambda: raw(path), "ours": lambda: ours(path)}, RUNS, unit="bodies/s"
        )
    return [
        Row.same_run(
            "validate --summary, 100k JSONL",
            m["ours"],
            "raw jsonschema-rs loop, same file",
            m["raw"],
            "bodies/s",
            Target.at_least(0.25),
        )
    ]


def run() -> list[Row]:
    import jsonschema_rs

    bodies = _bodies()
    webhook = schemas.load_schema("webhook")
    raw = Draft202012Validator(
        webhook, registry=schemas.registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    documents = [schemas.load_schema(name) for name in schemas.schema_names()]
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in documents])
    fast = jsonschema_rs.validator_for(webhook, registry=registry, validate_formats=True)

    m = interleaved(
        {
            "contracts.validate": lambda: _rate(schemas.validate, bodies),
            "jsonschema": lambda: _rate(lambda b: list(raw.iter_errors(b)), bodies),
            "jsonschema-rs": lambda: _rate(lambda b: list(fast.iter_errors(b)), bodies),
        },
        RUNS,
        unit="bodies/s",
    )
    ours = m["contracts.validate"]
    return [
        Row.same_run(
            "contracts.validate", ours, "jsonschema (webhook.json)", m["jsonschema"], "bodies/s"
        ),
        Row.same_run(
            "contracts.validate",
            ours,
            "jsonschema-rs (webhook.json)",
            m["jsonschema-rs"],
            "bodies/s",
        ),
        *_summary_rows(fast),
    ]


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["validate"]))
