"""Rules the README states about verdicts, each with a real server that breaks or keeps it.

The ``tls`` warning under 14 days and the failure for a server offering only TLS 1.0/1.1 (both
over real TLS on loopback), and the run's time budget (``--max-time``) against a consumer too
slow for it.
"""

from __future__ import annotations

import datetime
import json
import re
import ssl
import threading
import time
import warnings
from typing import Any

import trustme
from werkzeug.wrappers import Request, Response

from contracts import evolution
from contracts.verifier import Finding, Target, VerifyOptions, verify
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


# -- counts that say what was judged ------------------------------------------------------------


class Refuses:
    """Refuses (400) every body that carries the resource key ``refused``, accepts the rest, and
    counts both: the ground truth a finding's counts are held to."""

    def __init__(self, refused: str) -> None:
        self.refused_key = refused
        self.accepted = 0
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        try:
            body = json.loads(Request(environ).get_data() or b"null")
        except ValueError:
            body = None
        ok = isinstance(body, dict) and self.refused_key not in body
        with self.lock:
            self.accepted += ok
            self.refused += not ok
        status = 202 if ok else 400
        return Response('{"status": "ok"}', status=status)(environ, start_response)


def _counted(refused: str, check: str) -> tuple[Finding, int, int]:
    """Run ``check`` alone against a consumer refusing ``refused`` bodies; the finding, and how
    many bodies the consumer accepted and refused during the check (the probe's taken off)."""
    consumer = Refuses(refused)
    with serve_wsgi(consumer) as server:
        report = verify(server.url + "/webhooks", checks=[check], options=OPTIONS)
    assert report.probe is not None and report.probe.status is not None
    probe_ok = 200 <= report.probe.status < 300
    return report.finding(check), consumer.accepted - probe_ok, consumer.refused - (not probe_ok)


def test_tolerates_evolution_counts_only_the_evolved_bodies_accepted() -> None:
    """A consumer that takes transaction.create and refuses task.completed: the evolved task
    bodies and their originals were refused, so they judged nothing and are not "accepted"."""
    finding, accepted, refused = _counted("task", "tolerates-evolution")
    assert refused and accepted, (accepted, refused)  # both kinds were drawn
    assert finding.status == "passed", finding.message
    assert finding.message.startswith(f"accepted {accepted} evolved bodies covering "), (
        finding.message,
        accepted,
    )
    # Each refused evolved body had its original refused too: a pair that judged nothing.
    assert f"{refused // 2} refused with and without the change" in finding.message


def test_a_change_no_body_was_accepted_for_is_not_judged() -> None:
    finding, accepted, _ = _counted("transaction", "tolerates-evolution")
    only_transactions = [
        name for name, change in evolution.catalogue().items() if change.events is not None
    ]
    assert finding.status == "passed" and accepted, finding.message
    covering = re.search(
        rf"covering (\d+) of {len(evolution.catalogue())} changes", finding.message
    )
    assert covering is not None, finding.message
    # The changes that fit any event were judged on task bodies, when one was drawn for them.
    assert 1 <= int(covering[1]) <= len(evolution.catalogue()) - len(only_transactions)
    not_judged = finding.message.partition("not judged")[2]
    assert all(name in not_judged for name in only_transactions), finding.message
    assert "every change" not in finding.message


def test_ignores_unknown_events_counts_only_what_was_acknowledged() -> None:
    finding, accepted, refused = _counted("task", "ignores-unknown-events")
    assert refused and accepted, (accepted, refused)
    assert finding.status == "passed", finding.message
    sent = accepted + refused // 2  # a refused unknown task event, then its refused known twin
    assert finding.message.startswith(
        f"acknowledged {accepted} of {sent} bodies of unknown events"
    ), (finding.message, accepted, refused)
    assert f"{refused // 2} refused but not judged" in finding.message


def test_nothing_judged_is_inconclusive_with_the_real_counts() -> None:
    finding, accepted, refused = _counted("event", "tolerates-evolution")
    assert accepted == 0 and refused
    assert finding.status == "inconclusive", finding.message


def test_latency_times_answers_only_and_reports_the_attempts_without_one() -> None:
    """An attempt that gets no answer within the read timeout (1 s) is counted beside the
    percentiles, not timed among them, so p99 stays that of the quick answers."""
    stop = threading.Event()
    lock = threading.Lock()
    seen = {"requests": 0, "hung": 0}

    def hangs_once(environ: Any, start_response: Any) -> Any:
        Request(environ).get_data()
        with lock:
            seen["requests"] += 1
            hang = seen["requests"] == 2  # the first documented example, after the probe
            seen["hung"] += hang
        if hang:
            stop.wait(30)
        return Response('{"status": "ok"}', status=202)(environ, start_response)

    options = VerifyOptions(examples=5, shrink_budget=5, timeout_s=1.0, seed=7)
    with serve_wsgi(hangs_once) as server:
        try:
            report = verify(
                server.url + "/webhooks", checks=["accepts-valid", "latency"], options=options
            )
        finally:
            stop.set()
    latency = report.finding("latency")
    assert latency.status == "passed", latency.message
    assert latency.details["no_answer"] == {"timeout": seen["hung"]} == {"timeout": 1}
    assert latency.details["answers"] == seen["requests"] - seen["hung"]
    assert latency.details["p99_s"] < options.timeout_s  # the cut-off attempts are not timed
    assert "(1 attempt got no answer: 1 timeout)" in latency.message
