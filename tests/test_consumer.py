"""The reference consumer: refuses every forged credential, tolerates every compatible body.

In process through ``werkzeug.test.Client`` (no socket), and over real loopback for HTTP, HTTPS
with a throwaway CA, and concurrent duplicates. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from werkzeug.test import Client, TestResponse

from contracts import schemas, strategies
from mockserver.auth import AuthScheme, BasicAuth, BearerAuth, JwtAuth, NoAuth
from mockserver.auth_spec import parse_auth_spec
from mockserver.consumer import MAX_BODY_BYTES, Consumer, ConsumerConfig, create_consumer
from mockserver.delivery.pacing import TokenBucket
from mockserver.errors import UsageError
from mockserver.serving import serve_consumer

HS_SECRET = secrets.token_hex(32)  # 64 bytes: no InsecureKeyLengthWarning even for HS512
ISS, AUD = "https://record360.example", "consumer-api"
TOKEN = "tok-" + secrets.token_urlsafe(24)
PATH = "/webhooks"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def clock_of(now: FakeClock) -> Any:
    class Clock:  # the Clock protocol over the callable, as the consumer builds it
        def now(self) -> float:
            return now()

        def sleep(self, seconds: float) -> None:
            raise AssertionError("a limiter never sleeps")

    return Clock()


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "rsa.pem").write_text(_pem(rsa.generate_private_key(65537, 2048)))
    (folder / "ec.pem").write_text(_pem(ec.generate_private_key(ec.SECP256R1())))
    return {"rs256": folder / "rsa.pem", "es256": folder / "ec.pem"}


SCHEME_IDS = [
    "basic", "basic-key-as-user", "bearer", "bearer-custom", "api-key",
    "jwt-hs256", "jwt-hs256-iss-aud", "jwt-rs256", "jwt-es256", "jwt-es256-bare",
]  # fmt: skip


def build_scheme(name: str, key_files: dict[str, Path]) -> AuthScheme:
    claims = {"iss": ISS, "aud": AUD}
    return {
        "basic": lambda: parse_auth_spec("basic:alice:p@ss:wörd"),
        "basic-key-as-user": lambda: parse_auth_spec(f"basic:{TOKEN}:"),
        "bearer": lambda: parse_auth_spec(f"bearer:{TOKEN}"),
        "bearer-custom": lambda: parse_auth_spec(
            f"bearer:{TOKEN}", header="X-Webhook-Token", scheme_prefix="Token"
        ),
        "api-key": lambda: parse_auth_spec(f"api-key:X-Api-Key:{TOKEN}"),
        "jwt-hs256": lambda: parse_auth_spec(f"jwt:hs256:{HS_SECRET}"),
        "jwt-hs256-iss-aud": lambda: parse_auth_spec(f"jwt:hs256:{HS_SECRET}", claims=claims),
        "jwt-rs256": lambda: parse_auth_spec(f"jwt:rs256:@{key_files['rs256']}", claims=claims),
        "jwt-es256": lambda: parse_auth_spec(f"jwt:es256:@{key_files['es256']}"),
        "jwt-es256-bare": lambda: parse_auth_spec(
            f"jwt:es256:@{key_files['es256']}", header="X-Jwt", scheme_prefix=""
        ),
    }[name]()


@pytest.fixture(params=SCHEME_IDS)
def scheme(request: pytest.FixtureRequest, key_files: dict[str, Path]) -> AuthScheme:
    return build_scheme(request.param, key_files)


def body(id_: str = "40849", event: str = "transaction.create") -> dict[str, Any]:
    payload = schemas.example(event)
    payload[schemas.spec_for(event).resource]["id"] = id_
    return payload


def post(
    app: Consumer,
    payload: object,
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json",
    data: bytes | None = None,
) -> TestResponse:
    raw = json.dumps(payload).encode() if data is None else data
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return Client(app).post(PATH, data=raw, headers=all_headers)


def consumer(auth: AuthScheme | None = None, **options: Any) -> Consumer:
    now = options.pop("now", time.monotonic)
    return create_consumer(ConsumerConfig(auth=auth, **options), now=now)


# --- auth -----------------------------------------------------------------------------------


def test_correct_credentials_are_accepted(scheme: AuthScheme) -> None:
    app = consumer(scheme)
    response = post(app, body(), scheme.headers())
    assert (response.status_code, response.json) == (202, {"status": "accepted"})


def test_every_negative_variant_is_refused_with_401(
    scheme: AuthScheme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = consumer(scheme)
    variants = scheme.negative_variants()
    assert any(v.name == "missing" for v in variants)
    answers = {}
    for n, variant in enumerate(variants):
        response = post(app, body(str(n)), variant.make_headers())
        answers[variant.name] = response.status_code
        assert response.json == {"error": "missing or invalid credentials"}
        assert "realm=" in response.headers["WWW-Authenticate"]
        shown = response.get_data(as_text=True) + str(response.headers)
        assert not any(secret in shown for secret in scheme.secrets())
    assert set(answers.values()) == {401}, answers
    assert app.ledger()["processed"] == []
    assert app.ledger()["rejected"] == {"401": len(variants)}
    assert not any(secret in caplog.text for secret in scheme.secrets())


def test_jwt_variants_cover_the_attacks(key_files: dict[str, Path]) -> None:
    names = {v.name for v in build_scheme("jwt-rs256", key_files).negative_variants()}
    assert names >= {"expired", "not-yet-valid", "alg-none", "wrong-alg", "bad-signature"}
    assert names >= {"wrong-issuer", "wrong-audience"}


def test_challenges_name_the_scheme_and_nothing_else(key_files: dict[str, Path]) -> None:
    expected = {
        "basic": 'Basic realm="webhooks", charset="UTF-8"',
        "bearer": 'Bearer realm="webhooks"',
        "bearer-custom": 'Token realm="webhooks"',
        "api-key": 'ApiKey realm="webhooks"',
        "jwt-hs256": 'Bearer realm="webhooks"',
    }
    for name, challenge in expected.items():
        response = post(consumer(build_scheme(name, key_files)), body())
        assert response.headers.get_all("WWW-Authenticate") == [challenge]


@pytest.mark.parametrize("word", ["bearer", "BEARER", "Bearer"])
def test_the_scheme_word_is_case_insensitive(word: str) -> None:
    response = post(consumer(BearerAuth(TOKEN)), body(), {"Authorization": f"{word} {TOKEN}"})
    assert response.status_code == 202


@pytest.mark.parametrize(
    "value",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer tökén", ""],
    # Stable ids (the token is random): pytest-xdist workers must collect the same tests.
    ids=["longer", "shorter", "basic-scheme", "no-scheme", "non-ascii", "empty"],
)
def test_near_misses_are_refused(value: str) -> None:
    response = post(consumer(BearerAuth(TOKEN)), body(), {"Authorization": value})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "credentials", ["bob:p@ss:wörd", "alice:p@ss:word", "alice", "alice:p@ss:wörd ", ":"]
)
def test_basic_wrong_user_or_password_is_refused(credentials: str) -> None:
    encoded = base64.b64encode(credentials.encode()).decode()
    response = post(
        consumer(BasicAuth("alice", "p@ss:wörd")), body(), {"Authorization": f"Basic {encoded}"}
    )
    assert response.status_code == 401


def test_basic_with_invalid_utf8_is_refused() -> None:
    encoded = base64.b64encode(b"alice:\xff\xfe").decode()
    response = post(
        consumer(BasicAuth("alice", "x")), body(), {"Authorization": f"Basic {encoded}"}
    )
    assert response.status_code == 401


def test_jwt_leeway_allows_clock_skew_and_no_more() -> None:
    # exp 20 s ago: inside a 60 s leeway, outside a zero one (RFC 7519 §4.1.4).
    skewed = JwtAuth("HS256", HS_SECRET, ttl=60, clock=lambda: time.time() - 80)
    assert post(consumer(skewed), body(), skewed.headers()).status_code == 202
    assert post(consumer(skewed, leeway_s=0), body(), skewed.headers()).status_code == 401


def test_a_short_hmac_secret_still_verifies_quietly(caplog: pytest.LogCaptureFixture) -> None:
    scheme = parse_auth_spec("jwt:hs256:short")
    app = consumer(scheme)  # warnings are errors in this suite: PyJWT's would fail the test
    assert post(app, body(), scheme.headers()).status_code == 202
    forged = {v.name: v for v in scheme.negative_variants()}["wrong-secret"]
    assert post(app, body("2"), forged.make_headers()).status_code == 401
    assert "shorter than RFC 7518" in caplog.text
    assert "short" not in caplog.text.replace("shorter", "")


@pytest.mark.parametrize("auth", [None, NoAuth()])
def test_no_auth_accepts_requests_without_credentials(auth: AuthScheme | None) -> None:
    response = post(consumer(auth), body(), {"Authorization": "Bearer anything"})
    assert response.status_code == 202
    assert "WWW-Authenticate" not in response.headers


# --- rate limit ---------------------------------------------------------------------------------


def test_a_burst_above_the_limit_gets_429_then_is_accepted_after_retry_after() -> None:
    clock = FakeClock()
    app = consumer(BearerAuth(TOKEN), rate=0.25, burst=3, now=clock)
    headers = BearerAuth(TOKEN).headers()
    assert [post(app, body(str(n)), headers).status_code for n in range(3)] == [202] * 3

    limited = post(app, body("late"), headers)
    assert limited.status_code == 429
    assert limited.json == {"error": "rate limit exceeded"}
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after == 4  # one token every 4 s

    clock.t += retry_after - 1
    assert post(app, body("late"), headers).status_code == 429
    clock.t += 1
    assert post(app, body("late"), headers).json == {"status": "accepted"}
    assert app.ledger()["rejected"] == {"429": 2}


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock()
    app = consumer(rate=50, burst=1, now=clock)
    assert post(app, body("1")).status_code == 202
    limited = post(app, body("2"))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    clock.t += 1
    assert post(app, body("2")).status_code == 202


def test_auth_is_checked_before_the_rate_limit() -> None:
    clock = FakeClock()
    app = consumer(BearerAuth(TOKEN), rate=1, burst=1, now=clock)
    assert [post(app, body(str(n))).status_code for n in range(3)] == [401] * 3
    assert post(app, body(), BearerAuth(TOKEN).headers()).status_code == 202  # no token spent
    assert post(app, body("x")).status_code == 401  # still 401, not 429, without credentials


def test_the_bucket_refills_up_to_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, clock_of(clock), burst=2)
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.5]
    clock.t += 3600
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.5]


def test_unlimited_when_no_rate() -> None:
    app = consumer(burst=1)
    assert {post(app, body(str(n))).status_code for n in range(30)} == {202}


@pytest.mark.parametrize(
    "options",
    [{"rate": 0}, {"rate": -1}, {"rate": float("inf")}, {"burst": 0}, {"path": "webhooks"},
     {"path": "/ledger"}, {"path": "/<x>"}, {"leeway_s": -1}],
)  # fmt: skip
def test_bad_config_is_a_usage_error(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        ConsumerConfig(**options)


# --- tolerance ----------------------------------------------------------------------------------


@settings(max_examples=50)
@given(strategies.webhook_payloads())
def test_every_valid_body_is_accepted(payload: dict[str, Any]) -> None:
    response = post(consumer(BearerAuth(TOKEN)), payload, BearerAuth(TOKEN).headers())
    assert (response.status_code, response.json) == (202, {"status": "accepted"})


@settings(max_examples=50)
@given(strategies.evolved_payloads())
def test_every_evolved_body_is_accepted(evolved: strategies.EvolvedPayload) -> None:
    response = post(consumer(BearerAuth(TOKEN)), evolved.payload, BearerAuth(TOKEN).headers())
    assert (response.status_code, response.json) == (202, {"status": "accepted"})


@settings(max_examples=50)
@given(strategies.unknown_events())
def test_unknown_events_are_acknowledged_and_ignored(payload: dict[str, Any]) -> None:
    app = consumer(BearerAuth(TOKEN))
    response = post(app, payload, BearerAuth(TOKEN).headers())
    assert (response.status_code, response.json) == (202, {"status": "ignored"})
    assert app.ledger()["processed"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "create", "transaction": {"id": "x" * 255, "check_in": None, "photos": []}},
        {"transaction": {"new": {"deep": [1, None]}, "id": "Ab/é 漢字\n\"'<>"}, "event": "create"},
        {"event": "completed", "task": {"id": "1"}, "meta": {"api_version": 3}},
        {"event": "create", "transaction": {"id": "7"}, "work_order": {"id": "9"}},
    ],
    ids=["long-id-null-empty", "reordered-opaque", "extra-top-level", "extra-resource"],
)
def test_minimal_and_odd_bodies_are_accepted(payload: dict[str, Any]) -> None:
    app = consumer()
    assert post(app, payload).json == {"status": "accepted"}
    resource = "task" if "task" in payload else "transaction"
    assert app.ledger()["processed"][0]["id"] == payload[resource]["id"]


@pytest.mark.parametrize(
    "payload",
    [
        {}, {"event": "create"}, {"event": "create", "transaction": {}},
        {"event": "create", "transaction": {"id": None}}, {"event": "create", "transaction": None},
        {"event": "create", "transaction": []}, {"event": "create", "transaction": {"id": ""}},
        {"event": "create", "transaction": {"id": {"nested": 1}}}, {"event": 7, "task": {"id": "1"}},
        {"event": "create", "task": {"id": "1"}}, {"work_order": {"id": "1"}},
        {"event": "create", "transaction": {"id": True}},
        {"event": "create", "transaction": {"id": 1.5}},
    ],
)  # fmt: skip
def test_bodies_without_a_usable_event_or_id_are_ignored_not_refused(
    payload: dict[str, Any],
) -> None:
    app = consumer()
    response = post(app, payload)
    assert (response.status_code, response.json) == (202, {"status": "ignored"})
    assert app.ledger()["ignored"] == 1


def test_a_numeric_id_from_a_lenient_producer_is_that_id() -> None:
    app = consumer()
    assert post(app, {"event": "create", "transaction": {"id": 40849}}).status_code == 202
    assert post(app, body("40849")).json == {"status": "duplicate"}


def test_charset_and_json_suffix_media_types_are_accepted() -> None:
    app = consumer()
    for n, media in enumerate(
        ["application/json; charset=utf-8", "Application/JSON", "application/webhook+json"]
    ):
        assert post(app, body(str(n)), content_type=media).status_code == 202


# --- dedupe and ledger ---------------------------------------------------------------------------


def test_the_same_delivery_twice_is_processed_once() -> None:
    app = consumer()
    first, second = post(app, body()), post(app, body())
    assert (first.status_code, first.json) == (202, {"status": "accepted"})
    assert (second.status_code, second.json) == (200, {"status": "duplicate"})
    assert app.ledger() == {
        "processed": [{"event": "transaction.create", "id": "40849", "count": 1}],
        "accepted": 1,
        "duplicates": 1,
        "ignored": 0,
        "rejected": {},
    }


def test_ids_are_compared_exactly() -> None:
    app = consumer()
    for id_ in ("AbC-1", "abc-1", "ABC-1", "abc-1 ", "abc-1"):
        post(app, body(id_))
    post(app, body("abc-1", "task.completed"))  # another event: another key
    keys = [(p["event"], p["id"], p["count"]) for p in app.ledger()["processed"]]
    assert keys == [
        ("transaction.create", "AbC-1", 1),
        ("transaction.create", "abc-1", 1),
        ("transaction.create", "ABC-1", 1),
        ("transaction.create", "abc-1 ", 1),
        ("task.completed", "abc-1", 1),
    ]
    assert app.ledger()["duplicates"] == 1


def test_the_ledger_endpoint_serves_the_same_data() -> None:
    app = consumer(BearerAuth(TOKEN))
    post(app, body(), BearerAuth(TOKEN).headers())
    post(app, body())
    post(app, {"event": "archived", "transaction": {"id": "1"}}, BearerAuth(TOKEN).headers())
    response = Client(app).get("/ledger")  # no credentials: it holds no secrets
    assert response.status_code == 200
    ledger = response.get_json()
    assert ledger == app.ledger()
    assert (ledger["rejected"], ledger["ignored"]) == ({"401": 1}, 1)
    assert Client(app).get("/healthz").json == {"status": "ok"}


def test_ledger_returns_a_copy() -> None:
    app = consumer()
    post(app, body())
    app.ledger()["processed"].clear()
    assert len(app.ledger()["processed"]) == 1


# --- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"create"', "application/json", 400),
        (b"null", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"event": "create", "transaction": {"id": "\xff"}}', "application/json", 400),
        (b"[" * 100_000, "application/json", 400),
        (b"1" * 5000, "application/json", 400),
        (json.dumps(body()).encode(), "text/plain", 415),
        (json.dumps(body()).encode(), "application/x-www-form-urlencoded", 415),
        (json.dumps(body()).encode(), "", 415),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", "application/json", 413),
    ],
    ids=[
        "text", "array", "string", "null", "empty", "bad-utf8", "deep", "huge-int", "text-plain",
        "form", "no-type", "too-large",
    ],
)  # fmt: skip
def test_bad_requests_get_a_json_4xx(data: bytes, content_type: str, status: int) -> None:
    app = consumer()
    response = post(app, None, data=data, content_type=content_type)
    assert response.status_code == status
    assert set(response.get_json()) == {"error"}
    assert app.ledger()["rejected"] == {str(status): 1}


def test_other_methods_and_paths_get_json_errors() -> None:
    client = Client(consumer())
    wrong_method = client.get(PATH)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert set(wrong_method.get_json()) == {"error"}
    missing = client.post("/other", json=body())
    assert (missing.status_code, set(missing.get_json())) == (404, {"error"})


def test_a_custom_path() -> None:
    app = consumer(path="/hooks/r360")
    assert Client(app).post("/hooks/r360", json=body()).status_code == 202
    assert Client(app).post(PATH, json=body()).status_code == 404


# --- over loopback --------------------------------------------------------------------------------


def test_over_http(key_files: dict[str, Path]) -> None:
    scheme = build_scheme("jwt-rs256", key_files)
    with serve_consumer(ConsumerConfig(auth=scheme)) as running, httpx.Client() as client:
        assert running.url.startswith("http://127.0.0.1:") and running.url.endswith(PATH)
        assert running.ca_pem_path is None
        good = client.post(running.url, json=body(), headers=scheme.headers())
        forged = {v.name: v for v in scheme.negative_variants()}["alg-none"]
        bad = client.post(running.url, json=body("2"), headers=forged.make_headers())
        ledger = client.get(running.ledger_url).json()
    assert (good.status_code, bad.status_code) == (202, 401)
    assert ledger["processed"] == [{"event": "transaction.create", "id": "40849", "count": 1}]


def test_over_https_with_the_throwaway_ca() -> None:
    scheme = BasicAuth("alice", "s3cret-pass")
    with serve_consumer(ConsumerConfig(auth=scheme), tls=True) as running:
        assert running.url.startswith("https://127.0.0.1:")
        assert running.ca_pem_path is not None
        ca_pem = running.ca_pem_path
        trust = ssl.create_default_context(cafile=str(ca_pem))
        with httpx.Client(verify=trust) as client:
            answer = client.post(running.url, json=body(), headers=scheme.headers())
            by_name = client.post(
                running.url.replace("127.0.0.1", "localhost"), json=body(), headers=scheme.headers()
            )
            with client.stream("GET", running.base_url + "/healthz") as health:
                ssl_object = health.extensions["network_stream"].get_extra_info("ssl_object")
                tls_version = ssl_object.version()
        with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(running.base_url + "/healthz")  # the system store does not know the CA
    assert (answer.status_code, by_name.json()) == (202, {"status": "duplicate"})
    assert tls_version in ("TLSv1.2", "TLSv1.3")
    assert not ca_pem.exists()


def test_concurrent_duplicates_are_processed_once() -> None:
    with serve_consumer(ConsumerConfig(auth=BearerAuth(TOKEN))) as running:
        barrier = threading.Barrier(16)
        statuses: list[int] = []

        def send() -> None:
            with httpx.Client() as client:
                barrier.wait()
                answer = client.post(running.url, json=body(), headers=BearerAuth(TOKEN).headers())
                statuses.append(answer.status_code)

        threads = [threading.Thread(target=send) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ledger = running.consumer.ledger()
    assert sorted(statuses) == [200] * 15 + [202]
    assert ledger["processed"] == [{"event": "transaction.create", "id": "40849", "count": 1}]
    assert (ledger["accepted"], ledger["duplicates"]) == (1, 15)
