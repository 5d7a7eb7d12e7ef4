"""The data shapes of the control API's OpenAPI document (``components.schemas``) and its limits.

Split from :mod:`~mockserver.server.openapi` (which holds the paths) to keep each module small;
the same rule holds: the event names, retry presets, delivery states and limits come from the
code that enforces them, so the document cannot drift from the server.
"""

from __future__ import annotations

from typing import Any

from contracts import schemas
from mockserver.delivery.retry import PRESETS
from mockserver.server.store import STATES
from mockserver.server.subscriptions import (
    ALL_EVENTS,
    ID_PATTERN,
    MAX_CONCURRENCY,
    MAX_RATE,
    MAX_URL_LENGTH,
)

__all__ = [
    "BUSY",
    "CURSOR_PATTERN",
    "MAX_COUNT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_SEED",
    "MAX_TIME",
    "components",
    "error_response",
    "json_content",
    "ref",
]

MAX_COUNT = 100
MAX_LIMIT = 500
MAX_SEED = 2**64 - 1
MAX_OFFSET = 1_000_000
#: The latest ``since``/``until``: 9999-12-31T23:59:59Z, in Unix seconds.
MAX_TIME = 253_402_300_799
CURSOR_PATTERN = r"^[1-9][0-9]{0,17}$"

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_INTEGER = {"type": ["integer", "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict[str, Any]:
    return json_content(ref("Error"), description)


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


#: The answer to a write when the queue is full.
BUSY = {
    "description": "The delivery queue is full; try again after Retry-After seconds.",
    "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}},
    "content": {"application/json": {"schema": ref("Error")}},
}


def components() -> dict[str, Any]:
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
        "next_attempt_at": {
            **_NULLABLE_NUMBER,
            "description": "Unix time the next attempt is due; null when final or on the wire.",
        },
        "reason": _NULLABLE_STRING,
        "detail": _NULLABLE_STRING,
    }
    return {
        "Error": _closed({"error": {"type": "string", "minLength": 1}}),
        "Health": _closed(
            {
                "status": {"const": "ok"},
                "subscriptions": {"type": "integer", "minimum": 0},
                "queued": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Deliveries waiting for their first attempt.",
                },
                "retrying": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Deliveries waiting for their next attempt.",
                },
                "in_flight": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Attempts on the wire.",
                },
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
                "attempts": {"type": "array", "items": ref("Attempt")},
            }
        ),
        "DeliveryPage": _closed(
            {
                "deliveries": {"type": "array", "items": ref("DeliverySummary")},
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
                "concurrency": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_CONCURRENCY,
                    "description": "Attempts on the wire at once (default: half the workers).",
                },
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
                "concurrency": _NULLABLE_INTEGER,
                "ca_bundle": _NULLABLE_STRING,
                "insecure": {"type": "boolean"},
                "source": {"enum": ["config", "api"]},
            }
        ),
        "SubscriptionList": _closed(
            {"subscriptions": {"type": "array", "items": ref("Subscription")}}
        ),
    }
