"""The one check of a webhook URL, and the one place its user info becomes credentials.

Every entry point takes a consumer URL from a user (``send URL``, ``verify URL``, a ``serve``
subscription, ``--r360-url``, Locust's ``--host``), and each used to check it its own way; the
copies disagreed (one let ``http:///x`` through, another echoed a password in its error). So:

* :func:`parse_webhook_url` is the only validator: an absolute ``http``/``https`` URL with a host,
  a port in range, no whitespace or control characters, at most :data:`MAX_URL_LENGTH`
  characters; anything else is one :class:`~mockserver.errors.UsageError` line naming the option
  and the fix;
* user info (``https://user:pass@host/hook``) is split off: httpx would quietly turn it into a
  Basic header that no redactor knows, so it becomes credentials instead, registered as secrets
  (:meth:`WebhookUrl.delivery_auth`, used by the settings factory and by a library caller's
  :class:`~mockserver.delivery.sender.Sender` alike), and every displayed URL is the one without
  it (:attr:`WebhookUrl.url`);
* error messages show the URL through :func:`without_user_info`, never as given.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import TypeVar

import httpx

from mockserver.auth import AuthScheme, BasicAuth
from mockserver.errors import UsageError
from mockserver.redaction import Redactor

__all__ = [
    "MAX_URL_LENGTH",
    "WebhookUrl",
    "parse_webhook_url",
    "secret_query_values",
    "shown_url",
    "without_user_info",
]

#: Longer URLs are refused: browsers and proxies cap near 2 KiB, and no webhook needs more.
MAX_URL_LENGTH = 2048
_USER_INFO = re.compile(r"(//)[^/?#]*@")
_EXAMPLE = "e.g. https://consumer.example/webhooks"
_Auth = TypeVar("_Auth")


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    """A checked consumer URL: ``url`` without user info, and the user info it carried."""

    url: str
    username: str | None = None
    password: str | None = None

    @property
    def has_credentials(self) -> bool:
        return self.username is not None or self.password is not None

    def credentials(self, *, option: str = "URL") -> BasicAuth | None:
        """The user info as the Basic credentials httpx would have sent (RFC 7617), or ``None``.

        Made here, once, so that every entry point registers them as secrets instead of letting
        the HTTP client send a header that nothing redacts.
        """
        if not self.has_credentials:
            return None
        try:
            return BasicAuth(self.username or "", self.password or "")
        except UsageError as exc:
            raise UsageError(
                f"{option}: the user info is not usable Basic credentials ({exc})"
            ) from None

    def delivery_auth(
        self,
        auth: _Auth | None,
        redactor: Redactor,
        *,
        option: str = "URL",
        auth_option: str = "auth",
    ) -> _Auth | BasicAuth | None:
        """The credentials of deliveries to this URL, their secrets (and the values of its
        secret-named query parameters) registered with ``redactor``.

        The user info, or ``auth``, never both (two sources of credentials would leave one
        unused, and a user guessing which). The one path from either to a redactor that knows
        it: the settings factory and a :class:`~mockserver.delivery.sender.Sender` given a URL
        directly both come here. ``option``/``auth_option`` spell the inputs for the error.
        """
        if self.has_credentials:
            if auth is not None:
                raise UsageError(
                    f"{option} carries user info and {auth_option} was given too; "
                    "pass the credentials one way",
                    option=option,
                )
            chosen: _Auth | BasicAuth | None = self.credentials(option=option)
        else:
            chosen = auth
        if isinstance(chosen, AuthScheme):  # what a consumer might echo back is known up front
            redactor.register(chosen)
        for secret in secret_query_values(self.url):  # ``?token=...`` is a credential too
            redactor.add_secret(secret)
        return chosen


def without_user_info(text: str) -> str:
    """``text`` with anything between ``//`` and ``@`` removed: safe to print, parsed or not."""
    return _USER_INFO.sub(r"\1", text)


def parse_webhook_url(text: object, *, option: str = "URL") -> WebhookUrl:
    """Check ``text`` as a consumer endpoint; split off its user info.

    Raises :class:`~mockserver.errors.UsageError` (one line, starting with ``option``, user info
    never shown) when it is not an absolute ``http(s)`` URL with a host.
    """
    if not isinstance(text, str):
        raise UsageError(f"{option} must be a string: an http(s) URL, {_EXAMPLE}")
    shown = shown_url(text)
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(f"{option} is {len(text)} characters long; at most {MAX_URL_LENGTH}")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise UsageError(f"{option} {shown!r} contains spaces or control characters; {_EXAMPLE}")
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        reason = without_user_info(str(exc)).rstrip(".")
        raise UsageError(
            f"{option} {shown!r} is not an absolute http(s) URL; write it with a scheme and "
            f"host, {_EXAMPLE} ({reason})"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(
            f"{option} {shown!r} is not an absolute http(s) URL; write it with a scheme and "
            f"host, {_EXAMPLE}"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UsageError(f"{option} {shown!r}: port {parsed.port} is not from 1 to 65535")
    if not parsed.userinfo:
        return WebhookUrl(text)
    bare = str(parsed.copy_with(userinfo=b""))
    return WebhookUrl(bare, parsed.username or None, parsed.password or None)


#: Query parameter names that say their value is a credential (``token``, ``api_key``, ``sig``,
#: ``X-Amz-Signature``, ``password``, ``auth``...). The settings factory registers such values
#: as secrets (:func:`secret_query_values`), so every displayed URL, record and echo shows
#: ``?token=[REDACTED]``; :func:`shown_url` does the same for a URL that is only printed.
_SECRET_PARAM = re.compile(r"token|key|secret|sig|passw|pwd|auth|credential|session", re.I)
#: One ``name=value`` of a query (up to a ``#``): the separator, the name, the value.
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def _query(text: str) -> str:
    query = text.partition("#")[0].partition("?")
    return query[1] + query[2]


def secret_query_values(url: str) -> list[str]:
    """The values (as written, and percent-decoded) of ``url``'s query parameters whose names
    say they carry a credential: what a redactor must know before anything is sent."""
    found: list[str] = []
    for _, name, value in _QUERY_PAIR.findall(_query(url)):
        if value and _SECRET_PARAM.search(urllib.parse.unquote_plus(name)):
            found.extend(dict.fromkeys((value, urllib.parse.unquote_plus(value))))
    return found


def shown_url(text: str) -> str:
    """``text`` safe to print, parsed or not: no user info, secret-named query values replaced
    (as any redactor replaces a secret: values under 4 characters are left)."""
    return Redactor(secret_query_values(text)).text(without_user_info(text))
