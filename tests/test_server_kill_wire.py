"""SIGKILL with an attempt on the wire, and the issue's own sequence at small scale (audit of
issue 13, item 6): the real command in a subprocess, a loopback consumer of the test's own that
records every body it is sent, and the state database read after.

* A delivery whose attempt is on the wire (the consumer holds the request) when ``serve`` is
  killed is sent again after the restart: the consumer sees it twice (at-least-once), and the
  database says ``delivered`` after one recorded attempt.
* 30 events fanned out to one healthy consumer and 4 dead endpoints (closed loopback ports) on
  ``standard``, SIGKILL 0.3 s later, restart on the same ``--state``: the healthy consumer gets
  all 30 within seconds, while the dead endpoints' deliveries wait for their next attempt.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mockserver.server.database import DB_NAME
from tests._serve_process import Lines, finish, start_cli, stop_cli
from tests._server import wait_until
from tests.servers import free_port


class Recorder:
    """A loopback consumer: records the SHA-256 of every body; holds the first request until
    :attr:`release` when :attr:`hold_first` is set; takes ``delay`` seconds; answers 204."""

    def __init__(self, *, hold_first: bool, delay: float) -> None:
        self.hold_first, self.delay = hold_first, delay
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.bodies: list[str] = []
        self.at: list[float] = []

    def handle(self, body: bytes) -> None:
        with self.lock:
            self.bodies.append(hashlib.sha256(body).hexdigest())
            self.at.append(time.monotonic())
            first = len(self.bodies) == 1
        if first and self.hold_first:
            self.release.wait(30)
        time.sleep(self.delay)


@contextmanager
def recording(*, hold_first: bool = False, delay: float = 0.0) -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder(hold_first=hold_first, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            recorder.handle(body)
            try:
                self.send_response(204)
                self.end_headers()
            except OSError:  # the sender was killed meanwhile
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        recorder.release.set()
        server.shutdown()
        server.server_close()


def base_url(lines: Lines) -> str:
    return lines.next(timeout=30).split()[3]


def killed(process: object, lines: Lines) -> None:
    process.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
    process.wait(timeout=10)  # type: ignore[attr-defined]
    finish(process, lines)  # type: ignore[arg-type]
    assert process.returncode == -signal.SIGKILL  # type: ignore[attr-defined]


def rows(state: Path, subscription: str) -> list[tuple[str, str, int, str]]:
    with sqlite3.connect(state / DB_NAME) as db:
        return db.execute(
            "SELECT id, status, attempt_count, payload FROM deliveries WHERE subscription = ?",
            (subscription,),
        ).fetchall()


def digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def test_an_attempt_on_the_wire_at_sigkill_is_sent_again(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with recording(hold_first=True) as (consumer, url):
        config = tmp_path / "serve.toml"
        config.write_text(f'[[subscriptions]]\nid = "slow"\nurl = "{url}"\nretry = "quick"\n')
        serve = ("serve", "--port", "0", "--config", str(config), "--state", str(state))
        process, lines = start_cli(*serve, env={})
        try:
            with httpx.Client(base_url=base_url(lines), timeout=5) as api:
                accepted = api.post("/v1/events", json={"event": "task.completed"})
                assert accepted.status_code == 202
            wait_until(lambda: len(consumer.bodies) == 1)  # on the wire, held by the consumer
        finally:
            killed(process, lines)
        [(delivery_id, status, attempts, payload)] = rows(state, "slow")
        assert (status, attempts) == ("pending", 0)  # the kill came before any record
        consumer.release.set()

        process, lines = start_cli(*serve, env={})
        try:
            with httpx.Client(base_url=base_url(lines), timeout=5) as api:
                done = wait_until(
                    lambda: (
                        (d := api.get(f"/v1/deliveries/{delivery_id}").json())["status"]
                        == "delivered"
                        and d
                    )
                )
        finally:
            stop_cli(process, lines, signal.SIGTERM)
    assert process.returncode == 0
    assert done["attempt_count"] == 1
    assert consumer.bodies == [digest(payload)] * 2  # the same body, sent again after the kill
    assert rows(state, "slow") == [(delivery_id, "delivered", 1, payload)]


EVENTS = 30
DEAD = 4


@pytest.mark.slow
def test_the_issues_sequence_sigkill_then_restart_delivers_every_event(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with recording(delay=0.05) as (consumer, url):  # 30 take ~0.75 s: the kill lands midway
        config = tmp_path / "serve.toml"
        dead = "".join(
            f'[[subscriptions]]\nid = "dead-{n}"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'
            'retry = "standard"\n\n'
            for n in range(DEAD)
        )
        config.write_text(
            "[server]\nworkers = 4\n\n" + dead
            + f'[[subscriptions]]\nid = "healthy"\nurl = "{url}"\nretry = "standard"\n'
        )  # fmt: skip
        serve = ("serve", "--port", "0", "--config", str(config), "--state", str(state))
        process, lines = start_cli(*serve, env={})
        try:
            with httpx.Client(base_url=base_url(lines), timeout=5) as api:
                accepted = api.post(
                    "/v1/events", json={"event": "transaction.create", "count": EVENTS, "seed": 1}
                )
                assert accepted.status_code == 202
                assert len(accepted.json()["deliveries"]) == EVENTS * (DEAD + 1)
            time.sleep(0.3)
        finally:
            killed(process, lines)
        before = len(consumer.bodies)

        process, lines = start_cli(*serve, env={})
        restarted = time.monotonic()
        try:
            base_url(lines)
            expected = Counter(digest(p) for _, _, _, p in rows(state, "healthy"))
            wait_until(lambda: set(consumer.bodies) >= set(expected), timeout=15)
            took = max(consumer.at) - restarted
            wait_until(
                lambda: all(s == "delivered" for _, s, _, _ in rows(state, "healthy")), timeout=5
            )
        finally:
            stop_cli(process, lines, signal.SIGTERM)
    assert process.returncode == 0
    assert before < EVENTS, before  # the kill came with deliveries still to make
    assert sum(expected.values()) == EVENTS
    assert took < 10.0, took  # the dead endpoints held up nothing
    dead_rows = [r for n in range(DEAD) for r in rows(state, f"dead-{n}")]
    assert len(dead_rows) == EVENTS * DEAD
    assert all(status in ("pending", "delivering") for _, status, _, _ in dead_rows)
    print(f"healthy bodies before the kill {before}, all {EVENTS} within {took:.2f} s of restart")
