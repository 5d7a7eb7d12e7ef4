"""The pytest plugin, tested with pytester: in-process app, URL, failures, ini, JUnit, disabling."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.examples import flask_consumer
from tests.servers import serve_wsgi

pytestmark = pytest.mark.slow

TOKEN = "plugin-test-token-0123456789"

FAST_OPTIONS = """
import pytest
from contracts.verifier import VerifyOptions

@pytest.fixture(scope="session")
def r360_options():
    return VerifyOptions(examples=8, evolution_examples=2, unknown_examples=4, shrink_budget=20,
                         burst_count=30, burst_concurrency=8, seed=7, ledger="/ledger")
"""

CONFTEST_FLASK_APP = (
    FAST_OPTIONS
    + """
from tests.examples import flask_consumer

@pytest.fixture(scope="session")
def r360_target():
    flask_consumer.TOKEN = "plugin-test-token-0123456789"
    return flask_consumer.app
"""
)

CONFTEST_BROKEN_APP = """
import pytest
from flask import Flask, request
from contracts.verifier import VerifyOptions

app = Flask(__name__)

@app.post("/webhooks")
def receive():
    body = request.get_json()
    try:
        for photo in body.get("transaction", {}).get("photos", []):
            photo["instruction_id"].upper()  # optional in the contract: KeyError, 500
    except KeyError:
        # A debugging team's error page: it echoes what it got, credentials included.
        seen = {k: v for k, v in request.headers.items() if k in ("Authorization", "X-Signature-Key")}
        return {"you sent": seen, "error": "KeyError instruction_id"}, 500
    return {"status": "ok"}, 200

@pytest.fixture(scope="session")
def r360_target():
    return app

@pytest.fixture(scope="session")
def r360_options():
    return VerifyOptions(examples=40, evolution_examples=2, shrink_budget=60, seed=7)
"""

TEST_MODULE = "from contracts.suite import test_r360_check  # noqa: F401\n"


@pytest.fixture
def repo_on_path(pytester: pytest.Pytester, repo_root: Path) -> pytest.Pytester:
    pytester.syspathinsert(repo_root)
    return pytester


def test_suite_on_an_in_process_flask_app(repo_on_path: pytest.Pytester) -> None:
    repo_on_path.makeconftest(CONFTEST_FLASK_APP)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    result = repo_on_path.runpytest("--r360-auth", f"bearer:{TOKEN}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8, skipped=1)
    result.stdout.fnmatch_lines(
        ["*r360 webhook checks*", "tls * skipped *in-process*", "accepts-valid * passed *"]
    )
    assert TOKEN not in result.stdout.str()


def test_suite_against_a_url_with_ini_options(repo_on_path: pytest.Pytester) -> None:
    """The same sample Flask app, now served on a real port and named by URL in the ini file."""
    repo_on_path.makeconftest(FAST_OPTIONS)
    flask_consumer.TOKEN = TOKEN
    with serve_wsgi(flask_consumer.app) as server:
        repo_on_path.makeini(
            f"[pytest]\nr360_url = {server.url}/webhooks\nr360_auth = bearer:{TOKEN}\n"
        )
        result = repo_on_path.runpytest("--pyargs", "contracts.suite", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)  # a tls warning does not fail its test
    result.stdout.fnmatch_lines(
        [
            "tls * warning *plain http*",
            "idempotency * passed *",
            "rate-limit * passed *no limit reached*",
        ]
    )
    assert TOKEN not in result.stdout.str()


def test_a_failing_check_explains_itself_and_junit_has_no_secret(
    repo_on_path: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    signature = "plugin-signature-key-5e7a9c1b3d"
    monkeypatch.setenv("R360_SIGNATURE", signature)
    repo_on_path.makeconftest(CONFTEST_BROKEN_APP)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    # A subprocess: Hypothesis's global state from this run must not shape the inner search.
    result = repo_on_path.runpytest_subprocess(
        "--r360-checks", "accepts-valid,tolerates-evolution", "--r360-auth", f"bearer:{TOKEN}",
        "--r360-header", "X-Signature-Key:env:R360_SIGNATURE",
        "--junitxml", "report.xml", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*accepts-valid: rejected a valid transaction.create body: status 500*",
        '*smallest body: {"event": "create", "transaction": {*"photos": ?{"id": "1", "created_at": *, "url": "https://*"}?, "videos"*',
        "*reproduce: curl -sS -X POST *",
        "*replay: --r360-seed 7*",
    ])  # fmt: skip
    junit = (repo_on_path.path / "report.xml").read_text()
    assert "accepts-valid: rejected a valid" in junit
    # The consumer echoed both credentials into its answer, and the answer is in the JUnit file:
    # redacted there, as in the curl line and everywhere else.
    assert "Authorization&quot;:&quot;[REDACTED]&quot;" in junit, junit
    for secret in (TOKEN, signature):
        assert secret not in junit and secret not in result.stdout.str() + result.stderr.str()


def test_no_target_skips_with_the_reason(repo_on_path: pytest.Pytester) -> None:
    result = repo_on_path.runpytest(
        "--pyargs", "contracts.suite", "--r360-checks", "latency", "-rs", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*no consumer to verify: pass --r360-url URL or define the r360_target fixture*"]
    )


def test_unknown_check_is_a_usage_error(repo_on_path: pytest.Pytester) -> None:
    result = repo_on_path.runpytest(
        "--pyargs", "contracts.suite", "--r360-checks", "nope", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # checked once, at start-up
    result.stderr.fnmatch_lines(["ERROR: r360: unknown check(s) 'nope'; known: tls, *"])


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--r360-auth", "bearer:", "--r360-auth: bearer token is empty; use bearer:TOKEN"),
        (
            "--r360-header",
            "X-Key: env:R360_TEST_UNSET_HEADER",
            "--r360-header X-Key: environment variable 'R360_TEST_UNSET_HEADER' (from "
            "env:R360_TEST_UNSET_HEADER) is not set; export it or pass the value",
        ),
    ],
)
def test_a_bad_option_is_one_usage_error_line(
    repo_on_path: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    value: str,
    says: str,
) -> None:
    """Checked once at configure time: one line (and the blank one pytest adds), no traceback
    per check."""
    monkeypatch.delenv("R360_TEST_UNSET_HEADER", raising=False)
    result = repo_on_path.runpytest_subprocess(
        "--pyargs", "contracts.suite", "--r360-url", "http://127.0.0.1:9/hook", option, value,
        "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines == [f"ERROR: r360: {says}", ""], result.stderr.str()
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_can_be_disabled(repo_on_path: pytest.Pytester) -> None:
    result = repo_on_path.runpytest("-p", "no:r360", "--r360-url", "http://127.0.0.1:9/hook")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --r360-url*"])


def test_the_readme_lists_every_option(repo_root: Path) -> None:
    from contracts.plugin import OPTIONS

    readme = (repo_root / "README.md").read_text()
    listed = readme[readme.index("Options (each also an ini key") :].split("; override")[0]
    assert [name for name in OPTIONS if f"`--r360-{name}`" not in listed] == []


# -- inconclusive, and the run's time ----------------------------------------------------------

CONFTEST_WRONG_PATH = """
import pytest
from werkzeug.wrappers import Response

