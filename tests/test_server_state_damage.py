"""A damaged ``--state`` never makes ``serve`` fail at every start, nor its API answer 500.

The state outlives versions and can be edited by hand (docs/serve.md shows the ``sqlite3``
shell). Each case here once crashed the start with a traceback, or a page with a 500 (issue 12):
a bad line of the JSON Lines state is skipped, a saved subscription that cannot be read is not
restored (and says so), an unreadable payload is shown as a placeholder and not redelivered,
and a database that lacks tables is refused in one line naming the file and the fix.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from werkzeug.test import Client

from contracts.cli import main
from mockserver.errors import UsageError
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.server.database import DB_NAME
from mockserver.server.store import MAX_SHOWN_DEPTH, UNREADABLE_PAYLOAD, DeliveryStore
from tests._server import Sink, subscription
from tests.test_server_store import did, legacy_line

DEEP = "[" * 100_000 + "]" * 100_000
ATTEMPT = {"number": 1, "started_at": 1.0, "duration_s": 0.1, "request_headers": {}, "status": 202}

#: Each line once stopped the import, and with it every start, with a traceback.
BAD_LINES = {
    "seq beyond a float": legacy_line(11, "delivered").replace('"seq": 11', '"seq": 1e400'),
    "seq as a huge float": legacy_line(12, "delivered").replace('"seq": 12', '"seq": 1e29'),
    "seq past 64 bits": legacy_line(13, "delivered", seq=2**70),
    "detail as a list": legacy_line(14, "dead-lettered", detail=[1]),
    "attempt number beyond a float": legacy_line(15, "delivered", attempts=[ATTEMPT]).replace(
        '"number": 1,', '"number": 1e400,'
    ),
    "attempt status as a list": legacy_line(16, "delivered", attempts=[{**ATTEMPT, "status": [1]}]),
    "created_at as text": legacy_line(17, "delivered", created_at="yesterday"),
    "not an object": "[1, 2]",
    "changes as an object": legacy_line(18, "delivered", changes={"a": 1}),
}


def test_bad_lines_of_the_json_lines_state_are_skipped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [legacy_line(1, "delivered"), *BAD_LINES.values(), legacy_line(2, "pending")]
    (tmp_path / "deliveries.jsonl").write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING), create_app(ServerConfig(state_dir=tmp_path)) as app:
        assert [r.id for r in app.store.query().records] == [did(2), did(1)]
        # The delivery of a line whose attempt failed is not half-imported either.
        assert all(app.store.get(did(n)) is None for n in range(11, 19))
    warnings = [r.getMessage() for r in caplog.records if "JSON Lines" in r.getMessage()]
    assert warnings == [
        f"{tmp_path / 'deliveries.jsonl'}: imported 2 line(s) of the earlier JSON Lines state, "
        f"skipped {len(BAD_LINES)} unreadable line(s)"
    ]
    assert (tmp_path / "deliveries.jsonl.imported").exists()
    with create_app(ServerConfig(state_dir=tmp_path)) as again:  # and the next start is clean
        assert len(again.store) == 2


def test_a_legacy_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "deliveries.jsonl").mkdir()
    with pytest.raises(UsageError) as caught:
        DeliveryStore(tmp_path)
    assert str(caught.value) == (
        f"--state {tmp_path / 'deliveries.jsonl'}: cannot read the earlier JSON Lines state "
        "(Is a directory); move it away, or make it a readable file"
    )


def damaged(state: Path, sql: str, *params: object) -> None:
    database = sqlite3.connect(state / DB_NAME)
    try:
        database.execute(sql, params)
        database.commit()
    finally:
        database.close()


@pytest.mark.parametrize("settings", [DEEP, "not json", '["a list"]'])
def test_an_unreadable_saved_subscription_is_not_restored_and_can_be_made_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, settings: str
) -> None:
    made = {"id": "api1", "url": "http://127.0.0.1:9/hook"}
    with create_app(ServerConfig(state_dir=tmp_path, transport=Sink().transport)) as app:
        assert Client(app).post("/v1/subscriptions", json=made).status_code == 201
    damaged(tmp_path, "UPDATE subscriptions SET settings = ?", settings)
    with caplog.at_level(logging.WARNING):
        app = create_app(ServerConfig(state_dir=tmp_path, transport=Sink().transport))
    with app:
        assert app.subscriptions() == []
        assert Client(app).post("/v1/subscriptions", json=made).status_code == 201
    assert (
        f"subscription 'api1' saved by the API is not restored: {tmp_path / DB_NAME}: its saved "
        "settings are not a readable JSON object; create it again with POST /v1/subscriptions"
    ) in caplog.text
    with create_app(ServerConfig(state_dir=tmp_path, transport=Sink().transport)) as again:
        assert [s.id for s in again.subscriptions()] == ["api1"]


@pytest.mark.parametrize(
    "payload",
    [DEEP, "[" * (MAX_SHOWN_DEPTH + 1) + "]" * (MAX_SHOWN_DEPTH + 1), "{not json"],
    ids=["100000 deep", "just too deep", "not JSON"],
)
def test_an_unreadable_payload_is_a_placeholder_and_is_not_redelivered(
    tmp_path: Path, payload: str
) -> None:
    config = ServerConfig(
        subscriptions=(subscription(id="a"),), state_dir=tmp_path, transport=Sink().transport
    )
    with create_app(config) as app:
        accepted = Client(app).post("/v1/events", json={"event": "task.completed"}).json
    delivery_id = accepted["deliveries"][0]["id"]
    damaged(tmp_path, "UPDATE deliveries SET payload = ?", payload)
    with create_app(config) as app:
        client = Client(app)
        shown = client.get(f"/v1/deliveries/{delivery_id}")
        assert shown.status_code == 200 and shown.json["payload"] == UNREADABLE_PAYLOAD
        page = client.get(f"/deliveries/{delivery_id}")
        assert page.status_code == 200 and "not shown: the stored body" in page.text
        again = client.post(f"/v1/deliveries/{delivery_id}/redeliver", json={})
        assert again.status_code == 409
        assert again.json["error"] == (
            f"delivery {delivery_id!r} has a body this server cannot read back; trigger a new event"
        )


def test_a_payload_at_the_depth_limit_is_still_shown(tmp_path: Path) -> None:
    config = ServerConfig(
        subscriptions=(subscription(id="a"),), state_dir=tmp_path, transport=Sink().transport
    )
    with create_app(config) as app:
        accepted = Client(app).post("/v1/events", json={"event": "task.completed"}).json
    delivery_id = accepted["deliveries"][0]["id"]
    nested = "[" * MAX_SHOWN_DEPTH + '"[[[["' + "]" * MAX_SHOWN_DEPTH  # brackets in a string
    damaged(tmp_path, "UPDATE deliveries SET payload = ?", nested)
    with create_app(config) as app:
        client = Client(app)
        assert client.get(f"/v1/deliveries/{delivery_id}").json["payload"] == json.loads(nested)
        assert client.get(f"/deliveries/{delivery_id}").status_code == 200


def test_a_state_that_lacks_tables_is_one_line_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path.chmod(0o700)
    database = sqlite3.connect(tmp_path / DB_NAME)
    database.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    database.execute("PRAGMA user_version = 1")
    database.commit()
    database.close()
    assert main(["serve", "--state", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"r360-webhooks: error: --state {tmp_path / DB_NAME}: it says schema 1 but lacks "
        "table(s) attempts, deliveries, status_counts, subscriptions (damaged, or not "
        "r360-webhooks' state); move it away to start afresh, or pass another --state\n"
    )


def test_a_state_that_lacks_a_column_is_one_line_too(tmp_path: Path) -> None:
    DeliveryStore(tmp_path).close()
    damaged(tmp_path, "ALTER TABLE deliveries DROP COLUMN last_status")
    with pytest.raises(UsageError, match=r"lacks column\(s\) deliveries\.last_status \(damaged"):
        DeliveryStore(tmp_path)
