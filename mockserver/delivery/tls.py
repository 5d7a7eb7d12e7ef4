"""TLS settings for the sender, and what went wrong when an attempt never got an answer.

Record360 requires consumers to serve valid TLS, so the mock sender verifies certificates by
default (httpx's default trust store, certifi) and accepts a private CA only when it is given one
(``ca_bundle``). ``insecure=True`` switches verification off only when asked, and says so once.

A certificate problem is the most common reason a new webhook endpoint "does not work", and a
generic "connection failed" hides it. :func:`classify_transport_error` therefore digs the
:class:`ssl.SSLCertVerificationError` out of the exception chain (httpx wraps httpcore's error,
which wraps the ``ssl`` one via ``__cause__``) and names the check that failed: expired,
hostname mismatch or unknown CA. Everything else becomes one of a few stable kinds:

======== =====================================================================================
kind     meaning
======== =====================================================================================
connect  no connection: refused, unreachable, DNS failure
timeout  connect, read, write or pool timeout
tls      the TLS handshake failed; ``tls_failure`` says which check (see :data:`TLS_FAILURES`)
protocol the connection broke or the answer was not valid HTTP (reset, garbled, closed early)
error    any other exception from the transport (an in-process app that raised, for example)
======== =====================================================================================
"""

from __future__ import annotations

import logging
import os
import ssl
import warnings
from dataclasses import dataclass
from typing import Literal

import httpx

from mockserver.errors import UsageError

__all__ = [
    "MAX_ERROR_TEXT",
    "TLS_FAILURES",
    "ErrorKind",
    "InsecureTLSWarning",
    "TransportFailure",
    "classify_transport_error",
    "clip",
    "tls_failure_of",
    "verify_setting",
]

logger = logging.getLogger("mockserver.delivery")

ErrorKind = Literal["connect", "timeout", "tls", "protocol", "error"]

#: The most of an error's text an attempt keeps. A consumer's bytes can end up inside one:
#: aiohttp quotes a whole bad status line, which a consumer answering garbage makes 64 KiB or
#: more, and the record, the log line and ``send``'s report would carry all of it every attempt.
MAX_ERROR_TEXT = 512


def clip(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out.

    Cut *after* redaction: cutting first could split a secret so that the redactor no longer
    recognises the half that is kept.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h) -> (tls_failure, human message).
_VERIFY_CODES: dict[int, tuple[str, str]] = {
    9: ("not-yet-valid", "certificate is not yet valid"),
    10: ("expired", "certificate has expired"),
    18: ("unknown-ca", "unknown CA (self-signed or not in bundle)"),
    19: ("unknown-ca", "unknown CA (self-signed or not in bundle)"),
    20: ("unknown-ca", "unknown CA (self-signed or not in bundle)"),
    21: ("unknown-ca", "unknown CA (self-signed or not in bundle)"),
    2: ("unknown-ca", "unknown CA (issuer certificate not available)"),
    23: ("revoked", "certificate has been revoked"),
    62: ("hostname-mismatch", "hostname mismatch"),
    64: ("hostname-mismatch", "hostname mismatch"),
}

#: Values of :attr:`TransportFailure.tls_failure`.
TLS_FAILURES = frozenset(
    {
        "expired",
        "not-yet-valid",
        "unknown-ca",
        "hostname-mismatch",
        "revoked",
        "verify-failed",
        "handshake",
    }
)


class InsecureTLSWarning(UserWarning):
    """Emitted once per sender built with ``insecure=True``: certificates are not checked."""


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """Why an attempt got no HTTP answer: a stable kind, a one-line message, the TLS check."""

    kind: ErrorKind
    message: str
    tls_failure: str | None = None


def verify_setting(
    ca_bundle: str | os.PathLike[str] | None, insecure: bool, *, warn: bool = True
) -> ssl.SSLContext | bool:
    """The ``verify=`` value for :class:`httpx.Client`.

    ``insecure`` warns (:class:`InsecureTLSWarning`) unless ``warn`` is false: the settings
    factory passes false and leaves the one warning to its entry point.

    A ``ca_bundle`` is loaded here, once, into an :class:`ssl.SSLContext` (httpx 0.28 deprecates
    path strings), so a missing or malformed file is a :class:`UsageError` at start-up naming
    the file, not a failed delivery later.
    """
    if insecure and ca_bundle is not None:
        raise UsageError(
            f"both a CA bundle ({os.fspath(ca_bundle)}) and insecure=True were given; "
            "use the CA bundle to verify a private CA, or insecure to skip verification"
        )
    if insecure:
        if warn:
            message = "TLS certificate verification is disabled (insecure=True); use only for tests"
            warnings.warn(message, InsecureTLSWarning, stacklevel=3)
            logger.warning(message)
        return False
    if ca_bundle is None:
        return True
    path = os.fspath(ca_bundle)
    try:
        context = ssl.create_default_context(cafile=path)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(
            f"CA bundle {path}: cannot load CA certificates ({reason}); "
            "pass a PEM file that contains the CA certificate(s)"
        ) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


def _tls_failure(chain: list[BaseException]) -> TransportFailure | None:
    for exc in chain:
        # aiohttp's wrapper is an SSLCertVerificationError too, but the codes are on its cause.
        if isinstance(exc, ssl.SSLCertVerificationError) and hasattr(exc, "verify_code"):
            code = exc.verify_code
            failure, text = _VERIFY_CODES.get(code, ("verify-failed", exc.verify_message))
            detail = exc.verify_message or text
            message = f"certificate verify failed: {text}"
            if detail and detail != text:
                message += f" ({detail})"
            return TransportFailure("tls", message, failure)
    for exc in chain:
        if isinstance(exc, ssl.SSLError):
            return TransportFailure("tls", f"TLS handshake failed: {exc}", "handshake")
    return None


def tls_failure_of(exc: BaseException) -> TransportFailure | None:
    """The TLS failure somewhere in ``exc``'s chain, or ``None``; any HTTP client's errors.

    httpx and aiohttp both chain the :mod:`ssl` error with ``raise ... from``, so one walk
    names certificate failures the same way for both engines.
    """
    return _tls_failure(_chain(exc))


def classify_transport_error(exc: BaseException) -> TransportFailure:
    """Map an exception from sending or reading an answer to a :class:`TransportFailure`."""
    tls = tls_failure_of(exc)
    if tls is not None:
        return tls
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "request")
        return TransportFailure("timeout", f"{phase} timeout: {text}")
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.UnsupportedProtocol):
        return TransportFailure("connect", f"connection failed: {text}")
    if isinstance(exc, httpx.TransportError | httpx.DecodingError | httpx.StreamError):
        return TransportFailure("protocol", f"{type(exc).__name__}: {text}")
    return TransportFailure("error", f"{type(exc).__name__}: {text}")
