"""The reference consumer: a Record360 webhook receiver written the way a careful team would.

``make demo`` verifies it and the verifier's tests use it as the target that passes every check,
so each rule below comes from the v1 contract or Record360's compatibility policy:

1. **Auth first** (the static headers are the only proof a POST came from Record360): the same
   :class:`~mockserver.auth.AuthScheme` the sender uses is checked, secrets compared in constant
   time (:func:`hmac.compare_digest`), JWTs through PyJWT with the configured algorithm only
   (RFC 8725 §3.1). Failure is ``401`` with ``WWW-Authenticate`` (RFC 9110 §11.6.1) and one
   message that never says what was expected.
2. **Rate limit** by token bucket (the sender's own GCRA, :class:`~mockserver.delivery.pacing.
   TokenBucket`); ``429`` carries ``Retry-After`` in whole seconds, at least 1
   (RFC 6585 §4, RFC 9110 §10.2.3), so the sender's redelivery is accepted.
3. ``application/json`` (or ``application/*+json``) else ``415``; a JSON object else ``400``.
4. **Tolerant reading**: only ``event`` and the resource's ``id`` are read, nothing is validated
   strictly, because "responses may gain new properties" and IDs are opaque strings of up to 255
   characters compared case-sensitively.
5. An unknown event (Record360 may add event types) is acknowledged: ``202 {"status": "ignored"}``.
6. **Idempotency**: a delivery may arrive twice (retries, redelivery); the key is the event name
   and the resource ``id``, a repeat answers ``200 {"status": "duplicate"}`` and is not processed
   again. The ledger (``GET /ledger`` and :meth:`Consumer.ledger`) shows what was processed.

:func:`mockserver.serving.serve_consumer` runs it on loopback, over HTTP or HTTPS.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
import math
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from jwt.algorithms import get_default_algorithms
from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from contracts.schemas import event_of, spec_for
from mockserver.auth import ApiKeyAuth, AuthScheme, BasicAuth, BearerAuth, JwtAuth, NoAuth
from mockserver.delivery.pacing import TokenBucket
from mockserver.errors import UsageError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Authenticator", "Consumer", "ConsumerConfig", "create_consumer"]

logger = logging.getLogger("mockserver.consumer")

#: Bodies above this are refused with 413 before they are read; v1 bodies are a few KiB.
MAX_BODY_BYTES = 10 * 1024 * 1024
_REALM = "webhooks"
_RESERVED_PATHS = ("/ledger", "/healthz")
# One message for every auth failure: which part was wrong would help only an attacker.
_AUTH_FAILED = "missing or invalid credentials"


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """How the consumer authenticates, limits and where it listens.

    ``auth`` is the *same* scheme object the sender uses; ``None`` or :class:`NoAuth` accepts
    every request. ``rate`` is requests per second (``None``: unlimited) with ``burst`` tokens;
    ``leeway_s`` is the JWT clock-skew allowance (RFC 7519 §4.1.4).
    """

    auth: AuthScheme | None = None
    rate: float | None = None
    burst: int = 10
    path: str = "/webhooks"
    leeway_s: int = 60

    def __post_init__(self) -> None:
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
            raise UsageError(f"consumer rate must be a positive number per second, not {self.rate}")
        if self.burst < 1:
            raise UsageError(f"consumer burst must be at least 1, not {self.burst}")
        if not self.path.startswith("/") or self.path in _RESERVED_PATHS or "<" in self.path:
            raise UsageError(f"consumer path {self.path!r} must start with '/' and not be reserved")
        if self.leeway_s < 0:
            raise UsageError(f"JWT leeway must be zero or more seconds, not {self.leeway_s}")


class _CallableClock:
    """A :class:`~mockserver.delivery.clock.Clock` over a ``now()`` function (tests pass one)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now

    def sleep(self, seconds: float) -> None:  # the limiter never sleeps
        raise NotImplementedError


