"""``serve`` end to end on real loopback sockets: a real consumer, restarts, shutdown, the CLI."""

from __future__ import annotations

import re
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.server import App, create_app
from mockserver.server.config import ServerConfig
from mockserver.server.database import DB_NAME
from mockserver.serving import serve_consumer
from tests._serve_process import start_cli, stop_cli
from tests._server import subscription, wait_until
from tests.hostile import Hostile, payload_key
from tests.servers import serve_wsgi

TOKEN = "e2e-bearer-token-0123456789"


@contextmanager
def api(app: App) -> Iterator[httpx.Client]:
    """``app`` served on 127.0.0.1, a free port, with an HTTP client for its control API."""
    with serve_wsgi(app) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def deliveries(client: httpx.Client, **query: Any) -> dict[str, Any]:
    response = client.get("/v1/deliveries", params=query)
    assert response.status_code == 200
    page: dict[str, Any] = response.json()
    return page


def test_deliveries_reach_a_real_consumer_and_survive_a_restart(tmp_path: Path) -> None:
    auth = BearerAuth(TOKEN)
    with serve_consumer(ConsumerConfig(auth=auth)) as consumer:
        app = create_app(ServerConfig(state_dir=tmp_path))
        try:
            with api(app) as client:
                created = client.post(
                    "/v1/subscriptions",
                    json={"id": "ref", "url": consumer.url, "auth": f"bearer:{TOKEN}"},
                )
                assert created.status_code == 201
                accepted = client.post("/v1/events", json={"event": "any", "count": 3, "seed": 5})
                assert accepted.status_code == 202

                wait_until(lambda: deliveries(client, status="delivered")["total"] == 3)
        finally:
            app.close()
        ledger = consumer.consumer.ledger()
    assert (ledger["accepted"], ledger["rejected"]) == (3, {})

    restarted = create_app(ServerConfig(state_dir=tmp_path))
    try:
        with api(restarted) as client:
            page = deliveries(client)
            assert [d["status"] for d in page["deliveries"]] == ["delivered"] * 3
            one = client.get(f"/v1/deliveries/{page['deliveries'][0]['id']}")
            assert one.json()["attempts"][0]["status"] == 202
            assert TOKEN not in one.text
    finally:
        restarted.close()


def test_with_state_a_shutdown_leaves_waiting_deliveries_to_the_next_start(
    tmp_path: Path,
) -> None:
    """Issue 13 changed this: a delivery waiting for a retry is a row with a due time, so a stop
    neither waits for it nor gives up on it; the next start continues it."""
    answers = ["503", "503"]

    @Request.application
    def recovering(request: Request) -> Response:
        status = int(answers.pop()) if answers else 202
        return Response("maintenance" if status == 503 else "ok", status=status)

    with serve_wsgi(recovering) as consumer:
        flaky = subscription(id="flaky", url=consumer.url + "/hook", retry="custom:1")
        app = create_app(ServerConfig(subscriptions=(flaky,), state_dir=tmp_path, workers=1))
        with api(app) as client:
            accepted = client.post("/v1/events", json={"event": "task.completed", "count": 2})
            ids = [d["id"] for d in accepted.json()["deliveries"]]
            wait_until(lambda: client.get("/healthz").json()["retrying"] == 2)
            assert app.close(timeout=5) == 0  # nothing interrupted: both wait in the state
        assert app.left_for_next_start == 2

        restarted = create_app(ServerConfig(subscriptions=(flaky,), state_dir=tmp_path))
        try:
            with api(restarted) as client:
                waiting = [client.get(f"/v1/deliveries/{id}").json() for id in ids]
                assert [w["status"] for w in waiting] == ["delivering"] * 2
                for record in waiting:
                    [attempt] = record["attempts"]
                    assert record["next_attempt_at"] >= attempt["started_at"] + 1
                wait_until(lambda: deliveries(client, status="delivered")["total"] == 2)
                done = [client.get(f"/v1/deliveries/{id}").json() for id in ids]
        finally:
            restarted.close()
    assert [[a["status"] for a in record["attempts"]] for record in done] == [[503, 202]] * 2


def test_without_state_a_shutdown_records_every_unfinished_delivery_interrupted() -> None:
    @Request.application
    def down(request: Request) -> Response:
        return Response("down for maintenance", status=503)

    with serve_wsgi(down) as consumer:
        # One start every 100 s: the second delivery is still pending at the stop.
        failing = subscription(id="down", url=consumer.url, retry="custom:30", rate=0.01)
        app = create_app(ServerConfig(subscriptions=(failing,), workers=1))
        with api(app) as client:
            first, second = client.post(
                "/v1/events", json={"event": "task.completed", "count": 2}
            ).json()["deliveries"]
            wait_until(lambda: client.get("/healthz").json()["retrying"] == 1)

            assert app.pool.stop(timeout=5) == 2
            waiting, queued = app.store.get(first["id"]), app.store.get(second["id"])
        app.close()
    assert waiting is not None and queued is not None
    assert (waiting.status, queued.status) == ("interrupted", "interrupted")
    assert waiting.detail is not None and "after 1 failed attempt, while waiting" in waiting.detail
    assert queued.detail == "the server stopped before this delivery started"


