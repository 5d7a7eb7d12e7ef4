"""End to end over real loopback: Werkzeug on 127.0.0.1, real sockets, the real clock."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from mockserver.delivery import Sender
from mockserver.delivery.clock import FakeClock
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.delivery.retry import RetryPolicy
from tests.servers import free_port, serve_wsgi

#: One immediate retry; a Retry-After alone decides how long the wait is.
RETRY_ONCE = RetryPolicy("retry-once", (0.0,), jitter=0.0)


class Recording:
    """A consumer that stores each request body with its arrival time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[bytes, list[float]] = defaultdict(list)
        self.headers: list[dict[str, str]] = []

    def record(self, request: Request) -> int:
        body = request.get_data()
        with self.lock:
            self.arrivals[body].append(time.monotonic())
            self.headers.append(dict(request.headers))
            return len(self.arrivals[body])


def test_real_http_delivery() -> None:
    consumer = Recording()

    @Request.application
    def app(request: Request) -> Response:
        consumer.record(request)
        return Response('{"ok":true}', status=200, content_type="application/json")

    with serve_wsgi(app) as server, Sender(server.url + "/hooks", retry="none") as sender:
        delivery = sender.deliver({"event": "task.completed", "n": 1}, event="task.completed")

    assert delivery.status == "delivered"
    assert [json.loads(body) for body in consumer.arrivals] == [{"event": "task.completed", "n": 1}]
    [headers] = consumer.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("r360-webhooks/")
    assert delivery.attempts[0].body_excerpt == '{"ok":true}'


def test_429_with_retry_after_1_is_delivered_about_a_second_later(tmp_path: Path) -> None:
    consumer = Recording()

    @Request.application
    def app(request: Request) -> Response:
        if consumer.record(request) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response("ok", status=200)

    events = [("transaction.create", {"n": n}) for n in range(4)]
    log_path = tmp_path / "log.jsonl"
    with (
        serve_wsgi(app) as server,
        Sender(server.url + "/hooks", retry=RETRY_ONCE) as sender,
        DeliveryLog(log_path) as log,
    ):
        summary = sender.deliver_many(events, concurrency=4, log=log)

    assert summary.delivered == 4
    assert summary.retried == 4
    assert summary.statuses == {"200": 4, "429": 4}
    assert len(consumer.arrivals) == 4
    for first, second in consumer.arrivals.values():
        assert 0.9 <= second - first < 5
    for record in read_log(log_path):
        assert [a["status"] for a in record["attempts"]] == [429, 200]
        assert record["attempts"][0]["retry_after_s"] == 1.0
        assert record["attempts"][0]["delay_s"] == 1.0


def test_read_timeout_over_loopback() -> None:
    release = threading.Event()

    @Request.application
    def app(request: Request) -> Response:
        release.wait(2)
        return Response("late")

    try:
        with (
            serve_wsgi(app) as server,
            Sender(server.url, retry="none", read_timeout=0.2) as sender,
        ):
            delivery = sender.deliver({}, event="e")
            release.set()
    finally:
        release.set()

    attempt = delivery.attempts[0]
    assert attempt.error_kind == "timeout"
    assert attempt.error_message is not None and attempt.error_message.startswith("read timeout")
    assert delivery.reason == "exhausted"


def test_connection_refused_is_a_connect_error_and_dead_lettered() -> None:
    with Sender(f"http://127.0.0.1:{free_port()}/hooks", retry="none") as sender:
        delivery = sender.deliver({"n": 1}, event="e")

    [attempt] = delivery.attempts
    assert attempt.error_kind == "connect"
    assert attempt.status is None
    assert (delivery.status, delivery.reason) == ("dead-lettered", "exhausted")


def test_connection_refused_retries_on_the_schedule() -> None:
    clock = FakeClock()
    policy = RetryPolicy("p", (5.0, 60.0), jitter=0.0)
    with Sender(f"http://127.0.0.1:{free_port()}/", retry=policy, clock=clock) as sender:
        delivery = sender.deliver({}, event="e")

    assert [a.error_kind for a in delivery.attempts] == ["connect"] * 3
    assert clock.sleeps == [5.0, 60.0]


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A raw TCP server that answers one connection with bytes that are not HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)

    def answer() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"this is not HTTP at all\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=5)
        listener.close()


def test_a_garbled_answer_is_a_protocol_error(garbage_server: int) -> None:
    with Sender(f"http://127.0.0.1:{garbage_server}/", retry="none") as sender:
        delivery = sender.deliver({}, event="e")

    attempt = delivery.attempts[0]
    assert attempt.error_kind == "protocol"
    assert attempt.status is None


def test_the_connection_pool_grows_to_the_bulk_concurrency() -> None:
    # The app only answers once 6 requests are in flight together; with the initial pool of one
    # connection they would queue, the barrier would time out and the app would raise.
    together = threading.Barrier(6, timeout=3)

    @Request.application
    def app(request: Request) -> Response:
        request.get_data()
        together.wait()
        return Response("ok")

    events = [("e", {"n": n}) for n in range(12)]
    with serve_wsgi(app) as server, Sender(server.url, retry="none", max_connections=1) as sender:
        summary = sender.deliver_many(events, concurrency=6)

    assert summary.delivered == 12
