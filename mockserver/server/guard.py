"""Who may talk to ``serve``: its own user, not any web page that user happens to open.

The control API can create subscriptions and trigger deliveries to any URL, and its answers show
deliveries. A mock server on ``127.0.0.1`` is still reachable from every page a browser opens:
a cross-origin ``fetch`` with a ``text/plain`` body is a "simple request" that needs no CORS
preflight, and DNS rebinding lets a page read the answers back. So every request passes four
checks before it reaches a view:

* **Host**: the ``Host`` header names this server (a loopback name, the bound address, or a
  ``--allowed-host``): a rebinding attack arrives with the attacker's own host name (403);
* **Origin**: a request a browser sends from another origin is refused (403);
* **Content-Type**: a write (``POST``) must be ``application/json``, which no page can send
  cross-origin without a preflight, which this server never grants (415);
* **token** (``--api-token``): when set, every API call and page needs ``Authorization: Bearer
  TOKEN``, or the session cookie the dashboard's sign-in page sets (``SameSite=Strict``,
  ``HttpOnly``); the token is compared in constant time and never printed.

With a token, ``/healthz`` and ``/openapi.json`` need it too (they say what runs and how much);
only ``/login`` is open. A probe sends the token like any client (docs/serve.md).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from werkzeug.wrappers import Request

from mockserver.auth import check_header_value
from mockserver.errors import UsageError

__all__ = ["SESSION_COOKIE", "Guard", "Refusal", "check_token"]

SESSION_COOKIE = "r360_session"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_WRITES = frozenset({"POST", "PUT", "PATCH"})
#: Pages anyone may load (the sign-in form and its endpoint), token or not.
_OPEN = frozenset({"/login"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: the status and a message that says what to do."""

    status: int
    message: str


@dataclass
class Guard:
    """The checks of the module docstring, for one server."""

    allowed_hosts: frozenset[str] = frozenset()
    api_token: str | None = None
    _sessions: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, *, allowed_hosts: Iterable[str] = (), api_token: str | None = None) -> Guard:
        if api_token is not None:
            check_token(api_token, "the API token")
        return cls(frozenset(_hostname(h) for h in allowed_hosts), api_token)

    def allow_host(self, host: str) -> None:
        """Also accept ``host`` (the address the server bound, once it is known)."""
        name = _hostname(host)
        if name not in ("0.0.0.0", "::", "[::]"):
            self.allowed_hosts = self.allowed_hosts | {name}

    def check(self, request: Request) -> Refusal | None:
        """``None`` when ``request`` may go on, else why not."""
        host = _hostname(request.host)
        if host not in _LOOPBACK and host not in self.allowed_hosts:
            return Refusal(
                403,
                f"Host {request.host!r} does not name this server; if it should, start serve "
                f"with --allowed-host {host}",
            )
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return Refusal(403, f"requests from another origin ({origin}) are refused")
        if self.api_token is None or request.path in _OPEN:
            return None
        if self._signed_in(request):
            return None
        return Refusal(
            401,
            "this server needs its API token: send Authorization: Bearer TOKEN, or sign in at "
            "/login",
        )

    @staticmethod
    def check_write(request: Request) -> Refusal | None:
        """A write to an endpoint that takes it must say ``application/json`` (checked after
        routing, so a method the endpoint does not take is still a 405)."""
        if request.method in _WRITES and request.mimetype != "application/json":
            return Refusal(
                415,
                f"a {request.method} needs Content-Type: application/json "
                f"(got {request.mimetype or 'none'})",
            )
        return None

    def _signed_in(self, request: Request) -> bool:
        assert self.api_token is not None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self.api_token):
            return True
        session = request.cookies.get(SESSION_COOKIE)
        with self._lock:
            return session is not None and session in self._sessions

    def sign_in(self, token: str) -> str | None:
        """A new session id when ``token`` is the API token, else ``None``."""
        if self.api_token is None or not _same(token, self.api_token):
            return None
        session = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._sessions) >= 1000:  # a browser or two, not a crowd
                self._sessions.clear()
            self._sessions.add(session)
        return session


def check_token(token: str, what: str) -> str:
    """``token``, when it can be the API token; else a one-line :class:`UsageError` naming
    ``what`` (never the value). Empty would switch the check off without a word, and a space or
    a control character cannot travel in an ``Authorization`` header."""
    if not token:
        raise UsageError(f"{what} is empty; pass a token, env:NAME or @file")
    check_header_value(token, what, spaces=False, error=UsageError)
    return token


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _hostname(host: str) -> str:
    """The host name of a ``Host`` value, lower-cased, without the port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host
