"""A curl line that reproduces one delivery, safe to paste into a ticket.

Headers come from the attempt record, which the sender already redacted, so credentials appear
as ``[REDACTED]``; the body is inlined with shell quoting. Secrets that the redactor knows are
scrubbed from the body too (a consumer's echo, an env-sourced header value).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.redaction import PLACEHOLDER, Redactor

__all__ = ["Curl", "curl_line"]

# Headers curl sets by itself, or that only describe the transport.
_SKIP = {"content-length", "host", "accept-encoding", "connection", "user-agent", "accept"}


@dataclass(frozen=True, slots=True)
class Curl:
    command: str
    warnings: tuple[str, ...] = ()


def curl_line(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    redactor: Redactor,
    ca_bundle: str | None = None,
    in_process: bool = False,
) -> Curl:
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(redactor.text(url))]
    warnings = []
    if ca_bundle:
        parts += ["--cacert", shlex.quote(ca_bundle)]
    for name, value in headers.items():
        if name.lower() in _SKIP:
            continue
        parts += ["-H", shlex.quote(f"{name}: {redactor.text(value)}")]
        if PLACEHOLDER in value or PLACEHOLDER in redactor.text(value):
            warnings.append(f"{name} is redacted: put the real credential back before running")
    parts += ["--data-binary", shlex.quote(redactor.text(body.decode("utf-8", "replace")))]
    if in_process:
        warnings.append("the target is an in-process app: point the URL at a running server")
    return Curl(" ".join(parts), tuple(warnings))
