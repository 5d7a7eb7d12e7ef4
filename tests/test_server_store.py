"""The state database: states and attempts persist, a kill loses nothing committed, the schema is
versioned, the JSON Lines state of earlier versions is imported, listings are indexed SQL.

These tests replaced the JSON Lines store's (issue 13): the state is an SQLite database now, so
"each line is a whole record" and "memory keeps the newest" no longer describe anything.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from mockserver.delivery.records import Attempt
from mockserver.errors import UsageError
from mockserver.server.database import (
    DB_NAME,
    MAX_IDLE_READERS,
    SCHEMA_VERSION,
    Database,
    StoreClosed,
)
from mockserver.server.schedule import Schedule
from mockserver.server.store import DeliveryStore, Record


def did(n: int) -> str:
    """The n-th delivery id, shaped like the server's (uuid4 hex)."""
    return f"{n:032x}"


def record(
    n: int, subscription: str = "a", event: str = "task.completed", **more: object
) -> Record:
    more.setdefault("due_at", time.time())
    return Record(
        id=did(n),
        subscription=subscription,
        event=event,
        payload={"event": "completed", "task": {"id": str(n)}},
        url="http://127.0.0.1:9/h",
        **more,  # type: ignore[arg-type]
    )


def answered(number: int, status: int) -> Attempt:
    return Attempt(number, time.time(), 0.01, {"authorization": "[REDACTED]"}, status=status)


