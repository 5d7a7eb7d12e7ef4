"""The newer zoo consumers do what their docstrings say, proven over real loopback HTTP.

Before the verifier is pointed at a consumer, its own behaviour must be known: otherwise a
surprising verdict could be the verifier's bug or the consumer's. So each consumer (Express,
Django, and the Flask apps of :mod:`tests.consumers.flask_limiters`) is served on 127.0.0.1 and
driven by plain httpx: every forged credential of its scheme is a 401, the documented examples
are accepted, an unknown event is acknowledged, a repeat is processed once, and its limiter
answers a burst of 60 with the designed 429 and lifts (or, in the penalty box, does not) as
designed. Every request count is bounded; the waits are the consumers' own windows (1-2 s).
"""

from __future__ import annotations

import copy
import functools
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.schemas import example
from mockserver.auth import ApiKeyAuth, AuthScheme, BasicAuth, BearerAuth, JwtAuth
from mockserver.delivery.retry import parse_retry_after
from tests.consumers import flask_limiters
from tests.consumers.django_zoo import django_consumer
from tests.consumers.node_express import NodeSetupError, install_node_modules, serve_node
from tests.servers import RunningServer, serve_wsgi

pytestmark = pytest.mark.slow

BEARER = BearerAuth("smoke-bearer-token-0123456789")
JWT = JwtAuth("HS256", "smoke-jwt-secret-0123456789abcdef-0123456789", issuer="record360")
BASIC = BasicAuth("record360", "smoke-basic-password-42")
API_KEY = ApiKeyAuth("X-Api-Key", "smoke-api-key-0f1e2d3c4b5a")
#: A burst as the rate-limit check sends it: well past every limit here (20 a second, or 5).
BURST = 60
#: The penalty box in these tests: more than 5 a second costs 2 s (120 s by default).
PENALTY_PER_SECOND, PENALTY_S = 5, 2.0
TIMEOUT_S = 5.0
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d{2}:\d{2}:\d{2} GMT"
)


