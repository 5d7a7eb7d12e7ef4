"""The control API of ``serve``, described as an OpenAPI 3.1 document (``GET /openapi.json``).

Built in Python rather than shipped as a file so that the event names, retry presets, delivery
states and limits come from the code that enforces them and cannot drift. The document is exact
on purpose: ``tests/test_server_schemathesis.py`` generates requests from it and checks every
answer against it, so a schema-valid request must be served and a schema-invalid one refused.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from contracts import schemas
from mockserver.delivery.retry import PRESETS
from mockserver.server.store import STATES
from mockserver.server.subscriptions import ALL_EVENTS, ID_PATTERN, MAX_RATE, MAX_URL_LENGTH

__all__ = ["MAX_COUNT", "MAX_LIMIT", "MAX_SEED", "openapi_document"]

MAX_COUNT = 100
MAX_LIMIT = 500
MAX_SEED = 2**64 - 1
MAX_OFFSET = 1_000_000
CURSOR_PATTERN = r"^[1-9][0-9]{0,17}$"

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_INTEGER = {"type": ["integer", "null"]}
_COUNT = {"type": "integer", "minimum": 0}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required is not None:
        schema["required"] = required
    return schema


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    """A response object: every property is always present."""
    return _object(properties, list(properties))


_BUSY = {
    "description": "The delivery queue is full; try again after Retry-After seconds.",
    "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}},
    "content": {"application/json": {"schema": _ref("Error")}},
}


def _schemas() -> dict[str, Any]:
    events = [spec.name for spec in schemas.known_events()]
    event_list = {"type": "array", "items": {"enum": [*events, ALL_EVENTS]}}
    count = {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_COUNT,
        "default": 1,
        "description": "How many bodies to send (each to every matching subscription).",
    }
    attempt = _closed(
        {
            "number": {"type": "integer"},
            "started_at": {"type": "number", "description": "Unix time"},
            "duration_s": {"type": "number"},
            "request_headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "status": _NULLABLE_INTEGER,
            "response_headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body_excerpt": {"type": "string"},
            "body_truncated": {"type": "boolean"},
            "error_kind": _NULLABLE_STRING,
            "error_message": _NULLABLE_STRING,
            "tls_failure": _NULLABLE_STRING,
            "retry_after_s": _NULLABLE_NUMBER,
            "delay_s": _NULLABLE_NUMBER,
        }
    )
    summary_properties = {
        "id": {"type": "string"},
        "subscription": {"type": "string"},
        "event": {"type": "string"},
        "status": {"enum": list(STATES)},
        "url": {"type": "string", "description": "The target, with any password redacted."},
        "created_at": {"type": "number", "description": "Unix time"},
        "updated_at": {"type": "number", "description": "Unix time"},
        "redelivery_of": _NULLABLE_STRING,
        "changes": {"type": "array", "items": {"type": "string"}},
        "attempt_count": {"type": "integer", "minimum": 0},
        "last_status": _NULLABLE_INTEGER,
        "reason": _NULLABLE_STRING,
        "detail": _NULLABLE_STRING,
    }
    return {
        "Error": _closed({"error": {"type": "string", "minLength": 1}}),
        "Health": _closed(
            {
                "status": {"const": "ok"},
                "subscriptions": {"type": "integer", "minimum": 0},
                "queued": {"type": "integer", "minimum": 0},
                "in_flight": {"type": "integer", "minimum": 0},
                "deliveries": _closed(
                    {state: {"type": "integer", "minimum": 0} for state in STATES}
                ),
            }
        ),
        "GenerateRequest": _object(
            {
                "event": {"enum": [*events, "any"], "default": "any"},
                "evolved": {"type": "boolean", "default": False},
                "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
                "count": count,
            }
        ),
        "PayloadRequest": _object(
            {
                "payload": {"type": "object", "description": "Sent as it is."},
                "event": {"enum": events, "description": "Default: detected from the payload."},
                "count": count,
            },
            ["payload"],
        ),
        "Accepted": _closed(
            {
                "seed": {**_NULLABLE_INTEGER, "description": "Replays the generated bodies."},
                "deliveries": {
                    "type": "array",
                    "items": _closed(
                        {
                            "id": {"type": "string"},
                            "subscription": {"type": "string"},
                            "event": {"type": "string"},
                            "changes": {"type": "array", "items": {"type": "string"}},
                            "redelivery_of": _NULLABLE_STRING,
                        }
                    ),
                },
            }
        ),
        "Attempt": attempt,
        "DeliverySummary": _closed(summary_properties),
        "Delivery": _closed(
            {
                **summary_properties,
                "policy": _NULLABLE_STRING,
                "payload": {"description": "The body sent."},
                "attempts": {"type": "array", "items": _ref("Attempt")},
            }
        ),
        "DeliveryPage": _closed(
            {
                "deliveries": {"type": "array", "items": _ref("DeliverySummary")},
                "total": {"type": "integer", "minimum": 0},
                "next_cursor": {**_NULLABLE_STRING, "pattern": CURSOR_PATTERN},
            }
        ),
        "SubscriptionRequest": _object(
            {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "url": {
                    "type": "string",
                    "pattern": "^https?://[^/?#@:\\s]+(:[0-9]{1,5})?([/?#]\\S*)?$",
                    "maxLength": MAX_URL_LENGTH,
                },
                "events": {
                    "anyOf": [{"enum": [*events, ALL_EVENTS]}, {**event_list, "minItems": 1}]
                },
                "auth": {"type": "string", "description": "An --auth SPEC with literal secrets."},
                "jwt_claims": {"type": "object", "additionalProperties": {"type": "string"}},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "retry": {"type": "string", "description": f"{', '.join(PRESETS)} or custom:…"},
                "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RATE},
                "ca_bundle": {"type": "string", "minLength": 1},
                "insecure": {"type": "boolean"},
            },
            ["url"],
        ),
        "Subscription": _closed(
            {
                "id": {"type": "string"},
                "url": {"type": "string"},
                "events": event_list,
                "auth": {**_NULLABLE_STRING, "description": "The scheme; secrets [REDACTED]."},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "retry": {"type": "string"},
                "rate": _NULLABLE_NUMBER,
                "ca_bundle": _NULLABLE_STRING,
                "insecure": {"type": "boolean"},
                "source": {"enum": ["config", "api"]},
            }
        ),
        "SubscriptionList": _closed(
            {"subscriptions": {"type": "array", "items": _ref("Subscription")}}
        ),
    }


def _paths() -> dict[str, Any]:
    events = [spec.name for spec in schemas.known_events()]
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = _error("No delivery or subscription has this id.")
    bad = _error("The request is malformed; the message says what is wrong.")
    too_large = _error("The body is larger than 1 MiB.")
    stopping = _error("The server is shutting down and accepts no new deliveries.")
    query = [
        {"name": "status", "in": "query", "schema": {"enum": list(STATES)}},
        {"name": "event", "in": "query", "schema": {"enum": events}},
        {"name": "subscription", "in": "query", "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
        },
        {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": CURSOR_PATTERN}},
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        },
    ]
    trigger_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [_ref("GenerateRequest"), _ref("PayloadRequest")]}
            }
        },
    }
    accepted = _json(_ref("Accepted"), "Accepted: each delivery is pending; poll its id.")
    html: dict[str, Any] = {"text/html": {"schema": {}}}
    return {
        "/": {
            "get": {
                "operationId": "index",
                "summary": "The dashboard (mockserver.server.dashboard): deliveries, newest first.",
                "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "HTML", "content": html}},
            }
        },
        "/deliveries/{id}": {
            "get": {
                "operationId": "delivery_page",
                "summary": "The dashboard's page of one delivery: attempts, payload, Redeliver.",
                "parameters": [id_param],
                "responses": {
                    "200": {"description": "HTML", "content": html},
                    # An id that is not one path segment matches no page: the API's JSON 404.
                    "404": {
                        "description": "No delivery has this id.",
                        "content": {**html, **not_found["content"]},
                    },
                },
            }
        },
        "/schemas": {
            "get": {
                "operationId": "schema_page",
                "summary": "The schema reference of the webhooks, as HTML.",
                "responses": {"200": {"description": "HTML", "content": html}},
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "responses": {"200": _json(_ref("Health"), "The server is up.")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "responses": {"200": _json({"type": "object"}, "This document.")},
            }
        },
        "/v1/events": {
            "post": {
                "operationId": "trigger",
                "summary": "Send an event (given or generated) to every matching subscription.",
                "requestBody": trigger_body,
                "responses": {
                    "202": accepted,
                    "400": bad,
                    "413": too_large,
                    "429": _BUSY,
                    "503": stopping,
                },
            }
        },
        "/v1/deliveries": {
            "get": {
                "operationId": "list_deliveries",
                "summary": "Deliveries kept in memory, newest first.",
                "parameters": query,
                "responses": {"200": _json(_ref("DeliveryPage"), "One page."), "400": bad},
            }
        },
        "/v1/deliveries/{id}": {
            "get": {
                "operationId": "get_delivery",
                "parameters": [id_param],
                "responses": {
                    "200": _json(_ref("Delivery"), "The delivery with every attempt, redacted."),
                    "404": not_found,
                },
            }
        },
        "/v1/deliveries/{id}/redeliver": {
            "post": {
                "operationId": "redeliver",
                "summary": "Send the same payload to the same subscription again.",
                "parameters": [id_param],
                "requestBody": {  # required: every write says application/json (guard.py)
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "202": accepted,
                    "404": not_found,
                    "409": _error("The delivery's subscription was deleted."),
                    "429": _BUSY,
                    "503": stopping,
                },
            }
        },
        "/v1/subscriptions": {
            "get": {
                "operationId": "list_subscriptions",
                "responses": {"200": _json(_ref("SubscriptionList"), "Every subscription.")},
            },
            "post": {
                "operationId": "create_subscription",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SubscriptionRequest")}},
                },
                "responses": {
                    "201": {
                        **_json(_ref("Subscription"), "Created."),
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    "400": bad,
                    "409": _error("The id is taken, or there are too many subscriptions."),
                    "413": too_large,
                },
            },
        },
        "/login": {
            "get": {
                "operationId": "login_page",
                "summary": "The sign-in form of a server started with --api-token.",
                "responses": {"200": {"description": "HTML", "content": html}},
            },
            "post": {
                "operationId": "sign_in",
                "summary": "The API token in, a session cookie (HttpOnly, SameSite=Strict) out.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["token"],
                                "properties": {"token": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json({"type": "object"}, "Signed in; the cookie is set."),
                    "400": bad,
                    "401": _error("Not the API token (or the server has none)."),
                    "413": too_large,
                },
            },
        },
        "/v1/subscriptions/{id}": {
            "get": {
                "operationId": "get_subscription",
                "parameters": [id_param],
                "responses": {"200": _json(_ref("Subscription"), "Found."), "404": not_found},
            },
            "delete": {
                "operationId": "delete_subscription",
                "summary": "Delete it; its queued deliveries are not sent.",
                "parameters": [id_param],
                "responses": {"204": {"description": "Deleted."}, "404": not_found},
            },
        },
    }


def _guarded(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation may meet the guard (:mod:`mockserver.server.guard`): a foreign Host or
    Origin (403), a missing API token (401); every write a body that is not JSON (415)."""
    refused = _error("A Host that is not this server, or a request from another origin.")
    token = _error("The server was started with --api-token and none was sent.")
    unsupported = _error("A write whose Content-Type is not application/json.")
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.setdefault("403", refused)
            if path != "/login":
                responses.setdefault("401", token)
            if method == "post":
                responses.setdefault("415", unsupported)
    return paths


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "r360-webhooks mock server",
            "version": "1",
            "description": "Control API of `r360-webhooks serve`: trigger Record360 webhook "
            "events, inspect and redeliver deliveries, manage subscriptions. Writes need "
            "`Content-Type: application/json`; the Host must name this server; requests from "
            "another origin are refused; with `--api-token`, every call needs "
            "`Authorization: Bearer TOKEN` (or the dashboard's session cookie). Errors are JSON "
            '`{"error": "..."}` with a 4xx status.',
        },
        "paths": _guarded(_paths()),
        "security": [{}, {"bearer": []}],
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the control API: built once and shared, so do not mutate it."""
    return _document()
