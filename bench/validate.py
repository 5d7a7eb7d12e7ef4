"""Validation speed: contracts.schemas.validate vs raw jsonschema vs jsonschema-rs, same bodies.

``contracts.schemas.validate`` picks the event's envelope and collects every violation with a JSON path;
the peers validate against ``webhook.json`` (what a user of our schemas would write) and also
collect every error, so all three do the same job on the same 2,000 bodies (80 % valid), RUNS
runs each, interleaved.

``validate --summary`` (issue 14, item 3: at least 0.25x) runs the command as users run it, a
subprocess timed from spawn to exit (``bench.common.timed``), over one JSON Lines file of
SUMMARY_BODIES bodies (100,000; 90 % valid, 5 % evolved, 5 % broken in three ways); the peer is
the loop a user would write with jsonschema-rs over the same file (``bench/jsonschema_rs_loop.py``:
``json.loads`` each line, then ``is_valid`` against ``webhook.json`` with formats), run and timed
the same way, so both pay an interpreter's start and their imports. Both get one warm-up run on
a file of 2,000 lines (the page cache, bytecode), then RUNS runs each, interleaved, and the
median of each is compared.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bench.common import Row, Target, cli_executable, interleaved, knob, timed
from contracts import schemas
from contracts.bulk import BulkGenerator

COUNT = 2000
SUMMARY_BODIES = knob("R360_BENCH_SUMMARY_BODIES", 100_000, 10_000)
RUNS = knob("R360_BENCH_RUNS", 5, 2)
WARM_BODIES = 2000
#: The peer's script, run as its own process.
LOOP = Path(__file__).with_name("jsonschema_rs_loop.py")


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


def raw_loop(tmp: Path) -> Callable[[Path, int, bool], float]:
    """Seconds, spawn to exit, of the jsonschema-rs loop over a file of ``lines`` lines (each a
    capture line with ``capture``); writes the schemas it loads into ``tmp`` first."""
    documents = tmp / "schemas.json"
    resources = [schemas.load_schema(name) for name in schemas.schema_names()]
    documents.write_text(
        json.dumps({"root": schemas.load_schema("webhook"), "resources": resources})
    )

    def loop(path: Path, lines: int, capture: bool) -> float:
        flags = ["--capture"] if capture else []
        return timed([sys.executable, str(LOOP), str(documents), str(path), str(lines), *flags])

    return loop


def _summary_rows() -> list[Row]:
    def ours(path: Path) -> float:
        # exit 1: the file holds bodies that violate the contract, on purpose
        return timed([cli_executable(), "validate", "--summary", str(path)], exit_codes=(1,))

    with tempfile.TemporaryDirectory(prefix="r360-bench-validate-") as name:
        tmp = Path(name)
        path, warm = tmp / "bodies.jsonl", tmp / "warm.jsonl"
        summary_file(path)
        summary_file(warm, WARM_BODIES)
        loop = raw_loop(tmp)
        ours(warm)
        loop(warm, WARM_BODIES, False)
        m = interleaved(
            {
                "raw": lambda: SUMMARY_BODIES / loop(path, SUMMARY_BODIES, False),
                "ours": lambda: SUMMARY_BODIES / ours(path),
            },
            RUNS,
            unit="bodies/s",
        )
    return [
        Row.same_run(
            f"validate --summary, {SUMMARY_BODIES // 1000:,}k JSONL",
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
            "contracts.schemas.validate": lambda: _rate(schemas.validate, bodies),
            "jsonschema": lambda: _rate(lambda b: list(raw.iter_errors(b)), bodies),
            "jsonschema-rs": lambda: _rate(lambda b: list(fast.iter_errors(b)), bodies),
        },
        RUNS,
        unit="bodies/s",
    )
    ours = m["contracts.schemas.validate"]
    return [
        Row.same_run(
            "contracts.schemas.validate",
            ours,
            "jsonschema (webhook.json)",
            m["jsonschema"],
            "bodies/s",
        ),
        Row.same_run(
            "contracts.schemas.validate",
            ours,
            "jsonschema-rs (webhook.json)",
            m["jsonschema-rs"],
            "bodies/s",
        ),
        *_summary_rows(),
    ]


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["validate"]))