def app(environ, start_response):
    return Response("no such path", status=404)(environ, start_response)

@pytest.fixture(scope="session")
def r360_target():
    return app
"""

CONFTEST_SLOW = """
import time
import pytest
from werkzeug.wrappers import Request, Response

def app(environ, start_response):
    Request(environ).get_data()
    time.sleep(0.3)
    return Response("{}", status=202)(environ, start_response)

@pytest.fixture(scope="session")
def r360_target():
    return app
"""


def test_an_inconclusive_check_fails_its_test_with_the_reason(
    repo_on_path: pytest.Pytester,
) -> None:
    repo_on_path.makeconftest(CONFTEST_WRONG_PATH)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    result = repo_on_path.runpytest("--r360-checks", "accepts-valid", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*accepts-valid: inconclusive: *got 404: check the URL path*"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_inconclusive_can_be_asked_to_skip(repo_on_path: pytest.Pytester, how: str) -> None:
    repo_on_path.makeconftest(CONFTEST_WRONG_PATH)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    args = ["--r360-checks", "accepts-valid", "-rs", "-p", "no:cacheprovider"]
    if how == "option":
        args += ["--r360-inconclusive", "skip"]
    else:
        repo_on_path.makeini("[pytest]\nr360_inconclusive = skip\n")
    result = repo_on_path.runpytest(*args)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*accepts-valid: inconclusive: *got 404: check the URL path*"])


def test_a_bad_r360_inconclusive_ini_value_is_a_usage_error(
    repo_on_path: pytest.Pytester,
) -> None:
    repo_on_path.makeconftest(CONFTEST_WRONG_PATH)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    repo_on_path.makeini("[pytest]\nr360_inconclusive = maybe\n")
    result = repo_on_path.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: r360: r360_inconclusive 'maybe' must be fail or skip"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_max_time_bounds_the_session(repo_on_path: pytest.Pytester, how: str) -> None:
    repo_on_path.makeconftest(CONFTEST_SLOW)
    repo_on_path.makepyfile(test_webhooks=TEST_MODULE)
    args = ["--r360-checks", "accepts-valid", "-p", "no:cacheprovider"]
    if how == "option":
        args += ["--r360-max-time", "1"]
    else:
        repo_on_path.makeini("[pytest]\nr360_max_time = 1\n")
    started = time.monotonic()
    result = repo_on_path.runpytest(*args)
    assert time.monotonic() - started < 1 + 5  # 40 bodies at 0.3 s would be 12 s
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*accepts-valid: inconclusive: the run's time budget (1 s, --r360-max-time) ran out *"]
    )


def test_the_summary_speaks_pytest_and_aligns_every_status(
    repo_on_path: pytest.Pytester,
) -> None:
    """The summary names this plugin's options (--r360-auth, not the CLI's --auth), says the
    probe's line first, and keeps the message column straight past "inconclusive"."""
    from tests.servers import free_port

    result = repo_on_path.runpytest(
        "--pyargs", "contracts.suite", "--r360-url", f"http://127.0.0.1:{free_port()}/webhooks",
        "--r360-checks", "auth-required,accepts-valid,idempotency", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(failed=1, skipped=2)
    lines = result.stdout.lines
    start = lines.index(next(line for line in lines if line.strip("= ") == "r360 webhook checks"))
    assert lines[start + 1].startswith("target unreachable: cannot connect to 127.0.0.1")
    rows = lines[start + 2 : start + 5]
    assert [row.split()[:2] for row in rows] == [
        ["auth-required", "skipped"],
        ["accepts-valid", "inconclusive"],
        ["idempotency", "skipped"],
    ]
    assert "(--r360-auth SPEC)" in rows[0] and "(--r360-ledger URL)" in rows[2], rows
    assert "not run: target unreachable (see above)" in rows[1], rows
    assert len({row.index(row.split()[2]) for row in rows}) == 1, rows  # one message column
