"""Helpers for the ``serve`` tests: a delivery sink, an app factory and bounded polling."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from werkzeug.test import Client

from mockserver.server import App, create_app
from mockserver.server.config import ServerConfig
from mockserver.server.store import DeliveryStore
from mockserver.server.subscriptions import Subscription, parse_subscription

#: Every poll in these tests gives up after this long: a hang is a failure, not a stuck run.
WAIT_S = 10.0


@dataclass
class Sink:
    """An ``httpx.MockTransport`` handler: records every delivery, answers ``status``.

    ``gate``, when given, holds every request until it is set (to keep deliveries in flight).
    """

    status: int = 202
    gate: threading.Event | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.gate is not None:
            self.gate.wait(WAIT_S)
        with self.lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
        return httpx.Response(self.status, json={"status": "ok"})

    def bodies(self) -> list[Any]:
        with self.lock:
            return [json.loads(request.content) for request in self.requests]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def subscription(**settings: Any) -> Subscription:
    """A config-file subscription (literal secrets) with a local URL by default."""
    settings.setdefault("url", "http://127.0.0.1:9/webhooks")
    return parse_subscription(settings, source="config")


@contextmanager
def running_app(
    *subscriptions: Subscription, sink: Sink | None = None, **settings: Any
) -> Iterator[App]:
    """An app whose deliveries all go to ``sink`` (never the network); closed on exit."""
    sink = sink if sink is not None else Sink()
    config = ServerConfig(subscriptions=subscriptions, transport=sink.transport, **settings)
    app = create_app(config)
    try:
        yield app
    finally:
        app.close(timeout=5)


def wait_until(predicate: Callable[[], Any], *, timeout: float = WAIT_S) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s")
        time.sleep(0.01)


def wait_for_status(client: Client, delivery_id: str, *states: str) -> dict[str, Any]:
    """GET the delivery until it is in one of ``states`` (default: any final state)."""
    wanted = states or ("delivered", "dead-lettered", "interrupted")

    def done() -> dict[str, Any] | None:
        data: dict[str, Any] = client.get(f"/v1/deliveries/{delivery_id}").json
        return data if data["status"] in wanted else None

    result: dict[str, Any] = wait_until(done)
    return result


def stored_deliveries(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Every delivery in a (closed) server's ``--state``, as ``GET /v1/deliveries/{id}`` shows it."""
    store = DeliveryStore(state_dir)
    try:
        with store.database.read() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM deliveries ORDER BY seq")]
        found = {id_: store.get(id_) for id_ in ids}
        return {id_: record.to_json() for id_, record in found.items() if record is not None}
    finally:
        store.close()
