"""Flask consumers as real teams write them, each breaking at most one rule, with exact verdicts.

Every app exposes ``POST /webhooks`` and ``GET /ledger`` (reference format) and configures itself
from the :class:`~mockserver.auth.AuthScheme` the sender uses. The compliant apps use PyJWT with a
pinned algorithm and flask-limiter; each violator differs from them in one realistic mistake,
named in its docstring. Overload in the rate-limit violators depends on *concurrency* (requests in
flight), never on request rate, so the sequential deliveries of the other checks never trip it;
their handlers take 20 ms (a database write) so that the 12-connection burst overlaps.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import trustme
from flask import Flask, abort, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from mockserver.auth import AuthScheme, BasicAuth, JwtAuth
from tests.consumers._zoo import Case
from tests.consumers.flask_common import (
    Ledger,
    add_ledger_route,
    authenticator,
    bearer_token,
    contract_event,
    process,
    resource_id,
    unauthorized,
)

#: What a handler spends on its database write in the concurrency-sensitive apps.
WORK_S = 0.02


def _jwt_scheme(scheme: AuthScheme | None) -> JwtAuth:
    assert isinstance(scheme, JwtAuth), "this consumer is written for JWT auth"
    return scheme


def _json_object() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


# -- compliant -------------------------------------------------------------------------------


def compliant(scheme: AuthScheme | None) -> Flask:
    """Auth first, flask-limiter (429 + Retry-After), tolerant parsing, dedupe by (event, id)."""
    app = Flask(__name__)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", headers_enabled=True)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)

    @app.post("/webhooks")
    @limiter.limit("20 per second")
    def webhooks() -> Any:
        if not authenticate(request.headers):
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


# -- auth-required ---------------------------------------------------------------------------


def auth_only_when_present(scheme: AuthScheme | None) -> Flask:
    """Checks Basic credentials only when an Authorization header is sent ("optional auth")."""
    assert isinstance(scheme, BasicAuth)
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)

    @app.post("/webhooks")
    def webhooks() -> Any:
        if "Authorization" in request.headers:
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (scheme.user, scheme.password):
                return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


def auth_crashes_when_missing(scheme: AuthScheme | None) -> Flask:
    """Splits the Authorization header without checking it is there: a missing one is a 500."""
    jwt_scheme = _jwt_scheme(scheme)
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)

    @app.post("/webhooks")
    def webhooks() -> Any:
        _bearer, token = request.headers.get("Authorization").split(" ", 1)  # type: ignore[union-attr]
        try:
            jwt.decode(
                token,
                jwt_scheme.verification_key,
                algorithms=[jwt_scheme.algorithm],
                leeway=30,
                options={"require": ["exp", "iat"]},
            )
        except jwt.PyJWTError:
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


# -- auth-rejects-invalid --------------------------------------------------------------------


def jwt_unverified(scheme: AuthScheme | None) -> Flask:
    """Reads the JWT claims without verifying the signature ("the gateway already checked it")."""
    jwt_scheme = _jwt_scheme(scheme)
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)

    @app.post("/webhooks")
    def webhooks() -> Any:
        token = bearer_token(request.headers, jwt_scheme)
        if token is None:
            return unauthorized(scheme)
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return unauthorized(scheme)
        app.logger.debug("webhook from %s", claims.get("iss", "record360"))
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


def jwt_no_expiry(scheme: AuthScheme | None) -> Flask:
    """Verifies the signature with a pinned algorithm but turned off ``exp`` ("clock issues")."""
    jwt_scheme = _jwt_scheme(scheme)
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)

    @app.post("/webhooks")
    def webhooks() -> Any:
        token = bearer_token(request.headers, jwt_scheme)
        if token is None:
            return unauthorized(scheme)
        try:
            jwt.decode(
                token,
                jwt_scheme.verification_key,
                algorithms=[jwt_scheme.algorithm],
                options={"verify_exp": False},
            )
        except jwt.PyJWTError:
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


# -- accepts-valid ---------------------------------------------------------------------------


def _strict_reader(
    handle_transaction: Callable[[dict[str, Any]], object],
) -> Callable[[AuthScheme | None], Flask]:
    """An app that dispatches on the event and hands a transaction to ``handle_transaction``."""

    def factory(scheme: AuthScheme | None) -> Flask:
        app = Flask(__name__)
        ledger = Ledger()
        add_ledger_route(app, ledger)
        authenticate = authenticator(scheme)

        @app.post("/webhooks")
        def webhooks() -> Any:
            if not authenticate(request.headers):
                return unauthorized(scheme)
            body = _json_object()
            if body is None:
                return jsonify(error="expected a JSON object"), 400
            event, id_ = contract_event(body.get("event")), resource_id(body)
            if event is None or id_ is None:
                return jsonify(status="ignored"), 202
            if (event, id_) in ledger:
                return jsonify(status="duplicate"), 200
            if event == "transaction.create":
                handle_transaction(body["transaction"])
            ledger.record(event, id_)  # only once handled: a crashed delivery is retried
            return jsonify(status="accepted"), 202

        return app

    return factory


def _direction(transaction: dict[str, Any]) -> str:
    # check_in is null for an add-media inspection: KeyError, 500.
    return {True: "check-in", False: "check-out"}[transaction["check_in"]]


def _cover_photo(transaction: dict[str, Any]) -> str:
    # Every inspection has photos, says the team; the documented example has none: IndexError.
    return str(transaction["photos"][0]["url"])


crashes_on_null_check_in = _strict_reader(_direction)
crashes_without_photos = _strict_reader(_cover_photo)


# -- idempotency -----------------------------------------------------------------------------


def no_dedupe(scheme: AuthScheme | None) -> Flask:
    """Processes every delivery, repeats included."""
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)

    @app.post("/webhooks")
    def webhooks() -> Any:
        if not authenticate(request.headers):
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        event, id_ = contract_event(body.get("event")), resource_id(body)
        if event is None or id_ is None:
            return jsonify(status="ignored"), 202
        ledger.record(event, id_)
        return jsonify(status="accepted"), 202

    return app


# -- latency ---------------------------------------------------------------------------------


def slow(scheme: AuthScheme | None) -> Flask:
    """Does its 60 ms of work before answering, instead of queueing it."""
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)

    @app.post("/webhooks")
    def webhooks() -> Any:
        time.sleep(0.06)
        if not authenticate(request.headers):
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


# -- rate-limit ------------------------------------------------------------------------------


def _pooled(scheme: AuthScheme | None, busy: Callable[[], Any]) -> Flask:
    """Four workers; ``busy()`` answers when all four are taken (the app's own load shedding)."""
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)
    workers = threading.BoundedSemaphore(4)

    @app.post("/webhooks")
    def webhooks() -> Any:
        if not authenticate(request.headers):
            return unauthorized(scheme)
        if not workers.acquire(blocking=False):
            return busy()
        try:
            time.sleep(WORK_S)
            body = _json_object()
            if body is None:
                return jsonify(error="expected a JSON object"), 400
            return process(body, ledger)
        finally:
            workers.release()

    return app


