"""The delivery store: states persist as JSON Lines, a restart replays them, memory is bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.delivery.records import Attempt, Delivery
from mockserver.errors import UsageError
from mockserver.server.store import DeliveryStore, Record


def did(n: int) -> str:
    """The n-th delivery id, shaped like the server's (uuid4 hex)."""
    return f"{n:032x}"


def record(n: int, subscription: str = "a", event: str = "task.completed") -> Record:
    return Record(
        id=did(n),
        subscription=subscription,
        event=event,
        payload={"event": "completed", "task": {"id": str(n)}},
        url="http://127.0.0.1:9/h",
    )


def delivered(rec: Record) -> Delivery:
    delivery = Delivery(rec.id, rec.event, rec.payload, rec.url, "quick", status="delivered")
    delivery.attempts.append(Attempt(1, 1.0, 0.01, {"authorization": "[REDACTED]"}, status=202))
    return delivery


def test_a_restart_replays_every_state(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    done, failed = record(1), record(2)
    for rec in (done, failed):
        store.add(rec)
        store.update(rec, status="delivering")
    store.finish(done, delivered(done))
    store.update(failed, status="dead-lettered", reason="rejected", detail="status 400")
    store.close()

    again = DeliveryStore(tmp_path)

    first = again.get(did(1))
    assert first is not None and first.status == "delivered"
    assert first.attempts[0].request_headers == {"authorization": "[REDACTED]"}
    second = again.get(did(2))
    assert second is not None and (second.status, second.detail) == ("dead-lettered", "status 400")
    assert [r.id for r in again.query().records] == [did(2), did(1)]
    again.add(record(3))
    assert [r.id for r in again.query().records] == [did(3), did(2), did(1)]  # sequence continues
    again.close()


def test_a_killed_run_leaves_no_delivery_pending(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    waiting, sending = record(1), record(2)
    store.add(waiting)
    store.add(sending)
    store.update(sending, status="delivering")
    # killed: no close(), no final states

    again = DeliveryStore(tmp_path)

    for delivery_id, was in ((did(1), "pending"), (did(2), "delivering")):
        rec = again.get(delivery_id)
        assert rec is not None and (rec.status, rec.reason) == ("interrupted", "interrupted")
        assert rec.detail is not None and f"it was {was}" in rec.detail
    again.close()
    store.close()
    third = DeliveryStore(tmp_path)  # the interruption itself was written down
    assert third.counts()["interrupted"] == 2
    third.close()


def test_a_final_state_never_changes(tmp_path: Path) -> None:
    store = DeliveryStore()
    rec = record(1)
    store.add(rec)
    assert store.update(rec, status="interrupted")
    assert not store.update(rec, status="delivering")
    assert not store.finish(rec, delivered(rec))
    assert rec.status == "interrupted"


def test_memory_keeps_the_newest_and_disk_keeps_the_rest(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path, keep=3)
    for n in range(1, 8):
        store.add(record(n))
    assert len(store) == 3
    assert [r.id for r in store.query().records] == [did(7), did(6), did(5)]
    old = store.get(did(1))
    assert old is not None and old.id == did(1)  # from the state file
    store.close()

    again = DeliveryStore(tmp_path, keep=3)
    assert [r.id for r in again.query().records] == [did(7), did(6), did(5)]
    again.close()


def test_a_torn_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DeliveryStore(tmp_path)
    store.add(record(1))
    store.close()
    with open(tmp_path / "deliveries.jsonl", "a") as stream:
        stream.write(f'{{"id": "{did(2)}", "subscr')

    again = DeliveryStore(tmp_path)

    assert again.get(did(1)) is not None and again.get(did(2)) is None
    assert "skipped 1 unreadable line" in caplog.text
    again.close()


def test_query_filters_pages_and_counts() -> None:
    store = DeliveryStore()
    for n in range(1, 6):
        store.add(record(n, subscription="a" if n % 2 else "b"))
    page = store.query(subscription="a", limit=2)
    assert ([r.id for r in page.records], page.total) == ([did(5), did(3)], 3)
    assert page.next_cursor is not None
    rest = store.query(subscription="a", limit=2, cursor=int(page.next_cursor))
    assert ([r.id for r in rest.records], rest.next_cursor) == ([did(1)], None)
    assert [r.id for r in store.query(offset=4).records] == [did(1)]
    assert store.counts() == {
        "pending": 5, "delivering": 0, "delivered": 0, "dead-lettered": 0, "interrupted": 0,
    }  # fmt: skip


def test_each_line_is_a_whole_record(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    rec = record(1)
    store.add(rec)
    store.finish(rec, delivered(rec))
    store.close()
    lines = [json.loads(line) for line in (tmp_path / "deliveries.jsonl").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["pending", "delivered"]
    assert all(line["payload"] == rec.payload and line["seq"] == 1 for line in lines)


def test_an_unusable_state_dir_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot use it as the state directory"):
        DeliveryStore(blocker / "state")
