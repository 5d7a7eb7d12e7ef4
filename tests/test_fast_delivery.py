"""One set of delivery semantics, two engines: every assertion here runs on httpx and on aiohttp.

``Sender.deliver_many`` may run on httpx threads or on the aiohttp event loop
(:mod:`mockserver.delivery.aiohttp_engine`); a consumer must not be able to tell which. So each test is
parametrised over ``engine`` and talks to a real Werkzeug server on 127.0.0.1 (the aiohttp
engine only sends to the network). Schedules are tiny (``custom:0,0.05``) and every wait is
bounded, so the whole file takes a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from werkzeug.wrappers import Request, Response

from mockserver.auth import BearerAuth
from mockserver.delivery import Engine, Sender
from mockserver.delivery.clock import FakeClock
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.delivery.records import Delivery
from mockserver.delivery.summary import Summary
from mockserver.delivery.tls import InsecureTLSWarning
from mockserver.errors import DeliveryError, UsageError
from mockserver.redaction import PLACEHOLDER
from tests.servers import free_port, serve_https, serve_wsgi

ENGINES: list[Engine] = ["httpx", "aiohttp"]
TINY = "custom:0,0.05"  # three attempts: at once, then 50 ms later (jitter adds up to 10 %)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    name: Engine = request.param
    return name


class KindConsumer:
    """Answers by the body's ``kind``; records every attempt's arrival time, per body ``n``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.paths: Counter[str] = Counter()
        self.cookies: list[str] = []
        self.headers: list[dict[str, str]] = []

    @property
    def app(self) -> Any:
        return Request.application(self.answer)

    def answer(self, request: Request) -> Response:
        self.paths[request.path] += 1
        if request.path == "/moved":
            return Response("followed a redirect", status=200)
        body = json.loads(request.get_data())
        n, kind = body["n"], body["kind"]
        with self.lock:
            self.arrivals[n].append(time.monotonic())
            self.cookies.append(request.headers.get("Cookie", ""))
            self.headers.append(dict(request.headers))
            nth = len(self.arrivals[n])
        if kind in ("500", "503", "429"):
            return Response("try later", status=int(kind)) if nth == 1 else Response("ok")
        if kind == "always-503":
            return Response("down", status=503)
        if kind == "429-retry-after":
            if nth == 1:
                return Response("slow down", status=429, headers={"Retry-After": "1"})
            return Response("ok")
        if kind == "410":
            return Response("gone", status=410)
        if kind == "302":
            return Response("", status=302, headers={"Location": "/moved"})
        if kind == "400":
            return Response("bad", status=400)
        if kind == "cookie":
            return Response("ok", headers={"Set-Cookie": "session=abc123; Path=/"})
        if kind == "echo-auth":
            return Response(f"you sent {request.headers.get('Authorization')}", status=503)
        if kind == "big":
            return Response("x" * body["size"])
        return Response("", status=204)


def bodies(*kinds: str) -> list[tuple[str, dict[str, Any]]]:
    return [("transaction.create", {"n": n, "kind": kind}) for n, kind in enumerate(kinds)]


def send(
    url: str,
    items: list[tuple[str, dict[str, Any]]],
    engine: Engine,
    log_path: Path,
    *,
    concurrency: int = 4,
    **options: Any,
) -> tuple[Summary, list[dict[str, Any]], list[Delivery]]:
    finished: list[Delivery] = []
    with Sender(url, **options) as sender, DeliveryLog(log_path) as log:
        assert sender.engine_for(engine) == engine
        summary = sender.deliver_many(
            items,
            concurrency=concurrency,
            log=log,
            on_done=finished.append,
            engine=engine,
        )
    records = list(read_log(log_path))
    assert len(records) == len(items) == summary.total == len(finished)  # one line per delivery
    assert [r["id"] for r in records] == [d.id for d in finished]  # logged as they finished
    assert len({d.id for d in finished}) == len(items)
    assert {r["status"] for r in records} <= {"delivered", "dead-lettered"}
    assert sum(r["status"] == "delivered" for r in records) == summary.delivered
    assert sum(r["status"] == "dead-lettered" for r in records) == summary.dead_lettered
    assert sum(len(r["attempts"]) for r in records) == summary.attempts
    return summary, records, sorted(finished, key=lambda d: d.payload["n"])


