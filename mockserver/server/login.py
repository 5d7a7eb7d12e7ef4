"""Signing in to a ``serve`` started with ``--api-token``: a page, one JSON call, a cookie.

A browser cannot add ``Authorization: Bearer`` to a page it navigates to, so the dashboard asks
for the token once: ``GET /login`` is a small form whose script sends ``POST /login`` with
``{"token": ...}`` (JSON, same origin: the guard's rules hold here too), and a right token gets a
session cookie (``HttpOnly``, ``SameSite=Strict``, random, kept in memory) that the pages and the
API accept from then on. The token never appears in a URL, so it never lands in a log.

``?next=`` says where to go after signing in. Anyone can send a link to this page, so it is only
ever a path of this server (:func:`same_origin_path`: ``/\\evil.example`` is ``//evil.example``
to a browser), and it is written into the script with ``<``, ``>`` and ``&`` escaped, so that a
``</script>`` in it cannot end the script.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import BadRequest
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from mockserver.server.api import json_response, read_object
from mockserver.server.guard import SESSION_COOKIE

if TYPE_CHECKING:
    from mockserver.server.app import App

__all__ = ["install", "redirect_to_login", "same_origin_path", "script_json"]

_SCRIPT = """
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value;
  const response = await fetch("/login", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({token})});
  if (response.ok) { location.href = NEXT; }
  else { document.getElementById("said").textContent = "That is not the API token."; }
});
"""


def redirect_to_login(request: Request) -> Response:
    """Where a page without a session goes: the sign-in form, then back."""
    return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/')}", 303)


def install(app: App) -> None:
    """``GET /login`` (the form) and ``POST /login`` (the token in, a session cookie out)."""
    app.add_view("/login", "login_page", _page, methods=("GET",))
    app.add_view("/login", "sign_in", lambda request: _sign_in(app, request), methods=("POST",))


def same_origin_path(wanted: str) -> str:
    """``wanted`` when a browser would read it as a path of this server, else ``/``.

    A path starts with one ``/``; a backslash (browsers read it as ``/``), a control character
    (browsers drop tabs and newlines, so ``/\\t/x`` is ``//x``), a scheme or a host is refused.
    """
    if (
        not wanted.startswith("/")
        or wanted.startswith("//")
        or "\\" in wanted
        or any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in wanted)
    ):
        return "/"
    parts = urlsplit(wanted)
    return "/" if parts.scheme or parts.netloc else wanted


def script_json(value: object) -> str:
    """``value`` as a JavaScript literal safe inside ``<script>``: ``json.dumps`` leaves ``<``
    alone, and ``</script>`` in a string would end the script."""
    text = json.dumps(value)  # ensure_ascii: U+2028/U+2029 are escaped too
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(request: Request) -> Response:
    after = same_origin_path(request.args.get("next", "/"))
    nonce = secrets.token_urlsafe(16)
    script = _SCRIPT.replace("NEXT", script_json(after))
    page = (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        "<title>Sign in · r360-webhooks</title>"
        "<h1>r360-webhooks mock server</h1><p>This server was started with an API token.</p>"
        '<form id="login"><label>API token <input id="token" type="password" '
        'autocomplete="current-password" required></label> <button>Sign in</button></form>'
        f'<p id="said" role="status"></p><script nonce="{nonce}">{script}</script></html>'
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return Response(
        page,
        content_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"},
    )


def _sign_in(app: App, request: Request) -> Response:
    token = read_object(request).get("token")
    if not isinstance(token, str):
        raise BadRequest('send {"token": "..."}')
    session = app.guard.sign_in(token)
    if session is None:
        return json_response({"error": "that is not the API token"}, 401)
    response = json_response({"status": "signed in"})
    response.set_cookie(
        SESSION_COOKIE, session, httponly=True, samesite="Strict", path="/", secure=False
    )
    return response
