"""``r360-webhooks verify`` and ``demo``: the report, the JSON file, exit codes, no secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.cli import main
from mockserver.auth_spec import parse_auth_spec
from mockserver.consumer import ConsumerConfig
from mockserver.serving import serve_consumer
from tests.servers import free_port

SECRET = "verify-cli-secret-token-000111"
FAST = ["--examples", "6", "--burst", "30", "--burst-concurrency", "8", "--seed", "5"]


def test_verify_writes_the_designed_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = parse_auth_spec(f"bearer:{SECRET}")
    report = tmp_path / "report.json"
    with serve_consumer(ConsumerConfig(auth=auth, rate=40, burst=5), tls=True) as running:
        code = main([
            "verify", running.url, "--ca-bundle", str(running.ca_pem_path), "--auth", f"bearer:{SECRET}",
            "--ledger", "/ledger", "--report-json", str(report), *FAST,
        ])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.out
    data = json.loads(report.read_text())
    assert set(data) >= {"target", "checks", "summary"}
    assert data["summary"] == {
        "passed": 9,
        "failed": 0,
        "warnings": 0,
        "skipped": 0,
        "inconclusive": 0,
    }
    assert [c["name"] for c in data["checks"]][:3] == [
        "tls",
        "auth-required",
        "auth-rejects-invalid",
    ]
    assert all(set(c) == {"name", "status", "message", "details"} for c in data["checks"])
    assert "9 passed, 0 failed, 0 inconclusive, 0 warnings, 0 skipped" in out.out
    assert SECRET not in out.out + out.err + report.read_text()


def test_wrong_credentials_make_accepts_valid_inconclusive_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = parse_auth_spec("bearer:the-right-token-123")
    report = tmp_path / "report.json"
    with serve_consumer(ConsumerConfig(auth=auth)) as running:
        code = main(["verify", running.url, "--auth", f"bearer:{SECRET}", "--checks",
                     "accepts-valid", "--report-json", str(report), *FAST])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    # Every delivery got 401: the bodies were never judged, so no verdict blames them.
    [finding] = json.loads(report.read_text())["checks"]
    assert finding["status"] == "inconclusive" and "got 401: check --auth" in finding["message"]
    assert "rejected the documented" not in out
    assert SECRET not in out + report.read_text()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["http://127.0.0.1:9/h", "--checks", "accepts-valid,nope"],
            "unknown check(s) 'nope'; known: tls, ",
        ),
        (["ftp://127.0.0.1/h"], "URL 'ftp://127.0.0.1/h' is not an absolute http(s) URL"),
        (["http://127.0.0.1:9/h", "--examples", "0"], "--examples 0 must be from 1 to 10000"),
        (
            ["http://127.0.0.1:9/h", "--latency-bound", "0"],
            "--latency-bound 0.0 must be seconds > 0 and <= 3600",
        ),
        (["http://127.0.0.1:9/h", "--auth", "jwt:hs999:x"], "--auth: "),
    ],
)
def test_bad_usage_is_one_line_exit_2(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"r360-webhooks: error: {error}") and err.count("\n") == 1


@pytest.mark.slow
def test_demo_verifies_the_reference_consumer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "9 passed, 0 failed, 0 inconclusive, 0 warnings, 0 skipped" in out
    assert max(len(line) for line in out.splitlines()) <= 100, out  # piped: 100 columns


def test_rich_markup_from_the_consumer_is_printed_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reason phrase, a header, a body and a URL path with Rich markup in them: the report is
    written (first) and printed, nothing crashes after the checks ran."""
    from werkzeug.wrappers import Request, Response

    from tests.servers import serve_wsgi

    @Request.application
    def markup(request: Request) -> Response:
        request.get_data()
        return Response("[/x] [bold]no[/]", status="500 [/x]Broken[/bold]", headers={"X-M": "[/x]"})

    report = tmp_path / "report.json"
    with serve_wsgi(markup) as server:
        code = main(["verify", f"{server.url}/hook[/x]", "--report-json", str(report), *FAST])
    out = capsys.readouterr().out
    assert code == 1 and json.loads(report.read_text())["checks"]
    assert "[/x]" in out  # printed as the text it is


def test_nothing_listening_skips_what_was_not_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --auth, no --ledger: the auth checks and idempotency do not apply, reachable or not;
    only the checks that would have run are inconclusive for the refused connection."""
    report = tmp_path / "report.json"
    code = main(["verify", f"http://127.0.0.1:{free_port()}/webhooks", "--report-json",
                 str(report), *FAST])  # fmt: skip
    capsys.readouterr()
    assert code == 1
    statuses = {c["name"]: c["status"] for c in json.loads(report.read_text())["checks"]}
    skipped = {"auth-required", "auth-rejects-invalid", "idempotency"}
    assert {name for name, status in statuses.items() if status == "skipped"} == skipped
    assert set(statuses) - skipped == {n for n, s in statuses.items() if s == "inconclusive"}


def test_help_says_what_the_exit_codes_mean(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit 0 when no check failed or was inconclusive, 1 when one did, 2 on bad usage" in text


def test_the_probe_line_comes_before_the_report_line(tmp_path: Path) -> None:
    """Both streams in one, in the order written: what went wrong first, then where the
    report is."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "contracts", "verify", f"http://127.0.0.1:{free_port()}/webhooks",
         "--report-json", str(report), *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 1 and report.exists(), out
    assert out.index("target unreachable: cannot connect") < out.index(f"report: {report}"), out
