"""TLS: verified by default, private CAs by bundle, and each certificate failure named.

Real HTTPS on loopback with throwaway CAs from trustme; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import trustme
from werkzeug.wrappers import Request, Response

from mockserver.delivery import Sender
from mockserver.delivery.records import Attempt
from mockserver.delivery.tls import InsecureTLSWarning, classify_transport_error
from mockserver.errors import UsageError
from tests.servers import serve_https, serve_wsgi


@Request.application
def ok_app(request: Request) -> Response:
    request.get_data()
    return Response("ok")


@pytest.fixture
def ca_bundle(ca_pem: Path) -> Path:
    """The shared test CA's PEM (conftest's ``ca_pem``), under the option's name."""
    return ca_pem


@contextmanager
def https_server(cert: trustme.LeafCert) -> Iterator[str]:
    with serve_https(ok_app, cert) as server:
        yield server.url + "/hooks"


def deliver_once(url: str, **options: object) -> Attempt:
    with Sender(url, retry="none", **options) as sender:  # type: ignore[arg-type]
        delivery = sender.deliver({"n": 1}, event="e")
    assert delivery.status == (
        "delivered" if delivery.attempts[0].status == 200 else "dead-lettered"
    )
    return delivery.attempts[0]


def test_a_valid_certificate_from_a_private_ca_is_delivered(
    ca: trustme.CA, ca_bundle: Path
) -> None:
    with https_server(ca.issue_cert("127.0.0.1")) as url:
        attempt = deliver_once(url, ca_bundle=ca_bundle)

    assert url.startswith("https://127.0.0.1:")
    assert attempt.status == 200
    assert attempt.error_kind is None


def test_verification_is_on_by_default(ca: trustme.CA) -> None:
    with https_server(ca.issue_cert("127.0.0.1")) as url:
        attempt = deliver_once(url)  # the default store does not know the throwaway CA

    assert (attempt.error_kind, attempt.tls_failure) == ("tls", "unknown-ca")


def test_an_expired_certificate_is_reported_as_expired(ca: trustme.CA, ca_bundle: Path) -> None:
    cert = ca.issue_cert(
        "127.0.0.1", not_before=datetime(2020, 1, 1), not_after=datetime(2020, 1, 2)
    )
    with https_server(cert) as url:
        attempt = deliver_once(url, ca_bundle=ca_bundle)

    assert attempt.error_kind == "tls"
    assert attempt.tls_failure == "expired"
    assert attempt.error_message == "certificate verify failed: certificate has expired"


def test_a_certificate_for_another_host_is_a_hostname_mismatch(
    ca: trustme.CA, ca_bundle: Path
) -> None:
    with https_server(ca.issue_cert("other.example")) as url:
        attempt = deliver_once(url, ca_bundle=ca_bundle)

    assert attempt.error_kind == "tls"
    assert attempt.tls_failure == "hostname-mismatch"
    assert attempt.error_message is not None
    assert attempt.error_message.startswith("certificate verify failed: hostname mismatch")


def test_a_certificate_from_an_unknown_ca_is_reported_as_such(ca_bundle: Path) -> None:
    stranger = trustme.CA()
    with https_server(stranger.issue_cert("127.0.0.1")) as url:
        attempt = deliver_once(url, ca_bundle=ca_bundle)

    assert attempt.error_kind == "tls"
    assert attempt.tls_failure == "unknown-ca"
    assert attempt.error_message is not None
    assert attempt.error_message.startswith(
        "certificate verify failed: unknown CA (self-signed or not in bundle)"
    )


def test_insecure_delivers_to_an_unknown_ca_and_warns() -> None:
    stranger = trustme.CA()
    with https_server(stranger.issue_cert("127.0.0.1")) as url:
        with pytest.warns(InsecureTLSWarning, match="verification is disabled") as warned:
            sender = Sender(url, retry="none", insecure=True)
        with sender:
            first = sender.deliver({}, event="e")
            second = sender.deliver({}, event="e")

    assert len(warned) == 1  # once per sender, not per delivery
    assert first.status == second.status == "delivered"


def test_https_to_a_plain_http_server_is_a_tls_handshake_failure() -> None:
    with serve_wsgi(ok_app) as server:
        url = server.url.replace("http://", "https://")
        attempt = deliver_once(url)

    assert (attempt.error_kind, attempt.tls_failure) == ("tls", "handshake")
    assert attempt.error_message is not None
    assert attempt.error_message.startswith("TLS handshake failed:")


def test_a_missing_ca_bundle_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(UsageError, match=f"CA bundle {missing}: cannot load"):
        Sender("https://127.0.0.1/", ca_bundle=missing)


def test_a_malformed_ca_bundle_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(UsageError, match=f"CA bundle {bad}: cannot load CA certificates"):
        Sender("https://127.0.0.1/", ca_bundle=str(bad))


def test_ca_bundle_and_insecure_together_are_a_usage_error(ca_bundle: Path) -> None:
    with pytest.raises(UsageError, match="both a CA bundle"):
        Sender("https://127.0.0.1/", ca_bundle=ca_bundle, insecure=True)


def test_tls_options_with_an_injected_transport_are_a_usage_error(ca_bundle: Path) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    with pytest.raises(UsageError, match="configure TLS on the transport you pass"):
        Sender("https://127.0.0.1/", transport=transport, ca_bundle=ca_bundle)


# -- classification from the exception chain (no network) ----------------------------------


def wrapped(inner: BaseException) -> httpx.ConnectError:
    """The shape httpx produces: httpx.ConnectError from httpcore.ConnectError from ssl error."""
    middle = RuntimeError("httpcore.ConnectError stand-in")
    middle.__cause__ = inner
    outer = httpx.ConnectError("[SSL] certificate verify failed")
    outer.__cause__ = middle
    return outer


@pytest.mark.parametrize(
    ("code", "failure", "text"),
    [
        (10, "expired", "certificate has expired"),
        (9, "not-yet-valid", "certificate is not yet valid"),
        (62, "hostname-mismatch", "hostname mismatch"),
        (64, "hostname-mismatch", "hostname mismatch"),
        (18, "unknown-ca", "unknown CA (self-signed or not in bundle)"),
        (19, "unknown-ca", "unknown CA (self-signed or not in bundle)"),
        (20, "unknown-ca", "unknown CA (self-signed or not in bundle)"),
        (23, "revoked", "certificate has been revoked"),
        (7, "verify-failed", "certificate signature failure"),
    ],
)
def test_verify_codes_are_classified(code: int, failure: str, text: str) -> None:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    error.verify_code = code
    error.verify_message = text
    result = classify_transport_error(wrapped(error))

    assert (result.kind, result.tls_failure) == ("tls", failure)
    assert result.message == f"certificate verify failed: {text}"


def test_classification_follows_context_as_well_as_cause() -> None:
    error = ssl.SSLCertVerificationError(1, "verify failed")
    error.verify_code = 10
    error.verify_message = "certificate has expired"
    outer = httpx.ConnectError("failed")
    outer.__context__ = error

    assert classify_transport_error(outer).tls_failure == "expired"


def test_a_plain_connect_error_is_not_tls() -> None:
    result = classify_transport_error(httpx.ConnectError("[Errno 111] Connection refused"))
    assert (result.kind, result.tls_failure) == ("connect", None)
