"""``GET /v1/deliveries`` is served by an index for every combination of its filters (issue 13,
item 4; audit item 3): the SQL :meth:`DeliveryStore.query` runs, captured as it runs, must never
sort in a temporary B-tree nor scan the table for a filter, and a time range is a range of
``seq`` (``created_at`` never decreases as ``seq`` grows)."""

from __future__ import annotations

import itertools
import sqlite3
import time
from typing import Any

import pytest

from mockserver.server.store import DeliveryStore, Record

FILTERS: dict[str, Any] = {
    "status": "pending",
    "event": "task.completed",
    "subscription": "a",
    "since": 100.0,
    "until": 200.0,
}
COMBINATIONS = [
    dict(chosen)
    for size in range(len(FILTERS) + 1)
    for chosen in itertools.combinations(FILTERS.items(), size)
]


def record(n: int, created_at: float, subscription: str = "a") -> Record:
    return Record(
        id=f"d{n}", subscription=subscription, event="task.completed", url="http://h/",
        payload={"n": n}, created_at=created_at, due_at=time.time(),
    )  # fmt: skip


def captured(store: DeliveryStore, **query: Any) -> list[str]:
    """The statements ``store.query(**query)`` ran, with their parameters bound."""
    statements: list[str] = []
    connection = store.database._connection
    connection.set_trace_callback(statements.append)
    try:
        store.query(**query)
    finally:
        connection.set_trace_callback(None)
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("query", COMBINATIONS, ids=lambda q: "+".join(q) or "none")
@pytest.mark.parametrize("cursor", [None, 50])
def test_every_listing_is_served_by_an_index(query: dict[str, Any], cursor: int | None) -> None:
    store = DeliveryStore()
    store.add([record(n, 100.0 + n, "a" if n % 2 else "b") for n in range(300)])
    statements = captured(store, **query, cursor=cursor)
    assert statements
    with store.database.read() as db:
        for sql in statements:
            plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
            text = " | ".join(plan)
            assert "TEMP B-TREE" not in text, (sql, text)
            if query or cursor:  # a filter: never a walk over every row
                assert not any(
                    step.startswith("SCAN deliveries") and "COVERING" not in step for step in plan
                ), (sql, text)
            if "status" in query and "subscription" in query and "deliveries WHERE" in sql:
                # both equalities in the index: not every row of the subscription, filtered
                assert "deliveries_by_subscription_status" in text, (sql, text)
    store.close()


def test_a_time_range_lists_exactly_the_deliveries_created_in_it() -> None:
    store = DeliveryStore()
    store.add([record(n, 100.0 + n, "a" if n % 2 else "b") for n in range(20)])
    page = store.query(since=105.0, until=110.0)
    assert [r.id for r in page.records] == [f"d{n}" for n in range(9, 4, -1)]
    assert page.total == 5
    both = store.query(since=105.0, until=110.0, subscription="a", limit=2)
    assert [r.id for r in both.records] == ["d9", "d7"] and both.total == 3
    assert store.query(since=500.0).total == 0 and store.query(until=50.0).records == []
    store.close()


def test_created_at_never_decreases_as_seq_grows() -> None:
    """Two requests race: the one whose clock read came first may commit second. Its deliveries
    take the later time (a few milliseconds), so a time range stays a range of ``seq``."""
    store = DeliveryStore()
    store.add([record(1, 150.0)])
    late = record(2, 149.5)
    store.add([late])
    assert late.created_at == 150.0
    got = store.get("d2")
    assert got is not None and got.created_at == 150.0
    store.close()


def test_an_older_state_is_migrated_to_follow_seq(tmp_path: Any) -> None:
    store = DeliveryStore(tmp_path)
    store.add([record(1, 150.0), record(2, 151.0)])
    store.close()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # as version 1 could leave it
        db.execute("UPDATE deliveries SET created_at = 149.0 WHERE id = 'd2'")
        db.execute("DROP INDEX deliveries_by_subscription_status")
        db.execute("PRAGMA user_version = 1")
    again = DeliveryStore(tmp_path)
    got = again.get("d2")
    assert got is not None and got.created_at == 150.0
    assert [r.id for r in again.query(since=150.0).records] == ["d2", "d1"]
    again.close()