def busy_503(scheme: AuthScheme | None) -> Flask:
    """A full worker pool answers 503 Service Unavailable."""

    def busy() -> Any:
        abort(503, description="all workers are busy")

    return _pooled(scheme, busy)


def busy_500(scheme: AuthScheme | None) -> Flask:
    """A full worker pool raises, so Flask answers 500."""

    def busy() -> Any:
        raise RuntimeError("worker pool exhausted")

    return _pooled(scheme, busy)


def busy_429_no_retry_after(scheme: AuthScheme | None) -> Flask:
    """A full worker pool answers 429, but says nothing about when to come back."""

    def busy() -> Any:
        return jsonify(error="too many requests"), 429

    return _pooled(scheme, busy)


class _LoadShedder:
    """Sheds load above ``high`` requests in flight until back under ``low``.

    The bug: a shed request has already been counted in flight and never gives its place back,
    so once shedding starts the count only grows and the 429s never lift.
    """

    def __init__(self, high: int = 6, low: int = 2) -> None:
        self.high, self.low = high, low
        self.in_flight = 0
        self.shedding = False
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            self.in_flight += 1
            if self.in_flight > self.high:
                self.shedding = True
            elif self.in_flight <= self.low:
                self.shedding = False
            return not self.shedding

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1


def shed_forever(scheme: AuthScheme | None) -> Flask:
    """Load shedding that answers 429 with Retry-After: 1, and never stops once started."""
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)
    shedder = _LoadShedder()

    @app.post("/webhooks")
    def webhooks() -> Any:
        if not authenticate(request.headers):
            return unauthorized(scheme)
        if not shedder.admit():
            return jsonify(error="overloaded"), 429, {"Retry-After": "1"}
        try:
            time.sleep(WORK_S)
            body = _json_object()
            if body is None:
                return jsonify(error="expected a JSON object"), 400
            return process(body, ledger)
        finally:
            shedder.done()

    return app


