"""Forged credentials for ``auth-rejects-invalid``: a header source per forgery, and a redactor
that shows the forgery.

A forged credential is evidence, not a secret: the report must show which forgery the consumer
let in. The configured credentials still travel beside it (headers, a signature key), so
everything else is redacted exactly as the run's own redactor does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mockserver.auth import AuthScheme, NegativeVariant
from mockserver.redaction import Redactor

__all__ = ["VariantSource", "forged_redactor"]


class VariantSource:
    """The headers of one forgery, made fresh for each attempt (an expired JWT is minted now)."""

    def __init__(self, variant: NegativeVariant) -> None:
        self._variant = variant

    def headers(self) -> dict[str, str]:
        return self._variant.make_headers()


class _ForgedAware(Redactor):
    """Shows a forged credential (evidence, not a secret) and redacts everything else as
    ``base`` does: the configured headers' secrets travel with a forgery too."""

    def __init__(self, base: Redactor, shown: frozenset[str]) -> None:
        super().__init__()
        self._base = base
        self._shown = shown

    def add_secret(self, secret: str, *, ephemeral: bool = False) -> None:
        pass  # forged values are evidence, not secrets

    def add_sensitive_header(self, name: str) -> None:
        pass

    def is_sensitive_header(self, name: str) -> bool:
        return name.lower() not in self._shown and self._base.is_sensitive_header(name)

    def text(self, value: str) -> str:
        return self._base.text(value)

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        safe: dict[str, str] = {}
        for name, value in items:
            if name.lower() in self._shown:
                safe[name] = self._base.text(value)  # the forgery itself, real secrets scrubbed
            else:
                safe.update(self._base.headers([(name, value)]))
        return safe


def forged_redactor(base: Redactor, auth: AuthScheme | None) -> Redactor:
    """``base``, except that the headers of ``auth``'s scheme are shown as sent."""
    shown = frozenset(h.lower() for h in (auth.sensitive_headers() if auth else ()))
    return _ForgedAware(base, shown)
