"""Secrets never leave the process: one place that replaces them at every output boundary.

Record360 delivers with customer-chosen static credentials (Basic, Bearer, JWT, API keys). Logs,
reports, JUnit XML, curl lines and exception messages all pass through this module so that a
password or token is replaced by :data:`PLACEHOLDER` wherever it would otherwise be printed.

Two mechanisms, used together:

* header-level: values of headers known to carry credentials (``Authorization``, the configured
  API-key header, anything the caller marks as secret) are replaced whole;
* value-level: a :class:`Redactor` remembers the literal secret strings it was given (a password,
  a token, a JWT secret, the encoded Basic credentials, every minted JWT) and scrubs them from any
  text, so a secret echoed in a consumer's response body or an error message is caught too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Protocol

PLACEHOLDER = "[REDACTED]"

#: Header names that carry credentials in every scheme Record360 can configure (lower case).
SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "api-key-secret",
        "x-auth-token",
    }
)

#: How many ephemeral secrets (per-attempt JWTs) are remembered: far more than are ever in flight.
RECENT_SECRETS = 512

# Secrets shorter than this are not scrubbed from free text: replacing "a" everywhere would wreck
# the output while hiding nothing. Header-level redaction still hides them.
_MIN_SCRUB_LENGTH = 4


class Credentials(Protocol):
    """What a credential scheme tells a redactor (:class:`mockserver.auth.AuthScheme` does)."""

    def secrets(self) -> Iterable[str]: ...

    def sensitive_headers(self) -> Iterable[str]: ...


class Redactor:
    """Replaces known secret values and sensitive headers with :data:`PLACEHOLDER`.

    Thread-safe: the sender registers each freshly minted JWT from worker threads. Writers
    replace the secret tuple and header set under a lock (copy on write), so readers, called for
    every header of every attempt, take no lock and never sort.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        sensitive_headers: Iterable[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._secrets: tuple[str, ...] = ()  # both of the above, longest first
        self._headers = frozenset(SENSITIVE_HEADERS | {h.lower() for h in sensitive_headers})
        #: Bumped whenever the secrets or the sensitive headers change (see :attr:`generation`).
        self._generation = 0
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str, *, ephemeral: bool = False) -> None:
        """Remember a literal secret so :meth:`text` scrubs it from any output.

        ``ephemeral`` secrets (a JWT minted for one attempt) are kept only among the most recent
        :data:`RECENT_SECRETS`: they need scrubbing from the answers of the attempts that carried
        them, and a run of a million deliveries must not remember a million tokens.
        """
        if not secret or len(secret) < _MIN_SCRUB_LENGTH or secret in self._known:
            return
        with self._lock:
            if not ephemeral:
                self._known.add(secret)
                self._recent.pop(secret, None)
            elif secret in self._recent:
                self._recent.move_to_end(secret)
                return
            else:
                self._recent[secret] = None
                while len(self._recent) > RECENT_SECRETS:
                    self._recent.popitem(last=False)
            self._secrets = tuple(sorted((*self._known, *self._recent), key=len, reverse=True))
            self._generation += 1

    def register(self, credentials: Credentials) -> None:
        """Learn every secret of ``credentials`` before anything is sent, so that a consumer
        echoing one back, or an error naming it, is scrubbed from the first attempt on."""
        for secret in credentials.secrets():
            self.add_secret(secret)
        for name in credentials.sensitive_headers():
            self.add_sensitive_header(name)

    def add_credentials(self, headers: Mapping[str, str]) -> None:
        """Learn credential headers made for one request (a JWT minted per attempt).

        Each name is sensitive; each value, and the token after a scheme word (``Bearer x``),
        is an ephemeral secret: new every attempt, so remembered only while it is recent.
        """
        for name, value in headers.items():
            self.add_sensitive_header(name)
            self.add_secret(value, ephemeral=True)
            _scheme, _, token = value.partition(" ")
            if token:
                self.add_secret(token, ephemeral=True)

    def add_sensitive_header(self, name: str) -> None:
        """Mark a header (for example a custom API-key header) as credential-bearing."""
        lowered = name.lower()
        if lowered not in self._headers:
            with self._lock:
                self._headers = self._headers | {lowered}
                self._generation += 1

    @property
    def generation(self) -> int:
        """Changes whenever what :meth:`text` and :meth:`headers` do changes.

        While it stays the same, both are pure functions of their input, so a caller may reuse
        an earlier answer for the same input (the bulk engine does, for repeated header sets).
        """
        return self._generation

    def is_sensitive_header(self, name: str) -> bool:
        return name.lower() in self._headers

    def text(self, value: str) -> str:
        """Return ``value`` with every remembered secret replaced, longest first."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, PLACEHOLDER)
        return value

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        """Return a copy of ``headers`` safe to print: sensitive ones whole, others scrubbed."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        sensitive = self._headers
        secrets = self._secrets
        safe: dict[str, str] = {}
        for name, value in items:
            if name.lower() in sensitive:
                safe[name] = PLACEHOLDER
                continue
            for secret in secrets:
                if secret in value:
                    value = value.replace(secret, PLACEHOLDER)
            safe[name] = value
        return safe


#: A redactor that knows no secrets: still hides the standard credential headers.
DEFAULT = Redactor()