def test_states_and_attempts_survive_a_restart(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    store.add([record(1), record(2)])
    schedule = Schedule(store.database)
    first, _ = schedule.claim("a", time.time())
    assert first is not None
    second, _ = schedule.claim("a", time.time(), busy=[first.seq])
    assert second is not None
    schedule.settle(first, answered(1, 202), status="delivered", policy="quick")
    schedule.settle(second, answered(1, 400), status="dead-lettered", reason="rejected",
                    detail="status 400")  # fmt: skip
    store.close()

    again = DeliveryStore(tmp_path)

    done = again.get(did(1))
    assert done is not None and (done.status, done.policy, done.attempt_count) == (
        "delivered", "quick", 1,
    )  # fmt: skip
    assert done.attempts[0].request_headers == {"authorization": "[REDACTED]"}
    assert done.payload == {"event": "completed", "task": {"id": "1"}}
    failed = again.get(did(2))
    assert failed is not None and (failed.status, failed.detail) == ("dead-lettered", "status 400")
    assert [r.id for r in again.query().records] == [did(2), did(1)]
    again.add([record(3)])
    assert [r.id for r in again.query().records] == [did(3), did(2), did(1)]  # seq continues
    again.close()


def test_an_attempt_cut_off_by_a_kill_leaves_the_delivery_due(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    store.add([record(1, due_at=time.time() + 3600), record(2)])
    claim, following = Schedule(store.database).claim("a", time.time())
    assert claim is not None and claim.id == did(2) and following is not None
    store.close()  # as a kill leaves it: the attempt was made, and never recorded

    again = DeliveryStore(tmp_path)
    schedule = Schedule(again.database)
    retried, _ = schedule.claim("a", time.time())
    assert retried == claim  # due at once: the attempt is made again (at-least-once)
    waiting = again.get(did(1))
    assert waiting is not None and waiting.status == "pending" and waiting.due_at is not None
    assert waiting.due_at > time.time() + 3000  # a waiting delivery keeps its due time
    again.close()


def test_a_delivery_on_the_wire_is_not_claimed_twice() -> None:
    store = DeliveryStore()
    store.add([record(1), record(2)])
    schedule = Schedule(store.database)
    first, _ = schedule.claim("a", time.time())
    assert first is not None
    second, following = schedule.claim("a", time.time(), busy=[first.seq])
    assert second is not None and second.seq != first.seq and following is None
    assert schedule.claim("a", time.time(), busy=[first.seq, second.seq]) == (None, None)
    store.close()


def test_a_final_state_never_changes() -> None:
    store = DeliveryStore()
    store.add([record(1)])
    schedule = Schedule(store.database)
    claim, _ = schedule.claim("a", time.time())
    assert claim is not None
    assert schedule.settle(claim, answered(1, 202), status="delivered")
    assert not schedule.settle(claim, answered(2, 500), status="delivering", due_at=time.time())
    final = store.get(did(1))
    assert final is not None and (final.status, final.attempt_count) == ("delivered", 1)
    assert [a.status for a in final.attempts] == [202]


def test_the_state_file_is_private_and_one_server_holds_it(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "state")
    path = tmp_path / "state" / DB_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    with pytest.raises(UsageError, match=r"another r360-webhooks serve \(pid \d+\) uses this"):
        DeliveryStore(tmp_path / "state")
    store.close()
    DeliveryStore(tmp_path / "state").close()  # free again


def test_the_schema_is_versioned_and_a_newer_one_refused(tmp_path: Path) -> None:
    DeliveryStore(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UsageError, match="written by a newer r360-webhooks"):
        DeliveryStore(tmp_path)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not a database, just some bytes " * 100)
    with pytest.raises(UsageError, match="cannot open it as a database"):
        DeliveryStore(tmp_path)


def test_an_unusable_state_dir_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot use it as the state directory"):
        DeliveryStore(blocker / "state")


def legacy_line(n: int, status: str, **more: object) -> str:
    """A line of the JSON Lines state earlier versions wrote (``deliveries.jsonl``)."""
    return json.dumps({
        "id": did(n), "subscription": "a", "event": "task.completed", "status": status,
        "url": "http://127.0.0.1:9/h", "created_at": 1.0 + n, "updated_at": 2.0 + n,
        "redelivery_of": None, "changes": [], "attempt_count": 0, "last_status": None,
        "reason": None, "detail": None, "policy": "quick", "seq": n,
        "payload": {"event": "completed", "task": {"id": str(n)}}, "attempts": [], **more,
    })  # fmt: skip


def test_the_json_lines_state_of_earlier_versions_is_imported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = answered(1, 202).to_json()
    lines = [
        legacy_line(1, "pending"),
        legacy_line(2, "pending"),
        legacy_line(1, "delivering"),
        legacy_line(1, "delivered", attempts=[attempt]),  # the last line of an id wins
        legacy_line(3, "interrupted", reason="interrupted", detail="stopped"),
        "[" * 100_000 + "]" * 100_000,  # unreadable: skipped
        f'{{"id": "{did(4)}", "subscr',  # torn by a kill: skipped
    ]
    (tmp_path / "deliveries.jsonl").write_text("\n".join(lines) + "\n")

    store = DeliveryStore(tmp_path)

    assert "imported 5 line(s)" in caplog.text and "skipped 2 unreadable" in caplog.text
    assert not (tmp_path / "deliveries.jsonl").exists()
    assert (tmp_path / "deliveries.jsonl.imported").exists()
    delivered = store.get(did(1))
    assert delivered is not None and delivered.status == "delivered"
    assert [a.status for a in delivered.attempts] == [202]
    left = store.get(did(2))  # a killed old run left it pending: it is due now
    assert left is not None and left.status == "pending" and left.due_at is not None
    assert [r.id for r in store.query().records] == [did(3), did(2), did(1)]
    store.close()
    (tmp_path / "deliveries.jsonl").write_text(legacy_line(9, "pending") + "\n")
    again = DeliveryStore(tmp_path)  # imported once: a file that reappears is not read
    assert again.get(did(9)) is None and len(again) == 3
    again.close()


def test_query_filters_pages_and_counts() -> None:
    store = DeliveryStore()
    store.add([record(n, subscription="a" if n % 2 else "b", created_at=100.0 + n)
               for n in range(1, 6)])  # fmt: skip
    page = store.query(subscription="a", limit=2)
    assert ([r.id for r in page.records], page.total) == ([did(5), did(3)], 3)
    assert page.next_cursor is not None
    rest = store.query(subscription="a", limit=2, cursor=int(page.next_cursor))
    assert ([r.id for r in rest.records], rest.next_cursor) == ([did(1)], None)
    assert [r.id for r in store.query(offset=4).records] == [did(1)]
    window = store.query(since=102.0, until=104.0)
    assert ([r.id for r in window.records], window.total) == ([did(3), did(2)], 2)
    assert store.counts() == {
        "pending": 5, "delivering": 0, "delivered": 0, "dead-lettered": 0, "interrupted": 0,
    }  # fmt: skip
    assert store.query(status="delivered").total == 0


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT seq FROM deliveries WHERE status = 'pending' ORDER BY seq DESC LIMIT 50",
         "deliveries_by_status"),
        ("SELECT seq FROM deliveries WHERE subscription = 'a' ORDER BY seq DESC LIMIT 50",
         "deliveries_by_subscription"),
        ("SELECT seq FROM deliveries WHERE event = 'x' ORDER BY seq DESC LIMIT 50",
         "deliveries_by_event"),
        ("SELECT COUNT(*) FROM deliveries WHERE created_at >= 1 AND created_at < 2",
         "deliveries_by_created"),
        ("SELECT status, COUNT(*) FROM deliveries GROUP BY status", "deliveries_by_status"),
        ("SELECT seq FROM deliveries WHERE subscription = 'a' AND due_at IS NOT NULL "
         "ORDER BY due_at, seq LIMIT 2", "deliveries_schedule"),
        ("SELECT seq FROM deliveries WHERE redelivery_of = 'x' ORDER BY seq",
         "deliveries_redeliveries"),
    ],
)  # fmt: skip
def test_the_api_and_the_scheduler_read_through_indexes(sql: str, index: str) -> None:
    store = DeliveryStore()
    with store.database.read() as db:
        plan = " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert f"INDEX {index}" in plan, plan
    assert not re.search(r"SCAN deliveries(?! USING)", plan), plan  # no full table scan
    store.close()


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("_CLAIM", ("a", "[]", 3), "SEARCH deliveries USING INDEX deliveries_schedule"),
        ("_SETTLE", (1.0, "[]"), "SEARCH deliveries USING INTEGER PRIMARY KEY"),
        ("_SETTLE_ATTEMPTS", ("[]",), "SEARCH d USING INTEGER PRIMARY KEY"),
    ],
)
def test_the_scheduler_finds_its_rows_by_index(
    name: str, params: tuple[object, ...], expected: str
) -> None:
    """A batch is a JSON array joined to the deliveries: each row must be looked up by its seq
    (a plan that walks the rows by state instead made a run 15 times slower)."""
    from mockserver.server import schedule

    store = DeliveryStore()
    with store.database.read() as db:
        sql = getattr(schedule, name)
        plan = " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert expected in plan, plan
    store.close()


