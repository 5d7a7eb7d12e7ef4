"""Unit tests of one delivery: status rules, schedules, Retry-After, records and redaction.

Everything runs through ``httpx.MockTransport`` (or respx) with a FakeClock and a seeded Random,
so a 75-hour schedule takes milliseconds and every attempt time is exact.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from mockserver.delivery.clock import FakeClock
from mockserver.delivery.records import Delivery, encode_payload
from mockserver.delivery.retry import PRESETS, RetryPolicy
from mockserver.delivery.sender import DEFAULT_BODY_LIMIT, Sender
from mockserver.errors import DeliveryError, UsageError
from mockserver.redaction import PLACEHOLDER, Redactor

URL = "http://127.0.0.1:9/webhooks"  # never contacted: every test injects a transport
START = FakeClock.DEFAULT_START
PAYLOAD = {"event": "transaction.create", "data": {"id": "tx-1", "note": "café ✓"}}
#: Two retries, 5 s then 30 s, no jitter: attempt times are exactly +0, +5, +35.
TWO_RETRIES = RetryPolicy("test", (5.0, 30.0), jitter=0.0)

Answer = int | httpx.Response | Callable[[httpx.Request], httpx.Response]


class Script:
    """A scripted consumer: answers in order (the last one repeats) and records requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, int):
            return httpx.Response(answer, text="ok" if answer < 300 else "no")
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