def test_statuses_are_retried_stopped_or_refused_by_the_same_rules(
    engine: Engine, tmp_path: Path
) -> None:
    consumer = KindConsumer()
    kinds = ("ok", "500", "503", "429", "always-503", "410", "302", "400")
    with serve_wsgi(consumer.app) as server:
        summary, _records, done = send(
            server.url + "/hooks", bodies(*kinds), engine, tmp_path / "log.jsonl", retry=TINY
        )

    outcome = {
        d.payload["kind"]: (d.status, d.reason, [a.status for a in d.attempts]) for d in done
    }
    assert outcome == {
        "ok": ("delivered", None, [204]),
        "500": ("delivered", None, [500, 200]),
        "503": ("delivered", None, [503, 200]),
        "429": ("delivered", None, [429, 200]),
        "always-503": ("dead-lettered", "exhausted", [503, 503, 503]),
        "410": ("dead-lettered", "gone", [410]),
        "302": ("dead-lettered", "redirect", [302]),
        "400": ("dead-lettered", "rejected", [400]),
    }
    exhausted = done[kinds.index("always-503")]
    first, second, last = exhausted.attempts
    assert first.delay_s == 0.0
    assert second.delay_s is not None and 0.05 <= second.delay_s <= 0.055 + 1e-9
    assert last.delay_s is None
    arrivals = consumer.arrivals[kinds.index("always-503")]
    assert arrivals[2] - arrivals[1] >= 0.045
    assert exhausted.detail == (
        "3 attempts failed, retry policy 'custom:0,0.05' exhausted; last: status 503"
    )
    assert done[kinds.index("302")].detail == (
        "status 302 to /moved: redirects are not followed (3xx is a failure)"
    )
    assert consumer.paths["/moved"] == 0
    assert summary.delivered == 4
    assert summary.dead_lettered == 4
    assert summary.reasons == {"exhausted": 1, "gone": 1, "redirect": 1, "rejected": 1}
    assert summary.retried == 4
    assert summary.statuses == {
        "200": 3, "204": 1, "302": 1, "400": 1, "410": 1, "429": 1, "500": 1, "503": 4,
    }  # fmt: skip


def test_retry_after_is_honoured(engine: Engine, tmp_path: Path) -> None:
    consumer = KindConsumer()
    with serve_wsgi(consumer.app) as server:
        summary, _records, done = send(
            server.url + "/hooks",
            bodies(*["429-retry-after"] * 3),
            engine,
            tmp_path / "log.jsonl",
            retry="custom:0",
        )

    assert summary.delivered == 3
    for n, delivery in enumerate(done):
        first, second = consumer.arrivals[n]
        assert 0.9 <= second - first < 3
        assert delivery.attempts[0].retry_after_s == 1.0
        assert delivery.attempts[0].delay_s == 1.0  # max(schedule 0 s, Retry-After 1 s)


def test_a_retry_waiting_on_aiohttp_holds_no_slot(tmp_path: Path) -> None:
    """One slot, and the first body told to come back in 1 s: the others go meanwhile.

    (On httpx the waiting retry sleeps in its worker thread, holding the slot.)
    """
    consumer = KindConsumer()
    items = bodies("429-retry-after", *["ok"] * 20)
    with serve_wsgi(consumer.app) as server:
        summary, _records, _done = send(
            server.url + "/hooks",
            items,
            "aiohttp",
            tmp_path / "log.jsonl",
            concurrency=1,
            retry="custom:0",
        )

    assert summary.delivered == 21
    retried = consumer.arrivals[0][1]
    others = [consumer.arrivals[n][0] for n in range(1, 21)]
    assert max(others) < retried