def _same(given: str, expected: str) -> bool:
    """Constant-time equality that never raises (compare_digest refuses non-ASCII ``str``)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _credential(headers: Headers, header: str, prefix: str) -> str | None:
    """The credential after the scheme word (matched case-insensitively, RFC 9110 §11.1)."""
    value = headers.get(header)
    if value is None or not prefix:
        return value or None
    word, _, rest = value.strip().partition(" ")
    token = rest.strip(" ")
    return token if word.lower() == prefix.lower() and token else None


def _basic(scheme: BasicAuth, token: str) -> bool:
    try:  # RFC 7617 §2: token68 of "user-id:password" in UTF-8
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    # Both compared, always: short-circuiting would time out which part was wrong.
    return bool(colon) & _same(user, scheme.user) & _same(password, scheme.password)


class _JwtVerifier:
    """PyJWT with one algorithm, the verification key, required ``exp``/``iat`` and leeway."""

    _quiet = threading.Lock()

    def __init__(self, scheme: JwtAuth, leeway: int) -> None:
        alg, self._key = scheme.algorithm, scheme.verification_key
        self._checks: dict[str, Any] = {
            "algorithms": [alg],  # never the token's own "alg" (RFC 8725 §3.1)
            "leeway": leeway,
            "options": {"require": ["exp", "iat"]},
            "issuer": scheme.issuer,
            "audience": scheme.audience,
        }
        # PyJWT warns on every decode with an HMAC secret shorter than the hash (RFC 7518 §3.2).
        # The customer chose the secret and Record360 signs with it, so say so once, here.
        signer = get_default_algorithms()[alg]
        self._short = bool(signer.check_key_length(signer.prepare_key(self._key)))
        if self._short:
            logger.warning("the %s secret is shorter than RFC 7518 §3.2 asks", alg)

    def __call__(self, token: str) -> bool:
        try:
            if not self._short:
                jwt.decode(token, self._key, **self._checks)
            else:  # catch_warnings is process-wide: one thread at a time changes the filters
                with self._quiet, warnings.catch_warnings():
                    warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                    jwt.decode(token, self._key, **self._checks)
        except (jwt.PyJWTError, ValueError) as exc:  # ValueError: never a 500 on odd input
            logger.info("JWT refused: %s", type(exc).__name__)
            return False
        return True


class Authenticator:
    """Checks one request's credential header; ``challenge`` goes in a 401's WWW-Authenticate."""

    def __init__(self, scheme: AuthScheme | None, leeway: int) -> None:
        self.challenge: str | None = None
        self._check: Callable[[str], bool] | None = None
        if scheme is None or isinstance(scheme, NoAuth):
            return
        if isinstance(scheme, BasicAuth):
            self._check = functools.partial(_basic, scheme)
            word, params = "Basic", f'realm="{_REALM}", charset="UTF-8"'  # RFC 7617 §2.1
        elif isinstance(scheme, BearerAuth | ApiKeyAuth):
            secret = scheme.token if isinstance(scheme, BearerAuth) else scheme.value
            self._check = functools.partial(_same, expected=secret)
            word, params = scheme.scheme_prefix or "ApiKey", f'realm="{_REALM}"'
        elif isinstance(scheme, JwtAuth):
            self._check = _JwtVerifier(scheme, leeway)
            word, params = scheme.scheme_prefix or "Bearer", f'realm="{_REALM}"'
        else:
            raise UsageError(f"the consumer cannot verify {scheme.describe()}")
        self.challenge = f"{word} {params}"  # RFC 9110 §11.5: realm as a quoted-string
        self._header, self._prefix = scheme.header_name, scheme.scheme_prefix

    def __call__(self, headers: Headers) -> bool:
        if self._check is None:
            return True
        token = _credential(headers, self._header, self._prefix)
        return token is not None and self._check(token)


class _Unauthorized(Unauthorized):
    def __init__(self, challenge: str | None) -> None:
        super().__init__(_AUTH_FAILED)
        self.challenge = challenge

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        headers = super().get_headers(environ, scope)
        if self.challenge:
            headers.append(("WWW-Authenticate", self.challenge))
        return headers


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


def _json(data: object, status: int, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(data), status, headers=list(headers), mimetype="application/json")


def _is_json(mimetype: str) -> bool:
    kind, _, subtype = mimetype.partition("/")
    return mimetype == "application/json" or (kind == "application" and subtype.endswith("+json"))


class Consumer:
    """The WSGI app: ``POST {path}`` receives webhooks, ``GET /ledger``, ``GET /healthz``."""

    def __init__(
        self, config: ConsumerConfig, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._authenticate = Authenticator(config.auth, config.leeway_s)
        self._bucket = None
        if config.rate is not None:
            self._bucket = TokenBucket(config.rate, _CallableClock(now), burst=config.burst)
        self._lock = threading.Lock()
        self._processed: dict[tuple[str, str], int] = {}
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[int] = Counter()
        self.url_map = Map(
            [
                Rule(config.path, endpoint="webhook", methods=["POST"]),
                Rule("/ledger", endpoint="ledger", methods=["GET"]),
                Rule("/healthz", endpoint="healthz", methods=["GET"]),
            ]
        )

    def ledger(self) -> dict[str, Any]:
        """What was processed, and how many requests ended each way (a fresh copy)."""
        with self._lock:
            return {
                "processed": [
                    {"event": event, "id": id_, "count": count}
                    for (event, id_), count in self._processed.items()
                ],
                "accepted": self._counts["accepted"],
                "duplicates": self._counts["duplicate"],
                "ignored": self._counts["ignored"],
                "rejected": {str(code): n for code, n in sorted(self._rejected.items())},
            }

    def on_webhook(self, request: Request) -> Response:
        try:
            return self._receive(request)
        except HTTPException as exc:
            with self._lock:
                self._rejected[exc.code or 500] += 1
            logger.info("webhook refused: %s %s", exc.code, exc.description)
            raise

    def on_ledger(self, request: Request) -> Response:
        return _json(self.ledger(), 200)

    def on_healthz(self, request: Request) -> Response:
        return _json({"status": "ok"}, 200)

    def _receive(self, request: Request) -> Response:
        if not self._authenticate(request.headers):
            raise _Unauthorized(self._authenticate.challenge)
        wait = self._bucket.try_take() if self._bucket is not None else 0.0
        if wait:
            raise TooManyRequests("rate limit exceeded", retry_after=max(1, math.ceil(wait)))
        if not _is_json(request.mimetype):
            raise UnsupportedMediaType("the body must be application/json")
        try:
            body = json.loads(request.get_data())
        except (ValueError, RecursionError):  # bad JSON or UTF-8, huge ints, deep nesting
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return self._process(body)

    def _process(self, body: dict[str, Any]) -> Response:
        event = event_of(body)
        resource = body.get(spec_for(event).resource) if event is not None else None
        id_ = resource.get("id") if isinstance(resource, dict) else None
        if isinstance(id_, int) and not isinstance(id_, bool):
            id_ = str(id_)  # a numeric id from a lenient producer is still that id
        if event is None or not isinstance(id_, str) or not id_:
            return self._answer("ignored", 202)
        with self._lock:  # check and record at once: two racing copies process only once
            duplicate = (event, id_) in self._processed
            if not duplicate:
                self._processed[(event, id_)] = 1
        return self._answer("duplicate", 200) if duplicate else self._answer("accepted", 202)

    def _answer(self, status: str, code: int) -> Response:
        with self._lock:
            self._counts[status] += 1
        return _json({"status": status}, code)

    def dispatch_request(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            handler: Callable[..., Response] = getattr(self, f"on_{endpoint}")
            return handler(request, **values)
        except HTTPException as exc:
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
            return _json({"error": exc.description or exc.name}, exc.code or 500, headers)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch_request(_Request(environ))
        return response(environ, start_response)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)


def create_consumer(
    config: ConsumerConfig, *, now: Callable[[], float] = time.monotonic
) -> Consumer:
    """Build the reference consumer; ``now`` is the rate limiter's clock (inject one in tests)."""
    return Consumer(config, now=now)
