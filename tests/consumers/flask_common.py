"""What a Flask team writes once and shares between its webhook apps: auth, the ledger, events.

Nothing here imports the verifier or the reference consumer: it is plain Flask, PyJWT and
``hmac``, configured from the :class:`~mockserver.auth.AuthScheme` the sender uses (the zoo's
stand-in for the settings a team would read from its environment).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from collections.abc import Callable
from typing import Any

import jwt
from flask import Flask, jsonify
from werkzeug.datastructures import Headers

from mockserver.auth import ApiKeyAuth, AuthScheme, BasicAuth, BearerAuth, JwtAuth, NoAuth

#: The v1 events we handle: raw ``event`` value -> the key of the resource it carries.
KNOWN_EVENTS = {"create": "transaction", "completed": "task"}

#: Clock skew we tolerate on ``exp``/``nbf``/``iat`` (RFC 7519 §4.1.4).
JWT_LEEWAY_S = 30

AUTH_FAILED = {"error": "unauthorized"}


def contract_event(event: object) -> str | None:
    """``create`` -> ``transaction.create``; None for an event we do not handle."""
    if isinstance(event, str) and event in KNOWN_EVENTS:
        return f"{KNOWN_EVENTS[event]}.{event}"
    return None


def resource_id(body: dict[str, Any]) -> str | None:
    """The id of the resource a known event carries, read tolerantly (None when absent)."""
    resource = body.get(KNOWN_EVENTS.get(str(body.get("event")), ""))
    if not isinstance(resource, dict):
        return None
    value = resource.get("id")
    return value if isinstance(value, str) and value else None


class Ledger:
    """What was processed, per (event, id); served at ``GET /ledger`` in the reference format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def record_once(self, event: str, id_: str) -> bool:
        """Record a first delivery; False (and nothing recorded) for a repeat."""
        with self._lock:
            if (event, id_) in self._counts:
                return False
            self._counts[(event, id_)] = 1
            return True

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._counts

    def record(self, event: str, id_: str) -> None:
        """Count a delivery, repeats included."""
        with self._lock:
            self._counts[(event, id_)] = self._counts.get((event, id_), 0) + 1

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "processed": [
                    {"event": event, "id": id_, "count": count}
                    for (event, id_), count in self._counts.items()
                ]
            }


def add_ledger_route(app: Flask, ledger: Ledger) -> None:
    app.add_url_rule("/ledger", "ledger", lambda: jsonify(ledger.as_json()), methods=["GET"])


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticator(scheme: AuthScheme | None) -> Callable[[Headers], bool]:
    """The careful check: the header must be there, and the credential must be the right one."""
    if scheme is None or isinstance(scheme, NoAuth):
        return lambda headers: True
    if isinstance(scheme, JwtAuth):
        return _jwt_check(scheme)
    if isinstance(scheme, BasicAuth):
        user, password = scheme.user, scheme.password

        def basic(headers: Headers) -> bool:
            auth = _parse_basic(headers.get("Authorization", ""))
            return auth is not None and _same(auth[0], user) & _same(auth[1], password)

        return basic
    if isinstance(scheme, ApiKeyAuth):
        name, value = scheme.header_name, scheme.value
        return lambda headers: _same(headers.get(name, ""), value)
    if isinstance(scheme, BearerAuth):
        token = scheme.token

        def bearer(headers: Headers) -> bool:
            given = _prefixed(headers, scheme.header_name, scheme.scheme_prefix)
            return given is not None and _same(given, token)

        return bearer
    raise ValueError(f"unsupported auth: {scheme.describe()}")


def _parse_basic(header: str) -> tuple[str, str] | None:
    word, _, token = header.partition(" ")
    if word.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def bearer_token(headers: Headers, scheme: JwtAuth) -> str | None:
    return _prefixed(headers, scheme.header_name, scheme.scheme_prefix)


def _prefixed(headers: Headers, name: str, prefix: str) -> str | None:
    """The credential after ``prefix`` (``Bearer``) in header ``name``; bare when no prefix."""
    value = headers.get(name, "")
    if not prefix:
        return value or None
    word, _, token = value.partition(" ")
    return (token.strip() or None) if word.lower() == prefix.lower() else None


def _jwt_check(scheme: JwtAuth) -> Callable[[Headers], bool]:
    key, algorithm = scheme.verification_key, scheme.algorithm
    issuer, audience = scheme.issuer, scheme.audience

    def check(headers: Headers) -> bool:
        token = bearer_token(headers, scheme)
        if token is None:
            return False
        try:
            jwt.decode(
                token,
                key,
                algorithms=[algorithm],  # pinned: never the token's own "alg"
                leeway=JWT_LEEWAY_S,
                issuer=issuer,
                audience=audience,
                options={"require": ["exp", "iat"]},
            )
        except jwt.PyJWTError:
            return False
        return True

    return check


def unauthorized(scheme: AuthScheme | None = None) -> tuple[Any, int, dict[str, str]]:
    word = "Basic" if isinstance(scheme, BasicAuth) else "Bearer"
    return jsonify(AUTH_FAILED), 401, {"WWW-Authenticate": f'{word} realm="webhooks"'}


def process(body: dict[str, Any], ledger: Ledger) -> tuple[Any, int]:
    """The careful processing: tolerant reading, unknown events acknowledged, repeats deduped."""
    event, id_ = contract_event(body.get("event")), resource_id(body)
    if event is None or id_ is None:
        return jsonify(status="ignored"), 202
    if not ledger.record_once(event, id_):
        return jsonify(status="duplicate"), 200
    return jsonify(status="accepted"), 202