def test_a_refused_connection_is_dead_lettered_as_connect(engine: Engine, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks"
    summary, _records, done = send(
        url, bodies("ok", "ok"), engine, tmp_path / "log.jsonl", retry="custom:0"
    )

    assert summary.dead_lettered == 2
    assert summary.statuses == {"connect": 4}
    for delivery in done:
        assert delivery.reason == "exhausted"
        assert [a.error_kind for a in delivery.attempts] == ["connect", "connect"]
        message = delivery.attempts[0].error_message
        assert message is not None and message.startswith("connection failed: ")


def test_a_read_timeout_is_recorded_as_timeout(engine: Engine, tmp_path: Path) -> None:
    release = threading.Event()

    @Request.application
    def slow(request: Request) -> Response:
        release.wait(2)
        return Response("late")

    try:
        with serve_wsgi(slow) as server:
            _summary, _records, [delivery] = send(
                server.url, bodies("ok"), engine, tmp_path / "log.jsonl", retry="none",
                read_timeout=0.2,
            )  # fmt: skip
            release.set()
    finally:
        release.set()

    attempt = delivery.attempts[0]
    assert attempt.error_kind == "timeout"
    assert attempt.error_message is not None and attempt.error_message.startswith("read timeout")


@contextmanager
def https_server(ca: trustme.CA, consumer: KindConsumer) -> Iterator[str]:
    with serve_https(consumer.app, ca.issue_cert("127.0.0.1")) as server:
        yield server.url + "/hooks"


def test_an_unknown_ca_is_a_tls_failure(engine: Engine, ca: trustme.CA, tmp_path: Path) -> None:
    with https_server(ca, KindConsumer()) as url:
        summary, _records, [delivery] = send(
            url, bodies("ok"), engine, tmp_path / "log.jsonl", retry="none"
        )

    attempt = delivery.attempts[0]
    assert (attempt.error_kind, attempt.tls_failure) == ("tls", "unknown-ca")
    assert attempt.error_message is not None
    assert attempt.error_message.startswith("certificate verify failed: unknown CA")
    assert summary.statuses == {"tls": 1}


def test_a_private_ca_bundle_is_trusted(engine: Engine, ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with https_server(ca, KindConsumer()) as url:
        summary, _records, _done = send(
            url, bodies("ok", "ok"), engine, tmp_path / "log.jsonl", ca_bundle=bundle
        )

    assert summary.delivered == 2


def test_insecure_skips_verification(engine: Engine, ca: trustme.CA, tmp_path: Path) -> None:
    with https_server(ca, KindConsumer()) as url, pytest.warns(InsecureTLSWarning):
        summary, _records, _done = send(
            url, bodies("ok"), engine, tmp_path / "log.jsonl", insecure=True
        )

    assert summary.delivered == 1


def test_credentials_are_fresh_per_attempt_and_redacted_in_the_log(
    engine: Engine, tmp_path: Path
) -> None:
    token = "s3cr3t-token-0123456789"
    calls: list[int] = []

    class CountingBearer(BearerAuth):
        def headers(self) -> dict[str, str]:
            calls.append(1)
            return super().headers()

    consumer = KindConsumer()
    log_path = tmp_path / "log.jsonl"
    with serve_wsgi(consumer.app) as server:
        summary, records, _done = send(
            server.url + "/hooks",
            bodies("echo-auth", "ok"),
            engine,
            log_path,
            retry="custom:0",
            auth=CountingBearer(token),
        )

    assert len(calls) == summary.attempts == 3  # 2 for the echo (503, retried), 1 for ok
    assert all(h["Authorization"] == f"Bearer {token}" for h in consumer.headers)
    text = log_path.read_text()
    assert token not in text
    for record in records:
        for attempt in record["attempts"]:
            assert attempt["request_headers"]["authorization"] == PLACEHOLDER
    echoed = next(r for r in records if r["payload"]["kind"] == "echo-auth")
    # The whole header value is a secret, so it goes as one piece.
    assert echoed["attempts"][0]["body_excerpt"] == f"you sent {PLACEHOLDER}"


def test_both_engines_send_and_record_the_same_headers(tmp_path: Path) -> None:
    consumer = KindConsumer()
    recorded = {}
    with serve_wsgi(consumer.app) as server:
        for engine in ENGINES:
            _summary, _records, [delivery] = send(
                server.url + "/hooks",
                bodies("ok"),
                engine,
                tmp_path / f"{engine}.jsonl",
                headers={"X-Tenant": "acme", "accept": "application/json"},
            )
            recorded[engine] = delivery.attempts[0]

    httpx_attempt, aio_attempt = recorded["httpx"], recorded["aiohttp"]
    assert aio_attempt.request_headers == httpx_attempt.request_headers
    assert list(aio_attempt.request_headers) == list(httpx_attempt.request_headers)
    assert httpx_attempt.request_headers["accept"] == "application/json"  # override, not joined
    assert set(aio_attempt.response_headers) == set(httpx_attempt.response_headers)
    sent_httpx, sent_aio = ({k.lower(): v for k, v in h.items()} for h in consumer.headers)
    assert sent_aio == sent_httpx


def test_cookies_are_never_replayed(engine: Engine, tmp_path: Path) -> None:
    consumer = KindConsumer()
    with serve_wsgi(consumer.app) as server:
        send(
            server.url + "/hooks", bodies("cookie", "ok", "ok"), engine, tmp_path / "l.jsonl",
            concurrency=1,
        )  # fmt: skip

    assert consumer.cookies == ["", "", ""]


@pytest.mark.parametrize(("size", "truncated"), [(100, False), (101, True), (10_000, True)])
def test_only_the_first_body_limit_bytes_are_kept(
    engine: Engine, tmp_path: Path, size: int, truncated: bool
) -> None:
    items = [("transaction.create", {"n": 0, "kind": "big", "size": size})]
    with serve_wsgi(KindConsumer().app) as server:
        _summary, _records, [delivery] = send(
            server.url + "/hooks", items, engine, tmp_path / "l.jsonl", body_limit=100
        )

    attempt = delivery.attempts[0]
    assert attempt.body_excerpt == "x" * 100
    assert attempt.body_truncated is truncated
    assert delivery.status == "delivered"


def test_input_is_pulled_lazily_within_the_window(engine: Engine, tmp_path: Path) -> None:
    produced = finished = max_ahead = 0
    concurrency = 3

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        nonlocal produced, max_ahead
        for n in range(60):
            produced += 1
            max_ahead = max(max_ahead, produced - finished)
            yield "transaction.create", {"n": n, "kind": "ok"}

    def on_done(delivery: Delivery) -> None:
        nonlocal finished
        finished += 1

    with serve_wsgi(KindConsumer().app) as server, Sender(server.url + "/hooks") as sender:
        summary = sender.deliver_many(
            items(),
            concurrency=concurrency,
            on_done=on_done,
            engine=engine,
        )

    assert summary.delivered == finished == 60
    assert max_ahead <= concurrency + 1


def test_a_failing_auth_source_stops_the_run_and_is_raised(engine: Engine) -> None:
    class Broken:
        def headers(self) -> dict[str, str]:
            raise RuntimeError("vault is sealed")

    with (
        serve_wsgi(KindConsumer().app) as server,
        Sender(server.url + "/hooks", auth=Broken()) as sender,
        pytest.raises(DeliveryError, match="the auth header source failed: vault is sealed"),
    ):
        sender.deliver_many(bodies("ok", "ok"), concurrency=2, engine=engine)


def test_rate_paces_starts_on_the_aiohttp_engine() -> None:
    starts: list[float] = []
    with serve_wsgi(KindConsumer().app) as server, Sender(server.url + "/hooks") as sender:
        summary = sender.deliver_many(
            bodies(*["ok"] * 21),
            concurrency=4,
            rate=50,
            on_done=lambda d: starts.append(d.attempts[0].started_at),
            engine="aiohttp",
        )

    starts.sort()
    assert summary.delivered == 21
    assert starts[-1] - starts[0] == pytest.approx(20 / 50, abs=0.03)


def test_a_loop_in_the_calling_thread_is_no_obstacle() -> None:
    async def caller(url: str) -> Summary:
        with Sender(url) as sender:
            return sender.deliver_many(bodies("ok", "ok"), concurrency=2, engine="aiohttp")

    with serve_wsgi(KindConsumer().app) as server:
        summary = asyncio.run(caller(server.url + "/hooks"))

    assert summary.delivered == 2


def test_auto_picks_aiohttp_only_for_the_real_network_and_clock() -> None:
    url = "http://127.0.0.1:9/hooks"
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    with Sender(url) as plain:
        assert plain.engine_for() == "aiohttp"
        assert plain.engine_for("httpx") == "httpx"
    with Sender(url, transport=mock) as injected:
        assert injected.engine_for() == "httpx"
        with pytest.raises(UsageError, match=r"transport was injected.*use engine='httpx'"):
            injected.engine_for("aiohttp")
    with httpx.Client() as client, Sender(url, client=client) as borrowed:
        assert borrowed.engine_for() == "httpx"
    with Sender(url, clock=FakeClock()) as virtual:
        assert virtual.engine_for() == "httpx"
    # A URL's user info is Basic auth the sender owns (and redacts), so aiohttp may send it too.
    with Sender("http://user:pw@127.0.0.1:9/hooks") as credentialed:
        assert credentialed.engine_for() == "aiohttp"
        assert credentialed.url == "http://127.0.0.1:9/hooks"
    with Sender(url) as sender, pytest.raises(UsageError, match="engine 'fast' is not one of"):
        sender.engine_for("fast")  # type: ignore[arg-type]


def test_auto_leaves_a_proxied_url_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Sender("http://consumer.example/hooks") as sender:
        assert sender.engine_for() == "httpx"


def test_a_secret_learnt_mid_run_is_redacted_from_the_next_records(engine: Engine) -> None:
    """The aiohttp engine reuses header records only while the redactor learns nothing."""
    trace = "trace-value-0123456789"
    finished: list[Delivery] = []
    consumer = KindConsumer()
    with (
        serve_wsgi(consumer.app) as server,
        Sender(server.url + "/hooks", headers={"X-Trace": trace}) as sender,
    ):

        def on_done(delivery: Delivery) -> None:
            finished.append(delivery)
            sender.redactor.add_secret(trace)

        sender.deliver_many(bodies("ok", "ok", "ok"), concurrency=1, on_done=on_done, engine=engine)

    seen = [d.attempts[0].request_headers["x-trace"] for d in finished]
    assert seen == [trace, PLACEHOLDER, PLACEHOLDER]
