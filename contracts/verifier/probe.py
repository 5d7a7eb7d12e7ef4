"""One probe before the checks: can the target be reached at all, and how does it answer?

Without it, an unreachable target made a dozen checks fail (or, worse, pass) on the same refused
connection. So before any check runs, one valid body is delivered with the configured
credentials and its outcome is said once, first:

* no answer: connection refused, a DNS failure, a timeout, ``https://`` against a plain-HTTP
  port ("the server answered plain HTTP: use http://"), ``http://`` against a TLS port ("the
  server speaks TLS on this port: use https://"), a certificate the sender refuses (untrusted,
  expired, another host's) or a server offering no TLS 1.2 or later; every check that needs a
  delivery is then ``inconclusive``, its row pointing at the line the report says once at the
  top (``tls``, when selected, still runs and names the TLS problem in full);
* an answer: recorded like any delivery, so the run's premises (credentials, path) start from it.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import httpx

from contracts.verifier.context import BudgetSpent, CheckContext, fresh_body
from contracts.verifier.premise import Block
from mockserver.delivery import Attempt

__all__ = ["Probe", "probe"]

#: OpenSSL's words for "the peer did not speak TLS" (a plain-HTTP server on an https:// URL).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "packet length too long", "http request")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Probe:
    """What the probe found: ``unreachable`` is the one line to say when nothing can connect."""

    status: int | None
    unreachable: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "unreachable": self.unreachable}


def probe(ctx: CheckContext) -> Probe:
    """Deliver one valid body and read the outcome; sets ``ctx.blocked`` when unreachable."""
    event, body = fresh_body(ctx, "probe")
    try:
        delivery = ctx.deliver(body, event=event)
    except BudgetSpent as spent:
        if spent.delivery is None:
            raise
        # Cut off where the run's time ended: a target that never answers, said as such.
        ctx.blocked = Block(
            f"{_where(httpx.URL(ctx.target.url))} gave no answer within the run's time "
            f"({ctx.options.max_time_s:g} s, --max-time): check the URL and the consumer"
        )
        return Probe(None, ctx.blocked.reason)
    last = delivery.attempts[-1]
    if last.status is not None:
        return Probe(last.status)
    block = _unreachable(ctx, last)
    if block is None:
        return Probe(None)
    ctx.blocked = block
    return Probe(None, block.reason)


#: What to do about each certificate failure the sender names (mockserver.delivery.tls).
_CERT_FIXES = {
    "unknown-ca": "trust its CA with --ca-bundle, or serve a certificate from a public CA",
    "expired": "renew the certificate",
    "not-yet-valid": "check the certificate's start date and the server's clock",
    "hostname-mismatch": "serve a certificate for {host}, or use the name it was issued for",
    "revoked": "replace the certificate",
}


def _unreachable(ctx: CheckContext, attempt: Attempt) -> Block | None:
    url = httpx.URL(ctx.target.url)
    where = _where(url)
    message = attempt.error_message or ""
    if attempt.error_kind == "tls":
        if any(words in message for words in _NOT_TLS):
            return Block(f"{where} answered plain HTTP to a TLS handshake: use http://")
        fix = _CERT_FIXES.get(attempt.tls_failure or "")
        if fix is None:  # a failed handshake: in practice a server below TLS 1.2
            fix = "Record360 needs TLS 1.2 or later"
        return Block(f"{where}: {message}: {fix.format(host=url.host)}", tls=True)
    if attempt.error_kind == "connect":
        return Block(
            f"cannot connect to {where} ({message}): is the consumer running? check the URL"
        )
    if attempt.error_kind == "timeout":
        return Block(f"{where} gave no answer in time ({message}): check the URL and the consumer")
    if url.scheme == "http" and not ctx.target.in_process and _speaks_tls(url, ctx):
        return Block(f"{where} speaks TLS: use https://")
    return None  # a broken answer to this body (or an app that raised) is for the checks


def _where(url: httpx.URL) -> str:
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _speaks_tls(url: httpx.URL, ctx: CheckContext) -> bool:
    """Whether the port completes a TLS handshake (certificate unchecked: only the protocol)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(
                (url.host, url.port or 80), timeout=ctx.attempt_timeout_s()
            ) as sock,
            context.wrap_socket(sock, server_hostname=url.host),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False