def fail(exc_type: type[httpx.RequestError], message: str = "boom") -> Answer:
    def raise_(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return raise_


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sender(clock: FakeClock) -> Iterator[Callable[..., Sender]]:
    senders: list[Sender] = []

    def make(consumer: Script, **options: Any) -> Sender:
        options.setdefault("retry", TWO_RETRIES)
        options.setdefault("clock", clock)
        options.setdefault("rng", random.Random(1234))
        if "client" not in options:
            options["transport"] = httpx.MockTransport(consumer)
        sender = Sender(URL, **options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


def offsets(delivery: Delivery) -> list[float]:
    return [a.started_at - START for a in delivery.attempts]


# -- success -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 202, 204])
def test_any_2xx_is_delivered_in_one_attempt(
    make_sender: Callable[..., Sender], status: int
) -> None:
    consumer = Script(status)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="transaction.create")

    assert delivery.status == "delivered"
    assert delivery.reason is None
    assert len(consumer.requests) == 1
    [attempt] = delivery.attempts
    assert attempt.status == status
    assert attempt.number == 1
    assert attempt.error_kind is None
    assert attempt.delay_s is None
    assert attempt.started_at == START


def test_request_is_a_json_post_with_configured_and_default_headers(
    make_sender: Callable[..., Sender],
) -> None:
    consumer = Script(200)
    sender = make_sender(consumer, headers={"X-Tenant": "acme"})
    sender.deliver(PAYLOAD, event="transaction.create")

    [request] = consumer.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == "application/json"
    assert re.fullmatch(r"r360-webhooks/\S+", request.headers["user-agent"])
    assert request.headers["x-tenant"] == "acme"
    assert request.content == encode_payload(PAYLOAD)
    assert b" " not in request.content.replace(b"caf\xc3\xa9 \xe2\x9c\x93", b"")  # compact
    assert json.loads(request.content) == PAYLOAD


def test_per_attempt_timeouts_default_to_5s_connect_and_10s_read(
    make_sender: Callable[..., Sender],
) -> None:
    consumer = Script(200)
    make_sender(consumer).deliver(PAYLOAD, event="e")
    make_sender(consumer, connect_timeout=1, read_timeout=3).deliver(PAYLOAD, event="e")

    default, custom = (r.extensions["timeout"] for r in consumer.requests)
    assert (default["connect"], default["read"]) == (5.0, 10.0)
    assert (custom["connect"], custom["read"]) == (1.0, 3.0)


# -- retryable failures --------------------------------------------------------------------

RETRYABLE: dict[str, tuple[Answer, str]] = {
    "connect error": (fail(httpx.ConnectError, "[Errno 111] Connection refused"), "connect"),
    "read timeout": (fail(httpx.ReadTimeout, "timed out"), "timeout"),
    "connect timeout": (fail(httpx.ConnectTimeout, "timed out"), "timeout"),
    "reset": (fail(httpx.RemoteProtocolError, "peer closed connection"), "protocol"),
    "500": (500, "500"),
    "502": (502, "502"),
    "503": (503, "503"),
    "429": (429, "429"),
}


@pytest.mark.parametrize("case", RETRYABLE)
def test_retryable_failures_are_retried_on_schedule(
    make_sender: Callable[..., Sender], clock: FakeClock, case: str
) -> None:
    failure, outcome = RETRYABLE[case]
    consumer = Script(failure, failure, 200)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    assert delivery.status == "delivered"
    assert [a.outcome for a in delivery.attempts] == [outcome, outcome, "200"]
    assert offsets(delivery) == [0.0, 5.0, 35.0]
    assert [a.delay_s for a in delivery.attempts] == [5.0, 30.0, None]
    assert clock.sleeps == [5.0, 30.0]
    assert len(consumer.requests) == 3


def test_error_messages_name_the_failure(make_sender: Callable[..., Sender]) -> None:
    consumer = Script(
        fail(httpx.ConnectError, "[Errno 111] Connection refused"),
        fail(httpx.ReadTimeout, "The read operation timed out"),
        fail(httpx.ConnectTimeout, ""),
    )
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    messages = [a.error_message for a in delivery.attempts]
    assert messages == [
        "connection failed: [Errno 111] Connection refused",
        "read timeout: The read operation timed out",
        "connect timeout: ConnectTimeout",
    ]


def test_an_exception_from_an_in_process_app_is_recorded_and_retried(
    make_sender: Callable[..., Sender],
) -> None:
    def crash(request: httpx.Request) -> httpx.Response:
        raise ValueError("app bug")

    delivery = make_sender(Script(crash, 200)).deliver(PAYLOAD, event="e")

    assert delivery.status == "delivered"
    first = delivery.attempts[0]
    assert (first.error_kind, first.error_message) == ("error", "ValueError: app bug")


def test_exhausted_retries_are_dead_lettered_with_every_attempt(
    make_sender: Callable[..., Sender],
) -> None:
    consumer = Script(503)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    assert delivery.status == "dead-lettered"
    assert delivery.reason == "exhausted"
    assert delivery.detail == "3 attempts failed, retry policy 'test' exhausted; last: status 503"
    assert len(delivery.attempts) == 3 == len(consumer.requests)
    assert delivery.attempts[-1].delay_s is None


def test_standard_preset_makes_10_attempts_over_75h35m(make_sender: Callable[..., Sender]) -> None:
    policy = dataclasses.replace(PRESETS["standard"], jitter=0.0)
    delivery = make_sender(Script(500), retry=policy).deliver(PAYLOAD, event="e")

    minute, hour = 60, 3600
    expected = [0, 5, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 14 * hour]
    expected += [20 * hour, 24 * hour]
    times = [sum(expected[: i + 1]) for i in range(len(expected))]
    assert len(delivery.attempts) == 10
    assert offsets(delivery) == times
    assert offsets(delivery)[-1] == 75 * hour + 35 * minute + 5
    assert delivery.reason == "exhausted"


def test_svix_preset_makes_8_attempts_over_27h35m(make_sender: Callable[..., Sender]) -> None:
    policy = dataclasses.replace(PRESETS["svix"], jitter=0.0)
    delivery = make_sender(Script(500), retry=policy).deliver(PAYLOAD, event="e")

    assert len(delivery.attempts) == 8
    assert offsets(delivery)[-1] == 27 * 3600 + 35 * 60 + 5


def test_jitter_stretches_delays_within_bounds_and_is_seeded(
    make_sender: Callable[..., Sender],
) -> None:
    policy = RetryPolicy("jittery", (100.0,) * 20, jitter=0.1)
    first = make_sender(Script(500), retry=policy, clock=FakeClock(), rng=random.Random(7))
    second = make_sender(Script(500), retry=policy, clock=FakeClock(), rng=random.Random(7))

    delays = [a.delay_s for a in first.deliver(PAYLOAD, event="e").attempts[:-1]]
    again = [a.delay_s for a in second.deliver(PAYLOAD, event="e").attempts[:-1]]
    assert delays == again
    assert all(d is not None and 100.0 <= d <= 110.0 for d in delays)
    assert len(set(delays)) > 1  # jitter actually varies


def test_none_preset_makes_a_single_attempt(
    make_sender: Callable[..., Sender], clock: FakeClock
) -> None:
    delivery = make_sender(Script(500), retry="none").deliver(PAYLOAD, event="e")

    assert len(delivery.attempts) == 1
    assert delivery.status == "dead-lettered"
    assert clock.sleeps == []


def test_retries_with_respx_route(clock: FakeClock) -> None:
    router = respx.MockRouter(assert_all_called=True)
    route = router.post(URL).mock(side_effect=[httpx.Response(502), httpx.Response(201)])
    with Sender(
        URL, transport=httpx.MockTransport(router.handler), retry=TWO_RETRIES, clock=clock
    ) as sender:
        delivery = sender.deliver(PAYLOAD, event="e")

    assert route.call_count == 2
    assert delivery.status == "delivered"
    assert offsets(delivery) == [0.0, 5.0]


# -- Retry-After ---------------------------------------------------------------------------


def answer(status: int, retry_after: str) -> httpx.Response:
    return httpx.Response(status, headers={"Retry-After": retry_after})


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_delta_seconds_lengthens_the_delay(
    make_sender: Callable[..., Sender], status: int
) -> None:
    delivery = make_sender(Script(answer(status, "120"), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s == 120.0
    assert delivery.attempts[0].delay_s == 120.0
    assert offsets(delivery) == [0.0, 120.0]


def test_retry_after_shorter_than_the_schedule_does_not_shorten_it(
    make_sender: Callable[..., Sender],
) -> None:
    delivery = make_sender(Script(answer(429, "0"), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s == 0.0  # "0" is valid (RFC 9110 §10.2.3)
    assert offsets(delivery) == [0.0, 5.0]


def test_retry_after_zero_with_a_zero_schedule_retries_at_once(
    make_sender: Callable[..., Sender],
) -> None:
    policy = RetryPolicy("now", (0.0,), jitter=0.0)
    delivery = make_sender(Script(answer(429, "0"), 200), retry=policy).deliver(PAYLOAD, event="e")

    assert offsets(delivery) == [0.0, 0.0]


def test_retry_after_http_date_is_relative_to_the_clock(make_sender: Callable[..., Sender]) -> None:
    when = email.utils.formatdate(START + 600, usegmt=True)
    delivery = make_sender(Script(answer(503, when), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s == 600.0
    assert offsets(delivery) == [0.0, 600.0]


def test_retry_after_is_capped_at_schedule_plus_two_hours(
    make_sender: Callable[..., Sender],
) -> None:
    delivery = make_sender(Script(answer(429, "999999"), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s == 999999.0
    assert delivery.attempts[0].delay_s == 5.0 + 2 * 3600


def test_retry_after_cap_is_configurable(make_sender: Callable[..., Sender]) -> None:
    policy = dataclasses.replace(TWO_RETRIES, retry_after_cap=60.0)
    consumer = Script(answer(429, "999999"), 200)
    delivery = make_sender(consumer, retry=policy).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].delay_s == 65.0


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "", "Sun, 99 Foo 1994 25:00:00 GMT"])
def test_invalid_retry_after_is_ignored(make_sender: Callable[..., Sender], value: str) -> None:
    delivery = make_sender(Script(answer(429, value), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s is None
    assert offsets(delivery) == [0.0, 5.0]


def test_retry_after_on_500_is_recorded_but_not_honoured(
    make_sender: Callable[..., Sender],
) -> None:
    delivery = make_sender(Script(answer(500, "120"), 200)).deliver(PAYLOAD, event="e")

    assert delivery.attempts[0].retry_after_s == 120.0
    assert offsets(delivery) == [0.0, 5.0]


# -- failures that stop at once ------------------------------------------------------------


def test_410_gone_stops_at_once(make_sender: Callable[..., Sender], clock: FakeClock) -> None:
    consumer = Script(410, 200)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    assert delivery.status == "dead-lettered"
    assert delivery.reason == "gone"
    assert len(consumer.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_failures_and_never_followed(
    make_sender: Callable[..., Sender], status: int
) -> None:
    consumer = Script(
        httpx.Response(status, headers={"Location": "http://127.0.0.1:9/elsewhere"}), 200
    )
    # Even a client configured to follow redirects must not follow them for a delivery.
    client = httpx.Client(transport=httpx.MockTransport(consumer), follow_redirects=True)
    with client:
        delivery = make_sender(consumer, client=client).deliver(PAYLOAD, event="e")

    assert len(consumer.requests) == 1
    assert delivery.status == "dead-lettered"
    assert delivery.reason == "redirect"
    assert delivery.attempts[0].status == status
    assert delivery.detail is not None and "/elsewhere" in delivery.detail


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_not_retried(make_sender: Callable[..., Sender], status: int) -> None:
    consumer = Script(status, 200)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    assert len(consumer.requests) == 1
    assert (delivery.status, delivery.reason) == ("dead-lettered", "rejected")
    assert delivery.detail == f"status {status}: not retried (only 5xx, 429 and network errors are)"


# -- identity, payload, credentials --------------------------------------------------------


def test_payload_bytes_and_id_are_identical_on_every_attempt(
    make_sender: Callable[..., Sender],
) -> None:
    consumer = Script(500, fail(httpx.ReadTimeout), 200)
    delivery = make_sender(consumer).deliver(PAYLOAD, event="transaction.create")

    bodies = {r.content for r in consumer.requests}
    assert bodies == {delivery.body}
    assert len(consumer.requests) == 3
    assert re.fullmatch(r"[0-9a-f]{32}", delivery.id)
    assert delivery.event == "transaction.create"


def test_a_caller_key_becomes_the_delivery_id(make_sender: Callable[..., Sender]) -> None:
    sender = make_sender(Script(200))
    first = sender.deliver(PAYLOAD, event="e")
    again = sender.deliver(PAYLOAD, event="e", key=first.id)
    other = sender.deliver(PAYLOAD, event="e")

    assert again.id == first.id
    assert other.id != first.id


class MintingSource:
    """Like a JWT source: a new credential on every call."""

    def __init__(self) -> None:
        self.calls = 0

    def headers(self) -> dict[str, str]:
        self.calls += 1
        return {"Authorization": f"Bearer minted-token-{self.calls:04d}"}


def test_credentials_are_fetched_fresh_for_every_attempt(
    make_sender: Callable[..., Sender],
) -> None:
    consumer = Script(503, 503, 200)
    source = MintingSource()
    delivery = make_sender(consumer, auth=source).deliver(PAYLOAD, event="e")

    assert source.calls == 3
    sent = [r.headers["authorization"] for r in consumer.requests]
    assert sent == [f"Bearer minted-token-{n:04d}" for n in (1, 2, 3)]
    assert all(a.request_headers["authorization"] == PLACEHOLDER for a in delivery.attempts)


def test_a_failing_header_source_is_a_sender_error_not_a_consumer_failure(
    make_sender: Callable[..., Sender],
) -> None:
    class Broken:
        def headers(self) -> dict[str, str]:
            raise RuntimeError("key file unreadable")

    with pytest.raises(DeliveryError, match="auth header source failed: key file unreadable"):
        make_sender(Script(200), auth=Broken()).deliver(PAYLOAD, event="e")


# -- redaction -----------------------------------------------------------------------------

SECRET = "hunter2-api-key-value"


def echo_everything(request: httpx.Request) -> httpx.Response:
    """A careless consumer: echoes the request headers in its body and a header."""
    headers = dict(request.headers)
    return httpx.Response(
        500, json={"you sent": headers}, headers={"X-Debug": headers.get("x-api-key", "")}
    )


def test_secrets_never_appear_in_records(make_sender: Callable[..., Sender]) -> None:
    consumer = Script(
        echo_everything,
        fail(httpx.ConnectError, f"refused while sending key={SECRET} token=minted-token-0002"),
        200,
    )
    redactor = Redactor([SECRET])
    sender = make_sender(
        consumer, auth=MintingSource(), headers={"X-Api-Key": SECRET}, redactor=redactor
    )
    delivery = sender.deliver(PAYLOAD, event="e")

    dumped = json.dumps(delivery.to_json())
    assert SECRET not in dumped
    assert "minted-token-" not in dumped  # the auth source's values are secrets too
    assert consumer.requests[0].headers["x-api-key"] == SECRET  # but they were sent
    first, second, _ = delivery.attempts
    assert first.request_headers["x-api-key"] == PLACEHOLDER
    assert PLACEHOLDER in first.body_excerpt
    assert first.response_headers["x-debug"] == PLACEHOLDER
    assert second.error_message == (
        f"connection failed: refused while sending key={PLACEHOLDER} token={PLACEHOLDER}"
    )


def test_secrets_never_appear_in_dead_letter_detail(make_sender: Callable[..., Sender]) -> None:
    consumer = Script(fail(httpx.ConnectError, f"bad {SECRET}"))
    sender = make_sender(consumer, redactor=Redactor([SECRET]))
    delivery = sender.deliver(PAYLOAD, event="e")

    assert delivery.detail == (
        "3 attempts failed, retry policy 'test' exhausted; "
        f"last: connect: connection failed: bad {PLACEHOLDER}"
    )


# -- the answer body -----------------------------------------------------------------------


def test_body_excerpt_is_bounded_and_a_huge_body_is_not_read(
    make_sender: Callable[..., Sender],
) -> None:
    pulled = 0

    def ten_megabytes() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(160):
            pulled += 1
            yield b"x" * 65536

    consumer = Script(lambda request: httpx.Response(200, content=ten_megabytes()))
    delivery = make_sender(consumer).deliver(PAYLOAD, event="e")

    attempt = delivery.attempts[0]
    assert len(attempt.body_excerpt) == DEFAULT_BODY_LIMIT
    assert attempt.body_truncated
    assert pulled <= 2  # stopped reading after the bound, not after 10 MB


@pytest.mark.parametrize(("body", "truncated"), [(b"abcd", False), (b"abcde", True)])
def test_body_limit_boundary(
    make_sender: Callable[..., Sender], body: bytes, truncated: bool
) -> None:
    consumer = Script(lambda request: httpx.Response(200, content=iter([body[:2], body[2:]])))
    attempt = make_sender(consumer, body_limit=4).deliver(PAYLOAD, event="e").attempts[0]

    assert (attempt.body_excerpt, attempt.body_truncated) == ("abcd", truncated)


def test_a_body_broken_after_a_2xx_status_is_recorded_but_still_delivered(
    make_sender: Callable[..., Sender],
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        def chunks() -> Iterator[bytes]:
            yield b"partial"
            raise httpx.ReadError("connection reset by peer", request=request)

        return httpx.Response(200, content=chunks())

    delivery = make_sender(Script(broken)).deliver(PAYLOAD, event="e")

    attempt = delivery.attempts[0]
    assert delivery.status == "delivered"
    assert attempt.body_excerpt == "partial"
    assert attempt.error_kind == "protocol"
    assert attempt.error_message == "ReadError: connection reset by peer"


# -- records -------------------------------------------------------------------------------


def test_records_round_trip_through_json(make_sender: Callable[..., Sender]) -> None:
    delivery = make_sender(Script(answer(429, "7"), 200)).deliver(PAYLOAD, event="e")

    data = json.loads(json.dumps(delivery.to_json()))
    again = Delivery.from_json(data)
    assert again == delivery
    assert again.body == delivery.body
    assert data["attempts"][0]["retry_after_s"] == 7.0
    assert data["policy"] == "test"
    assert data["url"] == URL


# -- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "127.0.0.1:8000/hooks", "https://", "", "http://[::1"]
)
def test_a_url_without_http_scheme_or_host_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match=r"is not an absolute http\(s\) URL; write it with"):
        Sender(url)


def test_a_url_password_is_redacted_from_records(make_sender: Callable[..., Sender]) -> None:
    with Sender(
        "http://user:s3cret-pass@127.0.0.1:9/webhooks",
        transport=httpx.MockTransport(Script(200)),
        clock=FakeClock(),
    ) as sender:
        delivery = sender.deliver(PAYLOAD, event="e")

    assert "s3cret-pass" not in json.dumps(delivery.to_json())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("connect_timeout", -1.0, "connect timeout -1.0 must be a number of seconds > 0"),
        ("read_timeout", 0.0, "read timeout 0.0 must be"),
        ("read_timeout", float("nan"), "read timeout nan must be"),
        ("body_limit", -1, "body_limit -1 must be"),
        ("max_connections", 0, "max_connections 0 must be at least 1"),
        ("retry", "fast", "unknown retry policy 'fast'"),
    ],
)
def test_bad_options_are_usage_errors(option: str, value: object, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        Sender(URL, **{option: value})  # type: ignore[arg-type]


def test_a_client_together_with_tls_options_is_a_usage_error() -> None:
    with httpx.Client() as client, pytest.raises(UsageError, match="configure those on the client"):
        Sender(URL, client=client, ca_bundle="ca.pem")


def test_a_payload_that_is_not_json_is_a_usage_error(make_sender: Callable[..., Sender]) -> None:
    with pytest.raises(UsageError, match="payload for event 'e' is not JSON-serialisable"):
        make_sender(Script(200)).deliver({"when": object()}, event="e")


def test_an_injected_client_is_not_closed_by_the_sender() -> None:
    client = httpx.Client(transport=httpx.MockTransport(Script(200)))
    with Sender(URL, client=client, clock=FakeClock()) as sender:
        sender.deliver(PAYLOAD, event="e")
    assert not client.is_closed
    client.close()


def test_delivering_with_a_closed_sender_is_a_sender_error() -> None:
    sender = Sender(URL, transport=httpx.MockTransport(Script(200)), clock=FakeClock())
    sender.close()
    with pytest.raises(DeliveryError, match="the sender's HTTP client is closed"):
        sender.deliver(PAYLOAD, event="e")


def test_bytes_payloads_are_sent_unchanged_and_logged_as_json() -> None:
    body = b'{"event":"create","transaction":{"id":"7"}}'
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(204)

    with Sender("https://consumer.example/hook", transport=httpx.MockTransport(handler)) as sender:
        delivery = sender.deliver(body, event="transaction.create")
    assert seen == [body]
    assert delivery.to_json()["payload"] == {"event": "create", "transaction": {"id": "7"}}


def test_a_connect_guard_keeps_the_senders_own_network_on_httpx() -> None:
    """serve's egress guard wraps the network backend of the sender's own client: the sender
    still owns that network (its deadline, its wording), and only httpx applies the guard."""
    import httpx

    from mockserver.errors import UsageError

    seen: list[object] = []

    def guard(backend: object) -> object:
        seen.append(backend)
        return backend

    with Sender("http://127.0.0.1:9/hook", connect_guard=guard, retry="none") as sender:  # type: ignore[arg-type]
        assert sender.engine_for("auto") == "httpx"
        sender.prepare()
    assert len(seen) == 1  # wrapped once, when the client was made
    with pytest.raises(UsageError, match="pass no client or transport"):
        Sender("http://h/", connect_guard=guard, transport=httpx.MockTransport(lambda r: None))  # type: ignore[arg-type]