@dataclass(frozen=True)
class Consumer:
    """A consumer being served, and the credentials it was configured with."""

    name: str
    url: str
    scheme: AuthScheme

    def post(
        self, client: httpx.Client, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST ``body`` with ``headers``, or with good credentials when None."""
        sent = self.scheme.headers() if headers is None else headers
        return client.post(f"{self.url}/webhooks", json=body, headers=sent)

    def ledger(self, client: httpx.Client) -> dict[str, Any]:
        # With credentials: ledger-behind-auth needs them, the others ignore them.
        response = client.get(f"{self.url}/ledger", headers=self.scheme.headers())
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def transaction(id_: str | None = None) -> dict[str, Any]:
    """The documented ``transaction.create`` example with a fresh (or the given) id."""
    body = example("transaction.create")
    body["transaction"]["id"] = id_ or uuid.uuid4().hex
    return body


def burst(consumer: Consumer, client: httpx.Client, count: int = BURST) -> list[httpx.Response]:
    """``count`` valid deliveries back to back, as fast as one connection goes."""
    return [consumer.post(client, transaction()) for _ in range(count)]


def throttled(responses: list[httpx.Response]) -> list[httpx.Response]:
    statuses = {r.status_code for r in responses}
    assert statuses <= {202, 429}, f"a burst must get only 202 and 429, got {sorted(statuses)}"
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "a burst of 60 was never refused"
    return refused


# -- serving ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_consumer_dir() -> None:
    """``npm ci`` for the Express consumer, once a session and only when the lock changed."""
    try:
        install_node_modules()
    except NodeSetupError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def node_bearer(node_consumer_dir: None) -> Iterator[RunningServer]:
    with serve_node(BEARER) as server:
        yield server


@pytest.fixture(scope="session")
def node_jwt(node_consumer_dir: None) -> Iterator[RunningServer]:
    with serve_node(JWT) as server:
        yield server


WSGI: dict[str, tuple[Callable[[AuthScheme], Any], AuthScheme]] = {
    "django-bearer": (django_consumer, BEARER),
    "django-basic": (django_consumer, BASIC),
    "flask-penalty-box": (
        functools.partial(
            flask_limiters.penalty_box, per_second=PENALTY_PER_SECOND, penalty_s=PENALTY_S
        ),
        BEARER,
    ),
    "flask-retry-after-3600": (flask_limiters.retry_after_3600, JWT),
    "flask-http-date": (flask_limiters.http_date_retry_after, BASIC),
    "flask-ledger-behind-auth": (flask_limiters.ledger_behind_auth, API_KEY),
}
NODE = {"express-bearer": ("node_bearer", BEARER), "express-jwt": ("node_jwt", JWT)}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT_S) as http:
        yield http


def _serve(name: str, request: pytest.FixtureRequest) -> Iterator[Consumer]:
    if name in NODE:
        fixture, scheme = NODE[name]
        yield Consumer(name, request.getfixturevalue(fixture).url, scheme)
        return
    factory, scheme = WSGI[name]
    with serve_wsgi(factory(scheme)) as running:
        yield Consumer(name, running.url, scheme)


@pytest.fixture(params=[*NODE, *WSGI])
def consumer(request: pytest.FixtureRequest) -> Iterator[Consumer]:
    yield from _serve(request.param, request)


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Callable[[str], Consumer]:
    """Serve the named consumer for this test only (Node ones live for the session)."""

    def start(name: str) -> Consumer:
        servers = _serve(name, request)
        request.addfinalizer(lambda: next(servers, None))
        return next(servers)

    return start


# -- what every consumer does ----------------------------------------------------------------


def test_every_forged_or_missing_credential_is_refused(
    consumer: Consumer, client: httpx.Client
) -> None:
    variants = consumer.scheme.negative_variants()
    got = {
        v.name: consumer.post(client, transaction(), v.make_headers()).status_code for v in variants
    }
    assert "missing" in got
    assert got == dict.fromkeys(got, 401)
    assert consumer.post(client, transaction()).status_code == 202


def test_the_documented_examples_are_accepted_and_recorded(
    consumer: Consumer, client: httpx.Client
) -> None:
    body = transaction()
    task = example("task.completed")
    task["task"]["id"] = uuid.uuid4().hex
    assert consumer.post(client, body).status_code == 202
    assert consumer.post(client, task).status_code == 202
    processed = consumer.ledger(client)["processed"]
    assert {"event": "transaction.create", "id": body["transaction"]["id"], "count": 1} in processed
    assert {"event": "task.completed", "id": task["task"]["id"], "count": 1} in processed


def test_an_unknown_event_is_acknowledged_and_not_processed(
    consumer: Consumer, client: httpx.Client
) -> None:
    id_ = uuid.uuid4().hex
    response = consumer.post(client, {"event": "archived", "inspection": {"id": id_}})
    assert 200 <= response.status_code < 300
    assert not [row for row in consumer.ledger(client)["processed"] if row["id"] == id_]


def test_a_repeated_delivery_is_processed_once(consumer: Consumer, client: httpx.Client) -> None:
    body = transaction()
    first, again = consumer.post(client, body), consumer.post(client, copy.deepcopy(body))
    assert (first.status_code, again.status_code) == (202, 200)
    rows = [
        row
        for row in consumer.ledger(client)["processed"]
        if row["id"] == body["transaction"]["id"]
    ]
    assert rows == [{"event": "transaction.create", "id": body["transaction"]["id"], "count": 1}]


# -- the limiters, one by one ----------------------------------------------------------------


def _retry_after(response: httpx.Response) -> str:
    value = response.headers.get("Retry-After")
    assert value is not None, f"a 429 without Retry-After: {dict(response.headers)}"
    return value


def _wait_out(response: httpx.Response, received: float) -> None:
    """Sleep until ``response``'s Retry-After has passed, counted from when it arrived."""
    delay = parse_retry_after(_retry_after(response), time.time())
    assert delay is not None, _retry_after(response)
    time.sleep(max(0.0, received + delay - time.monotonic()))


@pytest.mark.parametrize("name", ["express-bearer", "django-bearer", "flask-ledger-behind-auth"])
def test_a_compliant_limiter_says_when_and_lifts_by_then(
    name: str, serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve(name)
    refused = throttled(burst(consumer, client))
    received = time.monotonic()
    assert {_retry_after(r) for r in refused} <= {"1", "2"}  # delta-seconds (RFC 9110 §10.2.3)
    _wait_out(refused[-1], received)
    assert consumer.post(client, transaction()).status_code == 202


def test_a_compliant_limiter_may_answer_with_an_http_date(
    serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve("flask-http-date")
    refused = throttled(burst(consumer, client))
    received = time.monotonic()
    last = _retry_after(refused[-1])
    assert all(IMF_FIXDATE.fullmatch(_retry_after(r)) for r in refused), last
    delay = parse_retry_after(last, time.time())
    assert delay is not None and 0 <= delay <= 2.0, (last, delay)
    _wait_out(refused[-1], received)
    assert consumer.post(client, transaction()).status_code == 202


def test_retry_after_3600_lifts_within_two_seconds(
    serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve("flask-retry-after-3600")
    refused = throttled(burst(consumer, client))
    assert {_retry_after(r) for r in refused} == {"3600"}
    time.sleep(1.1)  # flask-limiter's window is 1 s from its first request
    assert consumer.post(client, transaction()).status_code == 202


def test_the_penalty_box_says_one_second_and_refuses_for_the_whole_penalty(
    serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve("flask-penalty-box")
    responses = burst(consumer, client, count=3 * PENALTY_PER_SECOND)
    refused = throttled(responses)
    penalty_started = time.monotonic()  # the box started it a little earlier: never later
    assert [r.status_code for r in responses[:PENALTY_PER_SECOND]] == [202] * PENALTY_PER_SECOND
    assert len(refused) == 2 * PENALTY_PER_SECOND
    assert {_retry_after(r) for r in refused} == {"1"}
    _wait_out(refused[-1], penalty_started)
    still = consumer.post(client, transaction())
    assert (still.status_code, _retry_after(still)) == (429, "1")  # the lie
    time.sleep(max(0.0, penalty_started + PENALTY_S + 0.1 - time.monotonic()))
    assert consumer.post(client, transaction()).status_code == 202  # not extended by the retry


def test_the_express_limiter_sends_draft_8_ratelimit_headers(
    serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve("express-bearer")
    response = consumer.post(client, transaction())
    assert response.status_code == 202
    assert response.headers["RateLimit-Policy"].startswith('"20-in-1sec"; q=20; w=1')


def test_the_ledger_behind_auth_refuses_missing_and_wrong_credentials(
    serve: Callable[[str], Consumer], client: httpx.Client
) -> None:
    consumer = serve("flask-ledger-behind-auth")
    assert client.get(f"{consumer.url}/ledger").status_code == 401
    wrong = {"X-Api-Key": "not-the-key"}
    assert client.get(f"{consumer.url}/ledger", headers=wrong).status_code == 401
    assert "processed" in consumer.ledger(client)