@pytest.mark.slow
def test_the_serve_command_delivers_and_stops_on_sigterm(tmp_path: Path) -> None:
    with serve_consumer(ConsumerConfig(auth=BearerAuth(TOKEN))) as consumer:
        config = tmp_path / "serve.toml"
        config.write_text(
            f'[[subscriptions]]\nid = "ref"\nurl = "{consumer.url}"\n'
            'auth = "bearer:env:R360_TOKEN"\n'
        )
        state = tmp_path / "state"
        process, lines = start_cli(
            "serve", "--port", "0", "--config", str(config), "--state", str(state),
            env={"R360_TOKEN": TOKEN},
        )  # fmt: skip
        try:
            first = lines.next()
            assert first.startswith("mock Record360 on http://127.0.0.1:"), first
            base = first.split()[3]
            with httpx.Client(base_url=base, timeout=5) as client:
                response = client.post("/v1/events", json={"event": "transaction.create"})
                assert response.status_code == 202
                wait_until(lambda: deliveries(client, status="delivered")["total"] == 1)
        finally:
            out, err = stop_cli(process, lines, signal.SIGTERM)
        assert process.returncode == 0, err
        assert "stopped (0 deliveries recorded as interrupted)" in out
        assert "subscriptions  1 from" in out and "ref: " + consumer.url in out
        assert TOKEN not in out + err
        assert consumer.consumer.ledger()["accepted"] == 1
    with sqlite3.connect(state / DB_NAME) as db:
        assert db.execute("SELECT status FROM deliveries").fetchall() == [("delivered",)]


@pytest.mark.slow
def test_the_consumer_command_receives_until_ctrl_c() -> None:
    process, lines = start_cli("consumer", "--port", "0", "--auth", "bearer:env:R360_TOKEN",
                     env={"R360_TOKEN": TOKEN})  # fmt: skip
    try:
        first = lines.next()
        assert first.startswith("reference consumer on http://127.0.0.1:"), first
        url = first.split()[-1]
        body = {"event": "completed", "task": {"id": "t-1"}}
        unauthorised = httpx.post(url, json=body, timeout=5)
        accepted = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert (unauthorised.status_code, accepted.status_code) == (401, 202)
        news = [lines.next() for _ in range(4)][-1]  # 3 lines of settings, then the news
        assert news.startswith("received: accepted 1"), lines.seen
    finally:
        out, err = stop_cli(process, lines, signal.SIGINT)
    assert process.returncode == 0, err
    assert "stopped; accepted 1, duplicates 0, ignored 0, rejected 401: 1" in out


def _base_url(first_line: str) -> str:
    assert first_line.startswith("mock Record360 on http://127.0.0.1:"), first_line
    return first_line.split()[3]


@pytest.mark.slow
def test_sigterm_mid_run_loses_no_accepted_delivery(tmp_path: Path) -> None:
    """200 events to a slow consumer, SIGTERM with deliveries on the wire, queued and waiting
    to retry; a restart on the same --state finishes every accepted one, and what was delivered
    is exactly what the consumer accepted. (Issue 13: a stop no longer interrupts them.)"""
    mix = {"slow": 85, "503": 15}  # every answer takes 0.1-0.3 s; a 503 waits 0.5 s to retry
    with Hostile(seed=11, mix=mix, slow=(0.1, 0.3)) as consumer:
        config = tmp_path / "serve.toml"
        config.write_text(
            f'[server]\nworkers = 4\n\n[[subscriptions]]\nid = "slow"\nurl = "{consumer.url}"\n'
            'retry = "custom:0.5,0.5"\nconcurrency = 4\n'
        )
        state = tmp_path / "state"
        serve = ("serve", "--port", "0", "--config", str(config), "--state", str(state))
        process, lines = start_cli(*serve, env={})
        try:
            with httpx.Client(base_url=_base_url(lines.next()), timeout=5) as client:
                ids: list[str] = []
                for batch in range(2):
                    body = {"event": "any", "count": 100, "seed": 100 * batch}
                    response = client.post("/v1/events", json=body)
                    assert response.status_code == 202, response.text
                    ids += [delivery["id"] for delivery in response.json()["deliveries"]]
                wait_until(lambda: deliveries(client, status="delivered")["total"] >= 10)
                health = client.get("/healthz").json()
        finally:
            out, err = stop_cli(process, lines, signal.SIGTERM)
        assert health["in_flight"] > 0 and health["queued"] > 0, health  # stopped mid-run
        assert process.returncode == 0, err
        assert "stopping: waiting up to 20 s for " in out
        stopped = re.search(
            r"stopped \(0 deliveries recorded as interrupted\); (\d+) continue at the next start",
            out,
        )
        assert stopped is not None, out
        assert int(stopped.group(1)) > 0
        assert len(set(ids)) == 200

        process, lines = start_cli(*serve, env={})
        try:
            base = _base_url(lines.next())
            assert any("(200 past deliveries" in lines.next() for _ in range(3)), lines.seen
            with httpx.Client(base_url=base, timeout=5) as client:

                def finished() -> dict[str, Any] | None:
                    page = deliveries(client, limit=500)
                    final = ("delivered", "dead-lettered")
                    done = all(d["status"] in final for d in page["deliveries"])
                    return page if done else None

                page = wait_until(finished, timeout=60)
                records = {d["id"]: d for d in page["deliveries"]}
                delivered = [client.get(f"/v1/deliveries/{id}").json() for id, d in
                             records.items() if d["status"] == "delivered"]  # fmt: skip
        finally:
            stop_cli(process, lines, signal.SIGTERM)
        consumer.settle()

    assert page["total"] == 200 and set(records) == set(ids)  # every 202'd id, none more
    states = Counter(d["status"] for d in records.values())
    assert states["delivered"] >= 190, states
    # What the state says was delivered is exactly what the consumer accepted, once each.
    delivered_keys = Counter(payload_key(record["payload"]) for record in delivered)
    assert delivered_keys == +consumer.accepted
    assert not consumer.ambiguous
