"""What a restart on the same ``--state`` brings back: API subscriptions, the schedule, and an
honest record of what cannot continue (issue 13, items 1 and 3)."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest
from werkzeug.test import Client

from contracts.cli import main
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.server.database import DB_NAME
from tests._server import Sink, subscription, wait_for_status, wait_until

SECRET = "api-subscription-secret-0123456789"


def test_an_api_subscription_comes_back_with_its_secret(tmp_path: Path) -> None:
    sink = Sink()
    first = create_app(ServerConfig(state_dir=tmp_path, transport=sink.transport))
    try:
        created = Client(first).post(
            "/v1/subscriptions",
            json={"id": "api", "url": "http://127.0.0.1:9/h", "auth": f"bearer:{SECRET}",
                  "retry": "custom:0", "concurrency": 1},
        )  # fmt: skip
        assert created.status_code == 201
        gone = Client(first).post("/v1/subscriptions", json={"id": "gone", "url": "http://h/"})
        assert gone.status_code == 201
        assert Client(first).delete("/v1/subscriptions/gone").status_code == 204
    finally:
        first.close()

    again = create_app(ServerConfig(state_dir=tmp_path, transport=sink.transport))
    try:
        client = Client(again)
        listed = client.get("/v1/subscriptions").json["subscriptions"]
        assert [s["id"] for s in listed] == ["api"]  # the deleted one stays deleted
        assert listed[0] == created.json
        [item] = client.post("/v1/events", json={"event": "task.completed"}).json["deliveries"]
        wait_for_status(client, item["id"], "delivered")
    finally:
        again.close()
    assert sink.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    # Stored to re-create it (docs/serve.md says so), in a file only its owner may read.
    assert stat.S_IMODE((tmp_path / DB_NAME).stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        [(settings,)] = db.execute("SELECT settings FROM subscriptions").fetchall()
    assert SECRET in settings
    with sqlite3.connect(tmp_path / DB_NAME) as db:  # nowhere else
        rows = db.execute("SELECT url, payload FROM deliveries").fetchall()
        attempts = db.execute("SELECT request_headers FROM attempts").fetchall()
    assert SECRET not in repr(rows) + repr(attempts)


def test_waiting_deliveries_keep_their_due_time_and_orphans_are_interrupted(
    tmp_path: Path,
) -> None:
    kept = subscription(id="kept", url="http://127.0.0.1:9/kept", retry="custom:3600")
    dropped = subscription(id="dropped", url="http://127.0.0.1:9/dropped", retry="custom:3600")
    sink = Sink(status=503)
    first = create_app(
        ServerConfig(subscriptions=(kept, dropped), state_dir=tmp_path, transport=sink.transport)
    )
    try:
        client = Client(first)
        accepted = client.post("/v1/events", json={"event": "task.completed"}).json["deliveries"]
        wait_until(lambda: client.get("/healthz").json["retrying"] == 2)
        before = {d["subscription"]: client.get(f"/v1/deliveries/{d['id']}").json for d in accepted}
    finally:
        first.close()

    # The config file lost "dropped": its delivery cannot continue, and says so.
    again = create_app(ServerConfig(subscriptions=(kept,), state_dir=tmp_path))
    try:
        client = Client(again)
        waiting = client.get(f"/v1/deliveries/{before['kept']['id']}").json
        orphan = client.get(f"/v1/deliveries/{before['dropped']['id']}").json
    finally:
        again.close()
    assert waiting["status"] == "delivering"
    assert waiting["next_attempt_at"] == before["kept"]["next_attempt_at"]  # an hour away still
    assert (orphan["status"], orphan["reason"]) == ("interrupted", "interrupted")
    assert "subscription 'dropped' is not in this run's config" in orphan["detail"]


def test_two_servers_on_one_state_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running = create_app(ServerConfig(state_dir=tmp_path))
    try:
        assert main(["serve", "--port", "0", "--state", str(tmp_path)]) == 2
    finally:
        running.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another r360-webhooks serve (pid " in err
    assert "stop it, or pass another --state" in err
    # and the command, run in-process, left no log handler on this test's captured stderr
    assert logging.getLogger("mockserver").handlers == []
