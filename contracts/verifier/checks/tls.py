"""``tls``: the consumer's certificate is one Record360 would accept.

Record360 requires a valid certificate: the chain verifies, the name matches, it has not expired
(a warning under 14 days left), and the handshake uses TLS 1.2 or later. Plain http is a
warning: Record360 only delivers over HTTPS, so the endpoint cannot be the production one.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings

import httpx

from contracts.verifier.context import CheckContext
from contracts.verifier.finding import Finding
from contracts.verifier.premise import Block
from contracts.verifier.registry import check
from mockserver.delivery.tls import classify_transport_error

NAME = "tls"
WARN_DAYS = 14
_OLD = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}


def _in_process(ctx: CheckContext) -> str | None:
    return "in-process target: no TLS to check" if ctx.target.in_process else None


@check(NAME, skip=_in_process, handshake_only=True)
def tls(ctx: CheckContext) -> Finding:
    target = ctx.target
    url = httpx.URL(target.url)
    if url.scheme == "http":
        return Finding(
            NAME,
            "warning",
            "plain http: Record360 delivers only over HTTPS with a valid certificate",
        )
    host, port = url.host, url.port or 443
    context = _probing_context(ctx.settings.ca_bundle)
    try:
        sock = socket.create_connection((host, port), timeout=ctx.attempt_timeout_s())
    except OSError as error:
        return Finding(NAME, "inconclusive", f"cannot connect to {host}:{port} ({error})")
    try:
        with sock, context.wrap_socket(sock, server_hostname=host) as conn:
            version = conn.version() or "unknown"
            cert = conn.getpeercert() or {}
    except ssl.SSLCertVerificationError as error:
        failure = classify_transport_error(error)
        _block(ctx)
        return Finding(
            NAME,
            "failed",
            f"certificate rejected: {failure.message}",
            {"tls_failure": failure.tls_failure},
        )
    except (OSError, ssl.SSLError) as error:
        _block(ctx)
        return Finding(NAME, "failed", f"TLS handshake with {host}:{port} failed: {error}")
    details = {
        "version": version,
        "issuer": _name(cert.get("issuer")),
        "not_after": cert.get("notAfter"),
    }
    if version in _OLD:
        _block(ctx)  # the sender itself refuses below TLS 1.2: no delivery can connect either
        return Finding(
            NAME, "failed", f"negotiated {version}; Record360 needs TLS 1.2 or later", details
        )
    days = (ssl.cert_time_to_seconds(str(cert["notAfter"])) - time.time()) / 86400
    if days < WARN_DAYS:
        return Finding(
            NAME, "warning", f"certificate expires in {days:.0f} days ({cert['notAfter']})", details
        )
    return Finding(
        NAME, "passed", f"{version}, chain and hostname valid, expires in {days:.0f} days", details
    )


def _probing_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The sender's trust (system store or the CA bundle), but willing to *negotiate* old
    versions, so that a server offering only TLS 1.0/1.1 is named as such rather than as a
    failed handshake (the sender itself never goes below 1.2)."""
    context = ssl.create_default_context(cafile=ca_bundle)
    with warnings.catch_warnings():  # the old versions are named on purpose, to be refused
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _block(ctx: CheckContext) -> None:
    """The sender verifies as this check does, so no delivery can connect: this row says so
    once, and the other checks point at it rather than fail on it (unless insecure). The
    probe has usually said it first already, and its line stays."""
    if not ctx.target.insecure and ctx.blocked is None:
        ctx.blocked = Block(
            "tls failed, so no delivery can connect; fix the certificate first", tls=True
        )


def _name(parts: object) -> str:
    if not isinstance(parts, tuple):
        return ""
    return ", ".join(f"{k}={v}" for rdn in parts for k, v in rdn)
