"""The scheduler: dead and slow endpoints do not starve a healthy one (issue 13, item 2).

The issue's report: 100 ``transaction.create`` events fanned out to one healthy consumer and 8
dead endpoints on the ``standard`` schedule (4 workers), and the healthy consumer got 1 body,
because each worker slept through a dead delivery's 75-hour schedule. Here the same fan-out runs
against a real loopback consumer and closed ports; the assertions are about what the server
holds, not how long anything took: every healthy delivery arrives while every dead one waits for
its next attempt as a row with a due time, on the ``standard`` schedule's first delay (5 s, plus
up to 10 % jitter), and no worker is held by a waiting delivery.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.test import Client

from mockserver.consumer import ConsumerConfig
from mockserver.delivery.retry import PRESETS
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.server.dispatcher import SICK_YIELD_S, Dispatcher
from mockserver.serving import serve_consumer
from tests._server import WAIT_S, subscription, wait_until
from tests.servers import free_port

DEAD = 8
EVENTS = 100


def test_dead_endpoints_on_the_standard_schedule_do_not_starve_a_healthy_one(
    tmp_path: Path,
) -> None:
    dead = [
        subscription(id=f"dead-{n}", url=f"http://127.0.0.1:{free_port()}/hook", retry="standard")
        for n in range(DEAD)
    ]
    with serve_consumer(ConsumerConfig()) as consumer:
        healthy = subscription(id="healthy", url=consumer.url, retry="standard")
        config = ServerConfig(subscriptions=(*dead, healthy), state_dir=tmp_path, workers=4)
        app = create_app(config)
        try:
            client = Client(app)
            accepted = client.post(
                "/v1/events", json={"event": "transaction.create", "count": EVENTS, "seed": 1}
            )
            assert accepted.status_code == 202
            assert len(accepted.json["deliveries"]) == EVENTS * (DEAD + 1)

            wait_until(lambda: consumer.consumer.ledger()["accepted"] == EVENTS)
            health = wait_until(
                lambda: (
                    (h := client.get("/healthz").json)["in_flight"] == 0 and h["queued"] == 0 and h
                ),
            )
            waiting = page(client, status="delivering", limit=500)
            one = client.get(f"/v1/deliveries/{waiting[0]['id']}").json
        finally:
            assert app.close(timeout=5) == 0
    assert health["deliveries"]["delivered"] == EVENTS
    assert health["retrying"] == EVENTS * DEAD  # every dead delivery waits, holding no worker
    first_delay = PRESETS["standard"].delays[0]
    for summary in waiting:
        assert summary["subscription"].startswith("dead-")
        assert summary["attempt_count"] >= 1 and summary["next_attempt_at"] is not None
    first = one["attempts"][0]
    assert first["error_kind"] == "connect"
    assert first_delay <= first["delay_s"] <= first_delay * 1.1  # the standard schedule's step


def page(client: Client, **query: Any) -> list[dict[str, Any]]:
    """Every delivery the listing returns for ``query``, following cursors."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(
            "/v1/deliveries", query_string=query | ({"cursor": cursor} if cursor else {})
        )
        found += response.json["deliveries"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return found


class Gate:
    """An ``httpx.MockTransport`` handler: ``/slow`` waits for the gate (but its first request,
    which proves the endpoint answers: see :func:`test_an_endpoint_not_proven_yet_gets_one_attempt`),
    the rest answer at once; it counts the slow requests on the wire at once."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.lock = threading.Lock()
        self.slow_now = self.slow_most = 0
        self.fast = 0
        self.slow_seen = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/slow":
            with self.lock:
                self.fast += 1
            return httpx.Response(202)
        with self.lock:
            self.slow_seen += 1
            if self.slow_seen == 1:
                return httpx.Response(202)
            self.slow_now += 1
            self.slow_most = max(self.slow_most, self.slow_now)
        self.open.wait(WAIT_S)
        with self.lock:
            self.slow_now -= 1
        return httpx.Response(202)


@pytest.mark.parametrize(("limit", "expected"), [(None, 2), (1, 1)])
def test_a_slow_endpoint_holds_at_most_its_concurrency(limit: int | None, expected: int) -> None:
    """4 workers: a subscription takes at most ``concurrency`` (default: half the workers)."""
    gate = Gate()
    settings = {"concurrency": limit} if limit is not None else {}
    slow = subscription(id="slow", url="http://127.0.0.1:9/slow", **settings)
    fast = subscription(id="fast", url="http://127.0.0.1:9/fast")
    transport = httpx.MockTransport(gate)
    app = create_app(ServerConfig(subscriptions=(slow, fast), transport=transport, workers=4))
    try:
        client = Client(app)
        accepted = client.post("/v1/events", json={"event": "task.completed", "count": 10})
        assert accepted.status_code == 202

        wait_until(lambda: gate.fast == 10)  # every fast one, while the slow ones are held
        wait_until(lambda: gate.slow_now == expected)
        wait_until(lambda: client.get("/healthz").json["in_flight"] == expected)
        gate.open.set()
        wait_until(lambda: client.get("/healthz").json["deliveries"]["delivered"] == 20)
    finally:
        gate.open.set()
        app.close(timeout=5)
    assert gate.slow_most == expected


class _Sub:
    """What :meth:`Dispatcher._choose` reads of an endpoint."""

    def __init__(
        self, id_: str, *, failing: bool, busy: int = 0, spacing: float = 0.0, proven: bool = True
    ) -> None:
        self.id, self.failing, self.busy, self.limit = id_, failing, busy, 2
        self.spacing, self.not_before, self.proven = spacing, 0.0, proven
        self.answered = proven


def _dispatcher(heads: dict[str, float], subs: list[_Sub], sick_on_wire: int = 0) -> Dispatcher:
    dispatcher = Dispatcher(schedule=None, workers=8, taken=lambda n: None)  # type: ignore[arg-type]
    dispatcher.scheduled = {sub.id: sub for sub in subs}  # type: ignore[misc]
    dispatcher._heads = dict(heads)
    for seq, sub in enumerate(each for each in subs for _ in range(each.busy)):
        dispatcher._in_flight[seq] = None  # type: ignore[assignment]
        if sub.failing and seq < sick_on_wire:
            dispatcher._sick.add(seq)
    return dispatcher


def test_a_failing_endpoint_waits_while_a_healthy_attempt_is_on_the_wire() -> None:
    now = 1_000.0
    healthy, dead = _Sub("healthy", failing=False, busy=1), _Sub("dead", failing=True)
    dispatcher = _dispatcher({"dead": now - 0.2}, [healthy, dead])
    chosen, wake = dispatcher._choose(now)
    assert chosen is None
    assert wake == pytest.approx(now - 0.2 + SICK_YIELD_S)  # it is not held longer than that


def test_a_failing_endpoint_waits_no_longer_than_its_yield() -> None:
    now = 1_000.0
    healthy, dead = _Sub("healthy", failing=False, busy=1), _Sub("dead", failing=True)
    dispatcher = _dispatcher({"dead": now - SICK_YIELD_S - 0.01}, [healthy, dead])
    chosen, _ = dispatcher._choose(now)
    assert chosen is not None and chosen[0] is dead


def test_a_failing_endpoint_goes_at_once_when_no_healthy_attempt_is_on_the_wire() -> None:
    now = 1_000.0
    healthy, dead = _Sub("healthy", failing=False), _Sub("dead", failing=True)
    chosen, _ = _dispatcher({"dead": now}, [healthy, dead])._choose(now)
    assert chosen is not None and chosen[0] is dead
    # a failing one's own attempts on the wire do not make it wait
    busy_dead = _Sub("dead", failing=True, busy=1)
    chosen, _ = _dispatcher({"dead": now}, [healthy, busy_dead], sick_on_wire=1)._choose(now)
    assert chosen is not None and chosen[0] is busy_dead


def test_a_paced_endpoint_gets_one_attempt_per_spacing_however_late_the_server_runs() -> None:
    now = 1_000.0
    paced = _Sub("paced", failing=False, spacing=0.05)
    dispatcher = _dispatcher({"paced": now - 10}, [paced])  # long overdue: many are due
    chosen, _ = dispatcher._choose(now)
    assert chosen == (paced, 1)  # one at a time, not the backlog at once
    paced.not_before = now + 0.05  # as _fill sets it once the claim is made
    chosen, wake = dispatcher._choose(now + 0.01)
    assert chosen is None and wake == pytest.approx(now + 0.05)


class Hanging:
    """An ``httpx.MockTransport`` handler: ``/ok`` answers one 503, then 204s (arrival times
    kept); every other path is an endpoint that accepts the connection and never answers, until
    its read timeout (:attr:`timeout`) or :attr:`release`."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.ok_at: list[float] = []
        self.answered_503 = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/ok":
            self.release.wait(self.timeout)
            raise httpx.ReadTimeout("read timeout (hanging endpoint)", request=request)
        with self.lock:
            if not self.answered_503:
                self.answered_503 = True
                return httpx.Response(503)
            self.ok_at.append(time.monotonic())
        return httpx.Response(204)


def test_hanging_endpoints_do_not_hold_up_a_consumer_after_one_slip() -> None:
    """The audit's case: a consumer answers one 503, then 204s; 8 endpoints never answer (10 s
    read timeout); ``standard``, 4 workers, 100 events. An endpoint not proven yet (no 2xx) gets
    one attempt on the wire, and one failure does not make a subscription *failing*: the
    consumer's other 99 deliveries arrive in a few seconds, not after the hanging attempts.

    (Until each subscription has answered once, hanging ones may still hold every worker for
    one read timeout when they come first: nothing tells them from a healthy one yet.)"""
    handler = Hanging(timeout=10.0)
    hanging = tuple(
        subscription(id=f"hang-{n}", url=f"http://127.0.0.1:9/hang-{n}", retry="standard")
        for n in range(DEAD)
    )
    healthy = subscription(id="healthy", url="http://127.0.0.1:9/ok", retry="standard")
    subs = (healthy, *hanging)
    transport = httpx.MockTransport(handler)
    app = create_app(ServerConfig(subscriptions=subs, transport=transport, workers=4))
    try:
        started = time.monotonic()
        accepted = Client(app).post(
            "/v1/events", json={"event": "transaction.create", "count": EVENTS, "seed": 1}
        )
        assert accepted.status_code == 202
        wait_until(lambda: len(handler.ok_at) >= EVENTS - 1, timeout=30)
    finally:
        handler.release.set()
        app.close(timeout=5)
    assert handler.answered_503
    arrived = sorted(at - started for at in handler.ok_at[: EVENTS - 1])
    # the hanging attempts take 10 s each; the consumer's deliveries wait for none of them
    assert arrived[-1] < 4.0, arrived[::10]


def test_an_endpoint_not_proven_yet_gets_one_attempt() -> None:
    """No 2xx yet: one attempt on the wire, whatever its ``limit``; then its ``limit``."""
    now = 1_000.0
    new = _Sub("new", failing=False, proven=False)
    chosen, _ = _dispatcher({"new": now}, [new])._choose(now)
    assert chosen == (new, 1)
    on_wire = _Sub("new", failing=False, proven=False, busy=1)
    chosen, _ = _dispatcher({"new": now}, [on_wire])._choose(now)
    assert chosen is None
    chosen, _ = _dispatcher({"new": now}, [_Sub("new", failing=False)])._choose(now)
    assert chosen is not None and chosen[1] == 2


def test_among_equals_an_endpoint_known_to_answer_goes_first() -> None:
    """Due at the same moment, as when an event fans out: one that answered a 2xx, then one that
    answered anything (a 503), then one never heard from (it may hang for the read timeout)."""
    now = 1_000.0
    silent = _Sub("silent", failing=False, proven=False)
    answered = _Sub("answered", failing=False, proven=False)
    answered.answered = True
    proven = _Sub("proven", failing=False)
    heads = {"silent": now - 0.001, "answered": now, "proven": now}
    chosen, _ = _dispatcher(heads, [silent, answered, proven])._choose(now)
    assert chosen is not None and chosen[0] is proven
    del heads["proven"]
    chosen, _ = _dispatcher(heads, [silent, answered])._choose(now)
    assert chosen is not None and chosen[0] is answered