def unlimited(scheme: AuthScheme | None) -> Flask:
    """No limit at all: careful otherwise, and fast enough to take the burst."""
    app = Flask(__name__)
    ledger = Ledger()
    add_ledger_route(app, ledger)
    authenticate = authenticator(scheme)

    @app.post("/webhooks")
    def webhooks() -> Any:
        if not authenticate(request.headers):
            return unauthorized(scheme)
        body = _json_object()
        if body is None:
            return jsonify(error="expected a JSON object"), 400
        return process(body, ledger)

    return app


# -- tls -------------------------------------------------------------------------------------


def _context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def expired_cert(ca: trustme.CA) -> ssl.SSLContext:
    now = dt.datetime.now(dt.UTC)
    return _context(
        ca.issue_cert(
            "127.0.0.1",
            "localhost",
            not_before=now - dt.timedelta(days=90),
            not_after=now - dt.timedelta(days=1),
        )
    )


def wrong_host_cert(ca: trustme.CA) -> ssl.SSLContext:
    return _context(ca.issue_cert("other.example"))


def untrusted_cert(ca: trustme.CA) -> ssl.SSLContext:
    """Issued by a CA the sender does not trust (a forgotten self-signed test certificate)."""
    return _context(trustme.CA().issue_cert("127.0.0.1", "localhost"))


#: A certificate the sender rejects means no delivery can be made: only tls is judged.
_TLS_FAILED = {
    "tls": "failed",
    "auth-required": "inconclusive",
    "auth-rejects-invalid": "inconclusive",
    "accepts-valid": "inconclusive",
    "tolerates-evolution": "inconclusive",
    "ignores-unknown-events": "inconclusive",
    "idempotency": "inconclusive",
    "rate-limit": "inconclusive",
    "latency": "inconclusive",
}

CASES: list[Case] = [
    Case("flask-compliant-jwt", compliant, "jwt"),
    Case("flask-compliant-basic", compliant, "basic", serve="in-process"),
    Case("flask-compliant-apikey", compliant, "api-key", serve="https"),
    Case(
        "flask-auth-only-when-present", auth_only_when_present, "basic", {"auth-required": "failed"}
    ),
    Case(
        "flask-auth-crashes-when-missing",
        auth_crashes_when_missing,
        "jwt",
        {"auth-required": "failed"},
    ),
    Case(
        "flask-jwt-signature-unverified", jwt_unverified, "jwt", {"auth-rejects-invalid": "failed"}
    ),
    Case("flask-jwt-expiry-unverified", jwt_no_expiry, "jwt", {"auth-rejects-invalid": "failed"}),
    Case(
        "flask-crashes-on-null-check-in",
        crashes_on_null_check_in,
        "api-key",
        {"accepts-valid": "failed"},
    ),
    Case(
        "flask-crashes-without-photos", crashes_without_photos, "jwt", {"accepts-valid": "failed"}
    ),
    Case("flask-busy-503", busy_503, "api-key", {"rate-limit": "failed"}),
    Case("flask-busy-500", busy_500, "api-key", {"rate-limit": "failed"}),
    Case("flask-shed-forever", shed_forever, "api-key", {"rate-limit": "failed"}),
    Case(
        "flask-429-without-retry-after",
        busy_429_no_retry_after,
        "api-key",
        {"rate-limit": "warning"},
    ),
    Case("flask-unlimited", unlimited, "none"),
    Case(
        "flask-unlimited-limit-required",
        unlimited,
        "none",
        {"rate-limit": "failed"},
        options={"require_rate_limit": True},
    ),
    Case("flask-no-dedupe", no_dedupe, "basic", {"idempotency": "failed"}),
    Case("flask-slow", slow, "none", {"latency": "failed"}, options={"latency_bound_s": 0.03}),
    Case(
        "flask-cert-expired", unlimited, "jwt", _TLS_FAILED, serve="https", server_cert=expired_cert
    ),
    Case(
        "flask-cert-wrong-host",
        unlimited,
        "jwt",
        _TLS_FAILED,
        serve="https",
        server_cert=wrong_host_cert,
    ),
    Case(
        "flask-cert-untrusted",
        unlimited,
        "jwt",
        _TLS_FAILED,
        serve="https",
        server_cert=untrusted_cert,
    ),
]
