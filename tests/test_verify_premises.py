"""Rules the README states about verdicts, each with a real server that breaks or keeps it.

The ``tls`` warning under 14 days and the failure for a server offering only TLS 1.0/1.1 (both
over real TLS on loopback), and the run's time budget (``--max-time``) against a consumer too
slow for it.
"""

from __future__ import annotations

import datetime
import ssl
import time
import warnings
from typing import Any

import trustme
from werkzeug.wrappers import Request, Response

from contracts.verifier import Target, VerifyOptions, verify
from tests.consumers._zoo import FAST
from tests.servers import serve_wsgi

OPTIONS = VerifyOptions(**{**FAST, "seed": 7})


def accept_all(environ: Any, start_response: Any) -> Any:
    Request(environ).get_data()
    return Response('{"status": "ok"}', status=202)(environ, start_response)


def _context(ca: trustme.CA, **issue: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", **issue).configure_cert(context)
    return context


def test_a_certificate_expiring_within_14_days_is_a_warning(ca: trustme.CA, ca_pem: Any) -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=5, hours=1)
    with serve_wsgi(accept_all, ssl_context=_context(ca, not_after=soon)) as server:
        target = Target.from_url(server.url + "/webhooks", ca_bundle=str(ca_pem))
        report = verify(target, checks=["tls", "accepts-valid"], options=OPTIONS)
    tls = report.finding("tls")
    assert tls.status == "warning" and "certificate expires in 5 days" in tls.message
    assert report.finding("accepts-valid").status == "passed"  # a warning blocks nothing


def test_a_certificate_with_a_month_left_passes(ca: trustme.CA, ca_pem: Any) -> None:
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30, hours=1)
    with serve_wsgi(accept_all, ssl_context=_context(ca, not_after=later)) as server:
        target = Target.from_url(server.url + "/webhooks", ca_bundle=str(ca_pem))
        report = verify(target, checks=["tls"], options=OPTIONS)
    assert report.finding("tls").status == "passed"
    assert "expires in 30 days" in report.finding("tls").message


def test_a_server_offering_only_tls_1_1_fails_and_blocks_the_rest(
    ca: trustme.CA, ca_pem: Any
) -> None:
    context = _context(ca)
    with warnings.catch_warnings():  # naming the old versions is the point of this server
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with serve_wsgi(accept_all, ssl_context=context) as server:
        target = Target.from_url(server.url + "/webhooks", ca_bundle=str(ca_pem))
        report = verify(target, checks=["tls", "accepts-valid"], options=OPTIONS)
    tls = report.finding("tls")
    assert tls.status == "failed", tls.message
    assert "negotiated TLSv1.1; Record360 needs TLS 1.2 or later" in tls.message
    accepts = report.finding("accepts-valid")
    assert accepts.status == "inconclusive" and accepts.message.startswith("not run: tls failed")


def test_the_run_ends_within_max_time_and_says_what_it_could_not_judge() -> None:
    def slow(environ: Any, start_response: Any) -> Any:
        Request(environ).get_data()
        time.sleep(0.25)
        return Response(status=202)(environ, start_response)

    options = VerifyOptions(**{**FAST, "seed": 7, "max_time_s": 3.0})
    started = time.monotonic()
    report = verify(Target.from_app(slow), options=options)
    assert time.monotonic() - started < 3.0 + 2.0  # one attempt's worth of margin
    spent = [f for f in report.findings if "time budget" in f.message]
    assert spent and all(f.status == "inconclusive" for f in spent)
    assert report.exit_code == 1
