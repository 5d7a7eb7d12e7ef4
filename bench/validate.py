"""Validation speed: contracts.schemas.validate vs raw jsonschema vs jsonschema-rs, same bodies.

``contracts.validate`` picks the event's envelope and collects every violation with a JSON path;
the peers validate against ``webhook.json`` (what a user of our schemas would write) and also
collect every error, so all three do the same job on the same 2,000 bodies (80 % valid).
"""

from __future__ import annotations

import copy
import random
import time
from typing import Any

from jsonschema import Draft202012Validator

from bench.common import Row
from contracts import schemas
from contracts.bulk import BulkGenerator

COUNT = 2000


def _bodies() -> list[dict[str, Any]]:
    rng = random.Random(7)
    bodies = [item.payload for item in BulkGenerator(seed=7, templates=200).take(COUNT)]
    for body in rng.sample(bodies, COUNT // 5):  # break one in five
        resource = body.get("transaction") or body.get("task")
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

    ours = _rate(schemas.validate, bodies)
    peer = _rate(lambda b: list(raw.iter_errors(b)), bodies)
    rust = _rate(lambda b: list(fast.iter_errors(b)), bodies)
    return [
        Row("contracts.validate", ours, "jsonschema (webhook.json)", peer, "bodies/s", "(info)"),
        Row("contracts.validate", ours, "jsonschema-rs (webhook.json)", rust, "bodies/s", "(info)"),
    ]


if __name__ == "__main__":
    from bench.run import print_table

    print_table(run())
