"""The probe says an unreachable target once, first, in one line, with the fix (README, "Verify
your consumer"); the checks it blocks point at that line instead of repeating it.

Every case is a real server on loopback (or a name under ``.invalid``, which RFC 6761 promises
never resolves, so no network is needed).
"""

from __future__ import annotations

import datetime
import json
import ssl
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from contracts.cli import main
from tests.servers import serve_wsgi
from tests.test_verify_premises import accept_all

FAST = ["--examples", "6", "--burst", "30", "--burst-concurrency", "8", "--seed", "5"]

Context = Callable[[trustme.CA], ssl.SSLContext]


def _cert(*names: str, **issue: Any) -> Context:
    def make(ca: trustme.CA) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names, **issue).configure_cert(context)
        return context

    return make


def _only_tls_1_1(ca: trustme.CA) -> ssl.SSLContext:
    context = _cert("127.0.0.1")(ca)
    with warnings.catch_warnings():  # naming the old versions is the point of this server
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


_PAST = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)

#: (server certificate, trust the test CA?, words of the one line, the fix it names)
TLS_FAILURES = {
    "untrusted": (_cert("127.0.0.1"), False, "unknown CA", "--ca-bundle"),
    "expired": (
        _cert("127.0.0.1", not_before=_PAST - datetime.timedelta(days=30), not_after=_PAST),
        True,
        "certificate has expired",
        "renew",
    ),
    "hostname": (_cert("elsewhere.example"), True, "hostname mismatch", "127.0.0.1"),
    "tls-1.1": (_only_tls_1_1, True, "TLS handshake failed", "TLS 1.2 or later"),
}


def _run(tmp_path: Path, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    code = main(["verify", url, "--report-json", str(report), *args, *FAST])
    return code, json.loads(report.read_text())


@pytest.mark.parametrize("case", TLS_FAILURES, ids=str)
def test_a_tls_failure_is_said_once_first_even_without_the_tls_check(
    case: str, ca: trustme.CA, ca_pem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context, trusted, words, fix = TLS_FAILURES[case]
    trust = ["--ca-bundle", str(ca_pem)] if trusted else []
    with serve_wsgi(accept_all, ssl_context=context(ca)) as server:
        code, data = _run(tmp_path, f"{server.url}/webhooks", "--checks", "accepts-valid", *trust)
    out = " ".join(capsys.readouterr().out.split())  # the console folds long lines
    assert code == 1
    line = data["probe"]["unreachable"]
    assert line is not None and words in line and fix in line, line
    [accepts] = data["checks"]
    assert accepts["status"] == "inconclusive"
    assert accepts["message"] == "not run: tls failed, so no delivery can connect (see above)"
    assert out.count(words) == 1, out  # the probe's line, not once per row
    assert out.index("target unreachable") < out.index("accepts-valid")


def test_http_against_a_tls_port_says_use_https(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_wsgi(accept_all, ssl_context=_cert("127.0.0.1")(ca)) as server:
        code, data = _run(tmp_path, f"http://127.0.0.1:{server.port}/webhooks")
    capsys.readouterr()
    assert code == 1
    assert data["probe"]["unreachable"] == f"127.0.0.1:{server.port} speaks TLS: use https://"
    assert all(c["status"] in ("inconclusive", "skipped") for c in data["checks"])


def test_a_name_that_does_not_resolve_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _run(tmp_path, "http://r360-nowhere.invalid/webhooks")  # RFC 6761
    out = capsys.readouterr().out
    line = data["probe"]["unreachable"]
    assert code == 1 and "\n" not in line
    assert line.startswith("cannot connect to r360-nowhere.invalid:80 (") and line.endswith(
        "is the consumer running? check the URL"
    )
    assert out.count("cannot connect") == 1, out
    rows = {c["name"]: c["message"] for c in data["checks"] if c["status"] == "inconclusive"}
    assert rows and set(rows.values()) == {"not run: target unreachable (see above)"}