def test_a_too_old_sqlite_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(
        UsageError, match=r"needs SQLite 3\.35\.0 or later; this Python has 3\.31\.1"
    ):
        DeliveryStore()


def test_on_disk_a_read_does_not_wait_for_a_write(tmp_path: Path) -> None:
    """A claim or a listing reads while a group commit or an accepted event's fsync is under
    way (each thread reads through its own connection; WAL keeps it to committed data)."""
    database = Database(tmp_path)
    try:
        with database.write() as db:
            db.execute("CREATE TABLE t (n INTEGER)")
            db.execute("INSERT INTO t VALUES (1)")
        seen: list[int] = []
        writing, read_done = threading.Event(), threading.Event()

        def reader() -> None:
            writing.wait(5)
            with database.read() as db:
                seen.append(db.execute("SELECT COUNT(*) FROM t").fetchone()[0])
            read_done.set()

        thread = threading.Thread(target=reader)
        thread.start()
        with database.write() as db:
            db.execute("INSERT INTO t VALUES (2)")
            writing.set()
            assert read_done.wait(5), "the read waited for the write"
        thread.join(5)
        assert seen == [1]  # the uncommitted row is not seen
        with database.read() as db:
            assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2
    finally:
        database.close()
    with pytest.raises(StoreClosed), database.read():
        pass


def test_reading_connections_are_pooled_not_made_per_thread(tmp_path: Path) -> None:
    """Werkzeug serves each request in a new thread: a connection per thread would grow the
    server's memory with every request it ever served."""
    database = Database(tmp_path)

    def read_once() -> None:
        with database.read() as db:
            db.execute("SELECT 1").fetchone()

    try:
        for _ in range(20):
            thread = threading.Thread(target=read_once)
            thread.start()
            thread.join(5)
        assert database.reader_connections == 1
    finally:
        database.close()


def test_a_burst_of_concurrent_reads_leaves_a_small_pool(tmp_path: Path) -> None:
    database = Database(tmp_path)
    readers = MAX_IDLE_READERS + 5
    inside, release = threading.Barrier(readers + 1), threading.Event()  # + this thread

    def read_together() -> None:
        with database.read() as db:
            db.execute("SELECT 1").fetchone()
            inside.wait(5)
            release.wait(5)

    try:
        threads = [threading.Thread(target=read_together) for _ in range(readers)]
        for thread in threads:
            thread.start()
        inside.wait(5)  # every reader is inside its read
        assert database.reader_connections == readers  # each read had a connection
        release.set()
        for thread in threads:
            thread.join(5)
        assert database.reader_connections == MAX_IDLE_READERS
    finally:
        database.close()
