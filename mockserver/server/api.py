"""Reading control-API requests: JSON bodies, query parameters and the ``POST /v1/events`` body.

Every problem is a Werkzeug :class:`~werkzeug.exceptions.HTTPException` with a description that
says what is wrong; :mod:`mockserver.server` turns it into ``{"error": description}``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from contracts import schemas
from contracts.bulk import sample_body
from mockserver.server.openapi import MAX_COUNT, MAX_SEED, MAX_TIME

__all__ = [
    "MAX_BODY_BYTES",
    "Trigger",
    "int_param",
    "json_response",
    "parse_trigger",
    "read_object",
    "time_param",
]

#: Control-API bodies are small; a webhook payload is a few KiB.
MAX_BODY_BYTES = 1024 * 1024
_TRIGGER_KEYS = ("payload", "event", "evolved", "seed", "count")
_MISSING: Any = object()


def json_response(data: Any, status: int = 200, headers: Any = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, headers=headers, content_type="application/json")


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def read_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, whatever the Content-Type (``curl -d`` sends a form's)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not data.strip():
        raise BadRequest("the body is empty; send a JSON object")
    try:
        text = data.decode("utf-8-sig")  # RFC 8259 §8.1: UTF-8; a BOM may be ignored
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 JSON") from None
    try:
        body = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def int_param(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    text = args.get(name)
    if text is None:
        return default
    try:
        value = int(text.strip()) if text.strip().lstrip("+-").isdigit() else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadRequest(f"query parameter {name}={text!r} must be an integer from {low} to {high}")
    return value


def time_param(args: Mapping[str, str], name: str) -> float | None:
    """A Unix time query parameter (seconds, fractions allowed), as ``created_at`` shows them."""
    text = args.get(name)
    if text is None:
        return None
    try:
        value = float(text) if text.strip() == text and "_" not in text else math.nan
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_TIME:  # also refuses NaN and infinities
        raise BadRequest(
            f"query parameter {name}={text!r} must be a Unix time in seconds, from 0 to "
            f"{MAX_TIME} (as created_at shows them)"
        )
    return value


def _integer(body: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, not {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, slots=True)
class Trigger:
    """The bodies a ``POST /v1/events`` asks for: ``(event, payload, changes)`` each."""

    bodies: list[tuple[str, Any, tuple[str, ...]]]
    #: The seed the bodies were generated from (``None`` for a given payload).
    seed: int | None


def parse_trigger(body: Mapping[str, Any]) -> Trigger:
    """Validate a trigger request and make its bodies: the given payload, or generated ones."""
    unknown = sorted(set(body) - set(_TRIGGER_KEYS))
    if unknown:
        raise BadRequest(f"unknown key {unknown[0]!r}; use {', '.join(_TRIGGER_KEYS)}")
    count = _integer(body, "count", 1, 1, MAX_COUNT)
    known = [spec.name for spec in schemas.known_events()]
    event = body.get("event", _MISSING)
    if event is not _MISSING and (not isinstance(event, str) or event not in [*known, "any"]):
        raise BadRequest(f"unknown event {_short(event)}; use {', '.join(known)} or any")
    if "payload" in body:
        return Trigger(_given(body, event if isinstance(event, str) else None, known, count), None)
    evolved = body.get("evolved", False)
    if not isinstance(evolved, bool):
        raise BadRequest(f"evolved must be true or false, not {_short(evolved)}")
    seed = _integer(body, "seed", random.SystemRandom().randrange(2**32), 0, MAX_SEED)
    wanted = event if isinstance(event, str) and event != "any" else None
    bodies = []
    for n in range(count):  # seed, seed+1, ...: body n is `r360-webhooks example --seed SEED+n`
        sample = sample_body(wanted, seed=(seed + n) % (MAX_SEED + 1), evolved=evolved)
        bodies.append((sample.event, sample.payload, sample.names))
    return Trigger(bodies, seed)


def _given(
    body: Mapping[str, Any], event: str | None, known: list[str], count: int
) -> list[tuple[str, Any, tuple[str, ...]]]:
    payload = body["payload"]
    if not isinstance(payload, dict):
        raise BadRequest(f"payload must be a JSON object, not {_kind(payload)}")
    extra = [key for key in ("evolved", "seed") if key in body]
    if extra:
        raise BadRequest(f"a given payload is sent as it is; drop {' and '.join(extra)}")
    if event == "any":
        raise BadRequest(f"event 'any' is for generated bodies; name one of {', '.join(known)}")
    if event is None:
        event = schemas.event_of(payload)
    if event is None:
        raise BadRequest(
            f"the payload is not a known v1 event (event {_short(payload.get('event'))}, keys "
            f'{_short(sorted(payload)[:6])}); add "event": one of {", ".join(known)}'
        )
    return [(event, payload, ())] * count
