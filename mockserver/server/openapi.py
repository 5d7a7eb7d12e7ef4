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
from mockserver.server._openapi_components import (
    BUSY,
    CURSOR_PATTERN,
    MAX_COUNT,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_SEED,
    MAX_TIME,
    components,
    error_response,
    json_content,
    ref,
)
from mockserver.server.store import STATES

__all__ = [
    "CURSOR_PATTERN",
    "MAX_COUNT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_SEED",
    "MAX_TIME",
    "openapi_document",
]


def _paths() -> dict[str, Any]:
    events = [spec.name for spec in schemas.known_events()]
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = error_response("No delivery or subscription has this id.")
    bad = error_response("The request is malformed; the message says what is wrong.")
    too_large = error_response("The body is larger than 1 MiB.")
    stopping = error_response("The server is shutting down and accepts no new deliveries.")
    query = [
        {"name": "status", "in": "query", "schema": {"enum": list(STATES)}},
        {"name": "event", "in": "query", "schema": {"enum": events}},
        {"name": "subscription", "in": "query", "schema": {"type": "string"}},
        {
            "name": "since",
            "in": "query",
            "description": "Only deliveries created at or after this Unix time.",
            "schema": {"type": "number", "minimum": 0, "maximum": MAX_TIME},
        },
        {
            "name": "until",
            "in": "query",
            "description": "Only deliveries created before this Unix time.",
            "schema": {"type": "number", "minimum": 0, "maximum": MAX_TIME},
        },
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
                "schema": {"oneOf": [ref("GenerateRequest"), ref("PayloadRequest")]}
            }
        },
    }
    accepted = json_content(
        ref("Accepted"), "Accepted and committed: each delivery is pending; poll its id."
    )
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
                "responses": {"200": json_content(ref("Health"), "The server is up.")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "responses": {"200": json_content({"type": "object"}, "This document.")},
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
                    "429": BUSY,
                    "503": stopping,
                },
            }
        },
        "/v1/deliveries": {
            "get": {
                "operationId": "list_deliveries",
                "summary": "Deliveries in the state database, newest first; filters combine.",
                "parameters": query,
                "responses": {"200": json_content(ref("DeliveryPage"), "One page."), "400": bad},
            }
        },
        "/v1/deliveries/{id}": {
            "get": {
                "operationId": "get_delivery",
                "parameters": [id_param],
                "responses": {
                    "200": json_content(
                        ref("Delivery"), "The delivery with every attempt, redacted."
                    ),
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
                    "409": error_response("The delivery's subscription was deleted."),
                    "429": BUSY,
                    "503": stopping,
                },
            }
        },
        "/v1/subscriptions": {
            "get": {
                "operationId": "list_subscriptions",
                "responses": {"200": json_content(ref("SubscriptionList"), "Every subscription.")},
            },
            "post": {
                "operationId": "create_subscription",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("SubscriptionRequest")}},
                },
                "responses": {
                    "201": {
                        **json_content(ref("Subscription"), "Created."),
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    "400": bad,
                    "409": error_response("The id is taken, or there are too many subscriptions."),
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
                    "200": json_content({"type": "object"}, "Signed in; the cookie is set."),
                    "400": bad,
                    "401": error_response("Not the API token (or the server has none)."),
                    "413": too_large,
                },
            },
        },
        "/v1/subscriptions/{id}": {
            "get": {
                "operationId": "get_subscription",
                "parameters": [id_param],
                "responses": {"200": json_content(ref("Subscription"), "Found."), "404": not_found},
            },
            "delete": {
                "operationId": "delete_subscription",
                "summary": "Delete it; its waiting deliveries are dead-lettered (cancelled).",
                "parameters": [id_param],
                "responses": {"204": {"description": "Deleted."}, "404": not_found},
            },
        },
    }


def _guarded(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation may meet the guard (:mod:`mockserver.server.guard`): a foreign Host or
    Origin (403), a missing API token (401); every write a body that is not JSON (415)."""
    refused = error_response("A Host that is not this server, or a request from another origin.")
    token = error_response("The server was started with --api-token and none was sent.")
    unsupported = error_response("A write whose Content-Type is not application/json.")
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
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the control API: built once and shared, so do not mutate it."""
    return _document()
