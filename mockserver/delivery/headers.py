"""The headers of every request to a consumer, assembled in one place.

Written once and used by the sender (both engines), the verifier's ledger read and the Locust
user, so all of them put the same bytes on the wire and redact the same credentials:

* :func:`default_headers`: ``application/json``, our ``User-Agent``, and ``identity`` encoding
  (only an excerpt of each answer is kept; a compressed one could expand without bound);
* :func:`merge_headers`: the one case-insensitive merge (RFC 9110 §5.1: ``content-type`` from a
  user must replace our ``Content-Type``, not travel beside it);
* :class:`RequestHeaders`: ours, then the configured ones, then credentials minted fresh for
  each request (a JWT expires; a retry hours later needs a new one), every credential
  registered with the :class:`~mockserver.redaction.Redactor` before it is sent.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Protocol

from mockserver.redaction import Redactor

__all__ = [
    "USER_AGENT",
    "HeaderSource",
    "RequestHeaders",
    "default_headers",
    "merge_headers",
]


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("r360-webhooks")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"r360-webhooks/{version}"


USER_AGENT = _user_agent()


class HeaderSource(Protocol):
    """Credential headers for one request (``mockserver.auth`` provides these)."""

    def headers(self) -> dict[str, str]: ...


def default_headers() -> dict[str, str]:
    """A fresh copy of the headers every delivery starts from."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
    }


def merge_headers(headers: dict[str, str], *extras: Mapping[str, str]) -> dict[str, str]:
    """Merge each of ``extras`` into ``headers`` in turn, names compared case-insensitively;
    returns ``headers``.

    An override removes the field it replaces, whatever its spelling, and goes last: what
    :meth:`httpx.Headers.update` does with a request's headers over a client's, so the aiohttp
    engine, merging its transport defaults the same way, puts httpx's order on the wire.
    """
    for extra in extras:
        for name, value in extra.items():
            lowered = name.lower()
            for existing in [k for k in headers if k.lower() == lowered]:
                del headers[existing]
            headers[name] = value
    return headers


class RequestHeaders:
    """The headers of each request to one consumer: ``base`` (:func:`default_headers` unless
    given), the configured ``headers`` over it, and ``auth``'s credentials, fresh per call.

    The static part is merged once; a call copies it and adds the credentials, after the
    ``redactor`` learnt them (:meth:`~mockserver.redaction.Redactor.add_credentials`), so no
    request carries a credential a log or report could print. An exception of ``auth`` passes
    through: what it means is the caller's (a failed delivery, a failed Locust request).
    """

    __slots__ = ("_auth", "_redactor", "_static")

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        auth: HeaderSource | None,
        redactor: Redactor,
        base: Mapping[str, str] | None = None,
    ) -> None:
        self._static = merge_headers(default_headers() if base is None else dict(base), headers)
        self._auth = auth
        self._redactor = redactor

    def __call__(self) -> dict[str, str]:
        """The headers of the next request (a new dict, the caller's to change)."""
        headers = dict(self._static)
        if self._auth is None:
            return headers
        credentials = self._auth.headers()
        self._redactor.add_credentials(credentials)
        return merge_headers(headers, credentials)
