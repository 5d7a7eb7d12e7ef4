"""Flask consumers that differ only in how they rate-limit, and one whose ledger needs credentials.

The rate-limit check trusts what a 429 says about "later" (RFC 9110 §10.2.3, RFC 6585 §4), so
these apps give it every kind of answer a sender meets: a truthful date, a hand-rolled penalty
box whose ``Retry-After`` is a lie, and a real limiter whose ``Retry-After`` is an hour when the
limit lifts within two seconds. Each app is otherwise careful in the way of
:mod:`tests.consumers.flask_common`: credentials are checked first (a ``before_request`` hook
registered before flask-limiter's own, so a forged request is a 401 and never spends the quota),
bodies are read tolerantly, unknown events are acknowledged, repeats are deduplicated by (event,
id) and ``GET /ledger`` answers in the reference format.

Every factory takes the :class:`~mockserver.auth.AuthScheme` the sender uses (None: no auth),
then keyword-only knobs, so ``functools.partial`` turns one into a zoo ``make_app``:

``penalty_box(scheme, *, per_second=20, penalty_s=120.0)``
    Hand-rolled, per client address. The request that makes more than ``per_second`` within the
    last second starts a penalty of ``penalty_s`` seconds, fixed from that request: requests
    during the penalty do not extend it and are not counted. Every request in the penalty,
    that first one included, gets ``429`` with ``Retry-After: 1`` (the lie); afterwards counting
    starts afresh.
``retry_after_3600(scheme, *, limit="20 per second")``
    flask-limiter (fixed window, in memory, per client address) whose 429 handler says
    ``Retry-After: 3600`` ("come back in an hour"); the window, and so the limit, ends within a
    second of its first request.
``http_date_retry_after(scheme, *, limit="20 per second")``
    Compliant. flask-limiter's own ``retry_after="http-date"``: ``Retry-After`` is an IMF-fixdate
    (``Wed, 21 Oct 2026 07:28:00 GMT``), the whole second after the window ends (flask-limiter's
    ``reset_at``), so 0-2 s ahead (1-2 s in a fast burst) and never before the limit lifts.
``ledger_behind_auth(scheme, *, limit="20 per second")``
    Compliant, and ``GET /ledger`` also requires the credentials (401 without). Its 429 carries
    ``Retry-After`` in delta-seconds, rounded up from flask-limiter's ``reset_at``: 1-2 s, never
    before the limit lifts (flask-limiter's own header truncates, and can say 0 while limited).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from mockserver.auth import AuthScheme
from tests.consumers.flask_common import (
    Ledger,
    add_ledger_route,
    authenticator,
    process,
    unauthorized,
)

__all__ = [
    "PenaltyBox",
    "http_date_retry_after",
    "ledger_behind_auth",
    "penalty_box",
    "retry_after_3600",
]

#: The per-client limit of the flask-limiter apps; a burst of 60 in a second goes past it.
LIMIT = "20 per second"


def _app(scheme: AuthScheme | None, *, protect_ledger: bool = False) -> tuple[Flask, Ledger]:
    """An app whose first ``before_request`` hook refuses bad credentials, and its ledger."""
    app = Flask(__name__)
    authenticate = authenticator(scheme)
    protected = {"webhooks", "ledger"} if protect_ledger else {"webhooks"}

    @app.before_request
    def credentials_first() -> Any:
        if request.endpoint in protected and not authenticate(request.headers):
            return unauthorized(scheme)
        return None

    ledger = Ledger()
    add_ledger_route(app, ledger)
    return app, ledger


def _receive(ledger: Ledger) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="expected a JSON object"), 400
    return process(body, ledger)


def _limited(
    scheme: AuthScheme | None,
    limit: str,
    *,
    protect_ledger: bool = False,
    on_429: Callable[[Limiter], Any] | None = None,
    **limiter_options: Any,
) -> Flask:
    """The flask-limiter apps: ``limit`` on ``POST /webhooks``; ``on_429`` answers a breach."""
    app, ledger = _app(scheme, protect_ledger=protect_ledger)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", **limiter_options)

    @app.post("/webhooks", endpoint="webhooks")
    @limiter.limit(limit)
    def webhooks() -> Any:
        return _receive(ledger)

    if on_429 is not None:
        app.register_error_handler(429, lambda _exc: on_429(limiter))
    return app


# -- penalty box -----------------------------------------------------------------------------


class PenaltyBox:
    """More than ``per_second`` requests in a second: ``penalty_s`` seconds of refusals.

    Per client key, thread-safe. The penalty is fixed from the request that exceeded the
    limit; requests during it neither extend it nor count towards the next second.
    """

    def __init__(
        self, per_second: int, penalty_s: float, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second < 1 or not penalty_s > 0:
            raise ValueError(
                f"need per_second >= 1 and penalty_s > 0, not {per_second!r}, {penalty_s!r}"
            )
        self.per_second, self.penalty_s, self._now = per_second, penalty_s, now
        self._lock = threading.Lock()
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._until: dict[str, float] = {}

    def admit(self, client: str) -> bool:
        """Count one request of ``client``; False while it is (or has just been put) in the box."""
        with self._lock:
            now = self._now()
            if self._until.get(client, now) > now:
                return False
            recent = self._recent[client]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            recent.append(now)
            if len(recent) > self.per_second:
                self._until[client] = now + self.penalty_s
                recent.clear()
                return False
            return True


def penalty_box(
    scheme: AuthScheme | None, *, per_second: int = 20, penalty_s: float = 120.0
) -> Flask:
    """Hand-rolled: a penalty of ``penalty_s`` seconds, announced as ``Retry-After: 1``."""
    app, ledger = _app(scheme)
    box = PenaltyBox(per_second, penalty_s)

    @app.post("/webhooks", endpoint="webhooks")
    def webhooks() -> Any:
        if not box.admit(request.remote_addr or ""):
            # The team's comment: "tell them to retry soon, they always do".
            return jsonify(error="too many requests"), 429, {"Retry-After": "1"}
        return _receive(ledger)

    return app


# -- Retry-After: 3600 -----------------------------------------------------------------------


def retry_after_3600(scheme: AuthScheme | None, *, limit: str = LIMIT) -> Flask:
    """flask-limiter with a 429 handler that always says an hour; the window ends within 1 s."""

    def an_hour(_limiter: Limiter) -> Any:
        return jsonify(error="rate limit exceeded, try again later"), 429, {"Retry-After": "3600"}

    # headers_enabled stays off (the default): flask-limiter leaves the handler's header alone.
    return _limited(scheme, limit, on_429=an_hour)


# -- HTTP-date Retry-After -------------------------------------------------------------------


def http_date_retry_after(scheme: AuthScheme | None, *, limit: str = LIMIT) -> Flask:
    """flask-limiter's ``retry_after="http-date"``: the date the window ends, whole second up."""
    return _limited(scheme, limit, headers_enabled=True, retry_after="http-date")


# -- ledger behind auth ----------------------------------------------------------------------


def _seconds_to_reset(limiter: Limiter) -> Any:
    current = limiter.current_limit
    reset_at = current.reset_at if current is not None else time.time() + 1
    wait = max(1, math.ceil(reset_at - time.time()))
    return jsonify(error="rate limit exceeded"), 429, {"Retry-After": str(wait)}


def ledger_behind_auth(scheme: AuthScheme | None, *, limit: str = LIMIT) -> Flask:
    """Compliant; ``GET /ledger`` needs the same credentials as ``POST /webhooks``."""
    return _limited(scheme, limit, protect_ledger=True, on_429=_seconds_to_reset)
