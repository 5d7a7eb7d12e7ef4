"""The control API in-process (``werkzeug.test.Client``, no socket); deliveries go to a sink."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
from openapi_spec_validator import validate
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from contracts import schemas
from contracts.bulk import sample_body
from tests._server import Sink, running_app, subscription, wait_for_status, wait_until

TOKEN = "s3cret-bearer-token-value"


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def client(sink: Sink) -> Any:
    everything = subscription(id="all", auth=f"bearer:{TOKEN}")
    tasks = subscription(id="tasks", events=["task.completed"], url="http://127.0.0.1:9/tasks")
    with running_app(everything, tasks, sink=sink) as app:
        yield Client(app)


def trigger(client: Client, **body: Any) -> list[dict[str, Any]]:
    response = client.post("/v1/events", json=body)
    assert response.status_code == 202, response.json
    deliveries: list[dict[str, Any]] = response.json["deliveries"]
    return deliveries


def test_generated_events_are_delivered_and_reproducible(client: Client, sink: Sink) -> None:
    accepted = trigger(client, event="transaction.create", seed=7, count=3)

    assert [(d["subscription"], d["event"]) for d in accepted] == [
        ("all", "transaction.create")
    ] * 3
    for item in accepted:
        record = wait_for_status(client, item["id"], "delivered")
        assert record["attempt_count"] == 1 and record["last_status"] == 202
    expected = [sample_body("transaction.create", seed=7 + n).payload for n in range(3)]
    assert sorted(map(json.dumps, sink.bodies())) == sorted(map(json.dumps, expected))


def test_a_given_payload_is_sent_as_is_and_its_event_detected(client: Client, sink: Sink) -> None:
    payload = schemas.example("task.completed")
    accepted = trigger(client, payload=payload)

    assert sorted(d["subscription"] for d in accepted) == ["all", "tasks"]
    assert {d["event"] for d in accepted} == {"task.completed"}
    for item in accepted:
        wait_for_status(client, item["id"], "delivered")
    assert sink.bodies() == [payload, payload]


def test_events_reach_only_matching_subscriptions(client: Client) -> None:
    assert [d["subscription"] for d in trigger(client, event="transaction.create")] == ["all"]
    assert len(trigger(client, event="task.completed")) == 2


def test_no_matching_subscription_accepts_nothing() -> None:
    only_tasks = subscription(id="tasks", events="task.completed")
    with running_app(only_tasks) as app:
        response = Client(app).post("/v1/events", json={"event": "transaction.create"})
    assert (response.status_code, response.json["deliveries"]) == (202, [])


def test_evolved_bodies_name_their_changes(client: Client) -> None:
    [item] = trigger(client, event="transaction.create", evolved=True, seed=3)
    assert item["changes"] == list(sample_body("transaction.create", seed=3, evolved=True).names)
    assert wait_for_status(client, item["id"])["changes"] == item["changes"]


def test_listing_filters_and_pages(client: Client) -> None:
    made = trigger(client, event="task.completed", count=3) + trigger(client, event="any", seed=1)
    for item in made:
        wait_for_status(client, item["id"])
    newest_first = [item["id"] for item in reversed(made)]

    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/deliveries", query_string=query).json
        assert page["total"] == len(made)
        seen += [d["id"] for d in page["deliveries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first

    created = sorted(client.get(f"/v1/deliveries/{item['id']}").json["created_at"] for item in made)
    window = {"since": created[1], "until": created[-1]}
    inside = client.get("/v1/deliveries", query_string=window).json
    assert inside["total"] == sum(created[1] <= t < created[-1] for t in created) >= 1

    offset = client.get("/v1/deliveries", query_string={"offset": 5, "limit": 1}).json
    assert [d["id"] for d in offset["deliveries"]] == newest_first[5:6]
    tasks = client.get("/v1/deliveries", query_string={"subscription": "tasks"}).json
    assert {d["subscription"] for d in tasks["deliveries"]} == {"tasks"}
    assert tasks["total"] == 3
    by_event = client.get("/v1/deliveries", query_string={"event": "task.completed"}).json
    assert by_event["total"] == 6
    delivered = client.get("/v1/deliveries", query_string={"status": "delivered"}).json
    assert delivered["total"] == len(made)
    assert client.get("/v1/deliveries", query_string={"status": "pending"}).json["total"] == 0


def test_a_delivery_shows_every_attempt_and_no_secret(client: Client) -> None:
    [item] = trigger(client, event="transaction.create")
    record = wait_for_status(client, item["id"], "delivered")

    [attempt] = record["attempts"]
    assert attempt["request_headers"]["authorization"] == "[REDACTED]"
    assert record["payload"]["event"] == "create"
    for path in ("/v1/deliveries", f"/v1/deliveries/{item['id']}", "/v1/subscriptions"):
        assert TOKEN not in client.get(path).get_data(as_text=True)


def test_redeliver_sends_the_same_payload_again_and_links_it(client: Client, sink: Sink) -> None:
    [item] = trigger(client, event="transaction.create")
    wait_for_status(client, item["id"], "delivered")

    response = client.post(f"/v1/deliveries/{item['id']}/redeliver", json={})

    assert response.status_code == 202
    [again] = response.json["deliveries"]
    assert again["redelivery_of"] == item["id"] and again["id"] != item["id"]
    record = wait_for_status(client, again["id"], "delivered")
    assert record["redelivery_of"] == item["id"]
    first, second = sink.requests
    assert first.content == second.content


def test_redeliver_to_a_deleted_subscription_is_a_conflict(client: Client) -> None:
    [item] = trigger(client, event="transaction.create")
    wait_for_status(client, item["id"])
    assert client.delete("/v1/subscriptions/all").status_code == 204

    response = client.post(f"/v1/deliveries/{item['id']}/redeliver", json={})

    assert response.status_code == 409
    assert "subscription 'all'" in response.json["error"]


def test_subscriptions_crud(client: Client) -> None:
    created = client.post(
        "/v1/subscriptions",
        json={"id": "new", "url": "https://127.0.0.1:8443/h", "events": "task.completed"},
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/subscriptions/new"
    assert created.json["events"] == ["task.completed"] and created.json["source"] == "api"
    listed = client.get("/v1/subscriptions").json["subscriptions"]
    assert [s["id"] for s in listed] == ["all", "tasks", "new"]
    assert client.get("/v1/subscriptions/new").json == created.json
    again = client.post("/v1/subscriptions", json={"id": "new", "url": "http://127.0.0.1:1/"})
    assert again.status_code == 409 and "'new' is taken" in again.json["error"]

    assert client.delete("/v1/subscriptions/new").status_code == 204
    assert client.get("/v1/subscriptions/new").status_code == 404
    assert client.delete("/v1/subscriptions/new").status_code == 404


def test_api_subscriptions_without_an_id_get_one(client: Client) -> None:
    response = client.post("/v1/subscriptions", json={"url": "http://127.0.0.1:1/"})
    assert response.status_code == 201
    assert response.json["id"].startswith("sub_")


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({"auth": f"bearer:{TOKEN}"}, {"auth": "bearer:[REDACTED]"}),
        ({"auth": f"basic:alice:{TOKEN}"}, {"auth": "basic:alice:[REDACTED]"}),
        ({"auth": f"api-key:X-Api-Key:{TOKEN}"}, {"auth": "api-key:X-Api-Key:[REDACTED]"}),
        ({"auth": f"jwt:hs256:{TOKEN}"}, {"auth": "jwt:hs256:[REDACTED]"}),
        (
            {"headers": {"Authorization": f"Token {TOKEN}"}},
            {"headers": {"Authorization": "[REDACTED]"}},
        ),
        (  # user info becomes Basic credentials and leaves the URL
            {"url": f"http://user:{TOKEN}@127.0.0.1:1/h"},
            {"url": "http://127.0.0.1:1/h", "auth": "basic:user:[REDACTED]"},
        ),
        ({"auth": f"basic:{TOKEN}:"}, {"auth": "basic:[REDACTED]:"}),  # the user-id is the key
    ],
)
def test_subscription_secrets_are_redacted(
    client: Client, settings: dict[str, Any], shown: dict[str, Any]
) -> None:
    body = {"url": "http://127.0.0.1:1/h"} | settings
    response = client.post("/v1/subscriptions", json=body)
    assert response.status_code == 201, response.json
    assert response.json.items() >= shown.items()
    for path in ("/v1/subscriptions", f"/v1/subscriptions/{response.json['id']}"):
        assert TOKEN not in client.get(path).get_data(as_text=True)


BAD_REQUESTS = [
    # (method, path, body (JSON text), status, fragment of the message)
    ("POST", "/v1/events", "{not json", 400, "not valid JSON"),
    ("POST", "/v1/events", "", 400, "the body is empty"),
    ("POST", "/v1/events", "[1]", 400, "must be a JSON object, not an array"),
    ("POST", "/v1/events", '{"seed": NaN}', 400, "NaN is not JSON"),
    ("POST", "/v1/events", b"\xff\xfe", 400, "not UTF-8 JSON"),
    (
        "POST",
        "/v1/events",
        '{"event": "transaction.delete"}',
        400,
        'unknown event "transaction.delete"',
    ),
    ("POST", "/v1/events", '{"count": 0}', 400, "count must be an integer from 1 to 100, not 0"),
    ("POST", "/v1/events", '{"count": 101}', 400, "count must be"),
    ("POST", "/v1/events", '{"count": true}', 400, "count must be"),
    ("POST", "/v1/events", '{"seed": -1}', 400, "seed must be an integer from 0"),
    ("POST", "/v1/events", '{"evolved": "yes"}', 400, "evolved must be true or false"),
    ("POST", "/v1/events", '{"colour": 1}', 400, "unknown key 'colour'"),
    ("POST", "/v1/events", '{"payload": []}', 400, "payload must be a JSON object"),
    ("POST", "/v1/events", '{"payload": {"x": 1}}', 400, "not a known v1 event"),
    ("POST", "/v1/events", '{"payload": {"x": 1}, "seed": 1}', 400, "drop seed"),
    (
        "POST",
        "/v1/events",
        '{"payload": {"x": 1}, "event": "any"}',
        400,
        "event 'any' is for generated",
    ),
    ("GET", "/v1/deliveries?limit=0", None, 400, "limit='0' must be an integer from 1 to 500"),
    ("GET", "/v1/deliveries?limit=501", None, 400, "limit='501'"),
    ("GET", "/v1/deliveries?limit=ten", None, 400, "limit='ten'"),
    ("GET", "/v1/deliveries?offset=-1", None, 400, "offset='-1'"),
    ("GET", "/v1/deliveries?status=done", None, 400, "status='done' must be one of pending"),
    ("GET", "/v1/deliveries?event=order.paid", None, 400, "event='order.paid'"),
    ("GET", "/v1/deliveries?cursor=abc", None, 400, "cursor 'abc' is not a next_cursor"),
    ("GET", "/v1/deliveries?since=yesterday", None, 400, "since='yesterday' must be a Unix time"),
    ("GET", "/v1/deliveries?until=-1", None, 400, "until='-1' must be a Unix time"),
    ("GET", "/v1/deliveries?until=nan", None, 400, "until='nan'"),
    ("GET", "/v1/deliveries?since=1e400", None, 400, "since='1e400'"),
    ("GET", "/v1/deliveries/nope", None, 404, "no delivery has id 'nope'"),
    ("POST", "/v1/deliveries/nope/redeliver", None, 404, "no delivery has id 'nope'"),
    ("GET", "/v1/subscriptions/nope", None, 404, "no subscription has id 'nope'"),
    ("DELETE", "/v1/subscriptions/nope", None, 404, "no subscription has id 'nope'"),
    ("POST", "/v1/subscriptions", "{}", 400, "key 'url': is required"),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "ftp://127.0.0.1/x"}',
        400,
        "not an absolute http(s) URL",
    ),
    ("POST", "/v1/subscriptions", '{"url": "http:///x"}', 400, "not an absolute http(s) URL"),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "events": "nope"}',
        400,
        "unknown event 'nope'",
    ),
    ("POST", "/v1/subscriptions", '{"url": "http://h/", "events": []}', 400, "key 'events'"),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "auth": "bearer:env:HOME"}',
        400,
        "the control API refuses them",
    ),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "auth": "basic:u:@/etc/passwd"}',
        400,
        "refuses them",
    ),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "headers": {"X-K": "env:HOME"}}',
        400,
        "refuses them",
    ),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "auth": "magic:x"}',
        400,
        "unknown auth scheme 'magic'",
    ),
    ("POST", "/v1/subscriptions", '{"url": "http://h/", "retry": "often"}', 400, "key 'retry'"),
    ("POST", "/v1/subscriptions", '{"url": "http://h/", "rate": 0}', 400, "key 'rate'"),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "concurrency": 0}',
        400,
        "key 'concurrency': must be attempts on the wire at once, from 1 to 256",
    ),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "ca_bundle": "/no/such.pem"}',
        400,
        "CA bundle /no/such.pem",
    ),
    ("POST", "/v1/subscriptions", '{"url": "http://h/", "insecure": "yes"}', 400, "key 'insecure'"),
    ("POST", "/v1/subscriptions", '{"url": "http://h/", "id": "a b"}', 400, "key 'id'"),
    (
        "POST",
        "/v1/subscriptions",
        '{"url": "http://h/", "colour": 1}',
        400,
        "key 'colour': unknown key",
    ),
    ("PUT", "/v1/events", None, 405, "method PUT is not allowed on /v1/events; use POST"),
    ("PATCH", "/v1/subscriptions", None, 405, "use GET, HEAD, POST"),
    ("GET", "/v2/events", None, 404, "no such endpoint: /v2/events"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "fragment"), BAD_REQUESTS)
def test_bad_requests_get_a_json_4xx_that_says_what_is_wrong(
    client: Client, method: str, path: str, body: str | bytes | None, status: int, fragment: str
) -> None:
    response = client.open(path, method=method, data=body, content_type="application/json")

    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert fragment in response.json["error"]


def test_method_not_allowed_names_the_allowed_ones(client: Client) -> None:
    response = client.delete("/v1/events")
    assert response.headers["Allow"] == "POST"


def test_a_body_over_one_mebibyte_is_413(client: Client) -> None:
    body = json.dumps({"payload": {"event": "create", "x": "a" * (1024 * 1024)}})
    response = client.post("/v1/events", data=body, content_type="application/json")
    assert response.status_code == 413 and "larger than" in response.json["error"]


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_write_that_a_page_could_send_cross_origin_is_415(
    client: Client, content_type: str
) -> None:
    """The content types of a "simple request" need no CORS preflight: a page could send them."""
    response = client.post(
        "/v1/events", data='{"event":"task.completed"}', content_type=content_type
    )
    assert response.status_code == 415
    assert "needs Content-Type: application/json" in response.json["error"]
    assert client.get("/v1/deliveries").json["total"] == 0  # nothing was queued


def test_an_unexpected_error_is_a_logged_json_500(client: Client, caplog: Any) -> None:
    app = client.application

    def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    app.add_view("/broken", "broken", broken)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="mockserver.server"):
        response = client.get("/broken")

    assert response.status_code == 500
    assert response.json == {"error": "internal server error; the server log has the details"}
    assert "GET /broken: unexpected error" in caplog.text


def test_a_full_queue_answers_429_with_retry_after() -> None:
    gate = threading.Event()
    with running_app(subscription(id="a"), sink=Sink(gate=gate), workers=1, queue=2) as app:
        client = Client(app)
        trigger(client, event="task.completed")  # taken by the worker, held by the gate
        wait_until(lambda: app.pool.in_flight == 1)

        response = client.post("/v1/events", json={"event": "task.completed", "count": 3})

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert "queue is full (0 of 2 waiting)" in response.json["error"]
        assert client.get("/v1/deliveries").json["total"] == 1  # all or nothing
        gate.set()


def test_deleting_a_subscription_cancels_its_queued_deliveries() -> None:
    gate = threading.Event()
    with running_app(subscription(id="a"), sink=Sink(gate=gate), workers=1) as app:
        client = Client(app)
        first, second = trigger(client, event="task.completed", count=2)
        wait_until(lambda: app.pool.in_flight == 1)
        client.delete("/v1/subscriptions/a")
        gate.set()

        assert wait_for_status(client, first["id"])["status"] == "delivered"
        cancelled = wait_for_status(client, second["id"])
    assert (cancelled["status"], cancelled["reason"]) == ("dead-lettered", "cancelled")
    assert "subscription 'a' was deleted" in cancelled["detail"]


@pytest.mark.parametrize(
    ("status", "reason", "detail"),
    [
        (500, "exhausted", "1 attempt failed, retry policy 'none' exhausted; last: status 500"),
        (400, "rejected", "status 400: not retried"),
        (410, "gone", "410 Gone"),
    ],
)
def test_failed_deliveries_are_dead_lettered_with_the_reason(
    status: int, reason: str, detail: str
) -> None:
    with running_app(subscription(id="a", retry="none"), sink=Sink(status=status)) as app:
        client = Client(app)
        [item] = trigger(client, event="task.completed")
        record = wait_for_status(client, item["id"])
    assert (record["status"], record["reason"]) == ("dead-lettered", reason)
    assert detail in record["detail"]


def test_rate_paces_one_subscription_without_holding_up_another() -> None:
    sink = Sink()
    paced = subscription(id="paced", rate=20.0, url="http://127.0.0.1:9/paced")
    free = subscription(id="free", url="http://127.0.0.1:9/free")
    with running_app(paced, free, sink=sink, workers=2) as app:
        client = Client(app)
        accepted = trigger(client, event="task.completed", count=5)
        for item in accepted:
            wait_for_status(client, item["id"], "delivered")

    arrivals = {"paced": [], "free": []}  # type: dict[str, list[float]]
    for request, at in zip(sink.requests, sink.times, strict=True):
        arrivals[request.url.path.strip("/")].append(at)
    paced_gaps = [b - a for a, b in zip(arrivals["paced"], arrivals["paced"][1:], strict=False)]
    assert min(paced_gaps) > 0.035  # 1/20 s apart, less scheduling noise
    assert arrivals["free"][-1] - arrivals["free"][0] < 0.15  # not paced, not held behind


def test_index_links_the_openapi_document(client: Client) -> None:
    response = client.get("/")
    assert response.mimetype == "text/html"
    assert 'href="/openapi.json"' in response.get_data(as_text=True)


def test_openapi_document_is_valid_and_lists_every_route(client: Client) -> None:
    document = client.get("/openapi.json").json
    validate(document)
    app = client.application
    routes = {
        (rule.rule.replace("<id>", "{id}"), method.lower())
        for rule in app.url_map.iter_rules()  # type: ignore[attr-defined]
        for method in rule.methods - {"HEAD"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == routes


def test_healthz_counts_deliveries_by_state(client: Client) -> None:
    [item] = trigger(client, event="transaction.create")
    wait_for_status(client, item["id"])
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["subscriptions"] == 2
    assert health["deliveries"]["delivered"] == 1 and health["queued"] == 0
    assert (health["retrying"], health["in_flight"]) == (0, 0)


def test_a_dashboard_can_replace_the_index_and_add_pages(client: Client) -> None:
    app: Any = client.application

    def index(request: Request) -> Response:
        return Response(f"{len(app.store)} deliveries", content_type="text/html")

    app.add_view("/", "index", index)
    app.add_view("/dashboard/<id>", "dashboard_delivery", lambda request, id: Response(id))

    assert client.get("/").get_data(as_text=True) == "0 deliveries"
    assert client.get("/dashboard/abc").get_data(as_text=True) == "abc"


def test_close_is_idempotent_and_stops_accepting() -> None:
    with running_app(subscription(id="a")) as app:
        client = Client(app)
        app.close()
        app.close()
        response = client.post("/v1/events", json={"event": "task.completed"})
    assert response.status_code == 503
    assert "shutting down" in response.json["error"]


def test_time_fields_are_unix_seconds(client: Client) -> None:
    before = time.time()
    [item] = trigger(client, event="transaction.create")
    record = wait_for_status(client, item["id"])
    assert before - 1 <= record["created_at"] <= record["updated_at"] <= time.time() + 1


def test_an_insecure_api_subscription_is_said_once_in_the_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mockserver.server"):
        body = {"id": "lax", "url": "https://127.0.0.1:1/", "insecure": True}
        assert client.post("/v1/subscriptions", json=body).status_code == 201
        assert (
            client.post("/v1/subscriptions", json={"url": "https://127.0.0.1:1/"}).status_code
            == 201
        )
    said = [r.getMessage() for r in caplog.records if "not verified" in r.getMessage()]
    assert said == [
        "warning: subscription lax: certificates are not verified (insecure); use only for tests"
    ]
