"""Generation speed: our strategies under @given vs a plain fixed_dictionaries baseline.

Issue 3's targets: ``webhook_payloads`` at least 1.0x a plain ``st.fixed_dictionaries`` strategy
of the same transaction shape (both under the full @given engine, which dominates; RUNS runs
each, interleaved, medians compared), and the bulk generator at least 20,000 bodies/s (a fixed
figure).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.common import Row, Target, interleaved, knob
from contracts import strategies
from contracts.bulk import BulkGenerator

EXAMPLES = 300
RUNS = knob("R360_BENCH_RUNS", 5, 2)
BULK_COUNT = 200_000


def _baseline() -> st.SearchStrategy[dict[str, Any]]:
    """The transaction envelope's shape with stock strategies and no realism."""
    ident = st.integers(1, 10**10).map(str)
    stamp = st.datetimes().map(lambda d: d.isoformat() + "Z")
    text = st.text(max_size=12)
    media = st.fixed_dictionaries({"id": ident, "created_at": stamp, "url": text})
    answers = st.dictionaries(
        text, st.one_of(st.booleans(), text, st.integers(), st.none()), max_size=4
    )
    transaction = st.fixed_dictionaries(
        {
            "id": ident, "check_in": st.one_of(st.booleans(), st.none()), "draft": st.booleans(),
            "damage": st.booleans(), "geo_coord": st.tuples(st.floats(-180, 180), st.floats(-90, 90)),
            "email_sent_to": st.lists(text, max_size=2), "created_at": stamp,
            "workflow_modules": st.lists(text, max_size=9), "archive_status": text,
            "workflow_id": ident, "group_id": ident, "view_url": text,
            "notations": st.dictionaries(text, answers, max_size=3),
            "asset": st.fixed_dictionaries({"id": ident, "external_id": text}),
            "user": st.fixed_dictionaries({"id": ident, "username": text, "first_name": text, "last_name": text}),
            "location": st.fixed_dictionaries({"id": ident, "name": text}),
            "photos": st.lists(media, max_size=3), "videos": st.lists(media, max_size=3),
            "signatures": st.lists(media, max_size=3), "ident_docs": st.lists(st.just({}), max_size=3),
            "forms": st.lists(st.fixed_dictionaries({"id": ident, "transaction_id": ident, "form_template": st.fixed_dictionaries({"id": ident}), "created_at": stamp, "values": answers}), max_size=2),
            "files": st.lists(st.just({}), max_size=3),
        },
        optional={"department_id": ident, "workflow_name": text, "extended": answers, "damage_cost": st.floats(0, 5000)},
    )  # fmt: skip
    return st.fixed_dictionaries({"event": st.just("create"), "transaction": transaction})


def _under_given(strategy: st.SearchStrategy[Any]) -> float:
    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def consume(body: Any) -> None:
        pass

    started = time.perf_counter()
    consume()
    return EXAMPLES / (time.perf_counter() - started)


def _bulk() -> float:
    generator = BulkGenerator(seed=1, evolved=True)
    started = time.perf_counter()
    for _ in range(BULK_COUNT):
        next(generator)
    return BULK_COUNT / (time.perf_counter() - started)


def run() -> list[Row]:
    _under_given(strategies.webhook_payloads())  # warm both up: imports, schema compilation
    _under_given(_baseline())
    m = interleaved(
        {
            "baseline": lambda: _under_given(_baseline()),
            "webhook_payloads": lambda: _under_given(
                strategies.webhook_payloads(event="transaction.create")
            ),
            "evolved_payloads": lambda: _under_given(
                strategies.evolved_payloads(event="transaction.create")
            ),
            "bulk": _bulk,
        },
        RUNS,
        unit="bodies/s",
    )
    baseline = "fixed_dictionaries baseline"
    return [
        Row.same_run("webhook_payloads under @given", m["webhook_payloads"], baseline, m["baseline"], "bodies/s", Target.at_least(1.0)),
        Row.same_run("evolved_payloads under @given", m["evolved_payloads"], baseline, m["baseline"], "bodies/s"),
        Row.against_fixed("bulk generator (evolved)", m["bulk"], "issue 3's floor", 20_000, "bodies/s", Target.at_least(1.0)),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["generate"]))
