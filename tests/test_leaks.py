"""Nothing leaks: every entry point, every secret source, a consumer that echoes every header.

The settings factory (:mod:`mockserver.settings`) is the only way from user input to
credentials, so a secret is known to the redactor wherever it came from. This matrix proves it
from the outside: for each entry point (``send``, ``load``, ``verify``, the pytest plugin,
``serve``, ``consumer``, the Locust user) and each secret source (an ``--auth`` SPEC, ``env:``
and ``@file`` header values, user info in the URL), a consumer that echoes every request header
back (in its body, in a header and in its reason phrase, with Rich markup for good measure) and
fails every check leaves the secret in none of the outputs: stdout, stderr, the JSON report,
JUnit XML, the delivery log, the state folder, the control API and the dashboard. Bad input
that carries a secret is tried too: its one-line error must not carry it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from werkzeug.wrappers import Request, Response

import mockserver
from tests._server import wait_until
from tests.servers import RunningServer, serve_wsgi

pytestmark = pytest.mark.slow

AUTH = "leak-auth-token-7f3a9c1e5b"
ENV = "leak-env-header-2d8e4a6c0f"
FILE = "leak-file-header-9b1d3f5a7e"
USER, URLPASS = "leakuser", "leak-url-password-4c6e8a0b2d"
SECRETS = (AUTH, ENV, FILE, URLPASS, base64.b64encode(f"{USER}:{URLPASS}".encode()).decode())
CLI = [sys.executable, "-m", "contracts"]
LOCUSTFILE = str(Path(mockserver.__file__).parent / "locust.py")


#: Every header value the echoing consumer got, so a test can prove the secret went out at all.
RECEIVED: list[str] = []


@Request.application
def echo(request: Request) -> Response:
    """Fails everything, and says back every header it got, three ways, with markup."""
    request.get_data()
    seen = dict(request.headers)
    RECEIVED.extend(seen.values())
    text = " ".join(seen.values())
    body = json.dumps({"you sent": seen, "markup": "[/x] [bold]"})
    reason = re.sub(r"[^\x20-\x7e]", "", text)[:200]
    return Response(
        body,
        status=f"500 [/x]{reason}",
        headers={"X-Echo": re.sub(r"[\r\n]", "", text)[:2000]},
        content_type="application/json",
    )


#: Header names that say nothing of a secret, so that only the source (``env:``, ``@file``)
#: can tell the factory that the value is one (a name like ``X-Signature-Key`` would be
#: redacted for its name alone, and prove nothing about the source).
ENV_HEADER, FILE_HEADER = "X-Tenant-Ref", "X-Route-Tag"


@dataclass(frozen=True)
class Source:
    """One way to hand a secret over, proved on its own (one cell of the matrix each)."""

    name: str
    secret: str

    @property
    def url_user(self) -> bool:
        """The secret is user info in the URL (no --auth then)."""
        return self.name == "url-user-info"

    @property
    def on_the_wire(self) -> str:
        """How the secret looks in the request the consumer gets."""
        return SECRETS[-1] if self.url_user else self.secret


SOURCES = [
    Source("auth-spec", AUTH),
    Source("env-header", ENV),
    Source("file-header", FILE),
    Source("url-user-info", URLPASS),
]


@pytest.fixture(scope="module")
def consumer() -> Iterator[RunningServer]:
    with serve_wsgi(echo) as server:
        yield server


@pytest.fixture(autouse=True)
def forget_received() -> None:
    RECEIVED.clear()


def assert_sent(source: Source) -> None:
    """The consumer got the secret: a clean output proves redaction, not a secret never sent."""
    assert any(source.on_the_wire in value for value in RECEIVED), (source.name, RECEIVED[:5])


@pytest.fixture
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The @file secret, outside the folder whose every file is scanned for leaks."""
    path = tmp_path_factory.mktemp("secret") / "key.txt"
    path.write_text(FILE + "\n")
    return path


def target(server: RunningServer, source: Source) -> str:
    if source.url_user:
        return f"http://{USER}:{URLPASS}@127.0.0.1:{server.port}/hook"
    return server.url + "/hook"


def options(source: Source, secret_file: Path) -> list[str]:
    return {
        "auth-spec": ["--auth", f"bearer:{AUTH}"],
        "env-header": ["--header", f"{ENV_HEADER}:env:R360_LEAK_ENV"],
        "file-header": ["--header", f"{FILE_HEADER}:@{secret_file}"],
        "url-user-info": [],
    }[source.name]


def environment() -> dict[str, str]:
    return {**os.environ, "R360_LEAK_ENV": ENV}


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def assert_clean(where: str, *texts: str) -> None:
    for text in texts:
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{where}: {leaked} in:\n{text[:3000]}"
    assert not any("Traceback (most recent call last)" in text for text in texts), where


def files(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


# -- send, load, verify ------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_send(consumer: RunningServer, source: Source, secret_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "deliveries.jsonl"
    done = run([*CLI, "send", target(consumer, source), *options(source, secret_file),
                "--count", "3", "--retry", "custom:0", "--log", str(log)], tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr  # every delivery dead-lettered
    assert log.stat().st_size > 0 and "[REDACTED]" in log.read_text()
    assert_sent(source)
    assert_clean("send", done.stdout, done.stderr, log.read_text())


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_load(consumer: RunningServer, source: Source, secret_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    done = run([*CLI, "load", target(consumer, source), *options(source, secret_file),
                "--rate", "20", "--duration", "1", "--report", str(report)], tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr  # every request got a 500
    assert_sent(source)
    assert_clean("load", done.stdout, done.stderr, report.read_text())


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_verify(consumer: RunningServer, source: Source, secret_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = run([*CLI, "verify", target(consumer, source), *options(source, secret_file),
                "--examples", "3", "--burst", "10", "--seed", "3", "--max-time", "60",
                "--ledger", "/ledger", "--report-json", str(report)], tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    data = json.loads(report.read_text())
    for check in data["checks"]:
        # Every check ran against the echo (and none can pass it); only the credential checks
        # are not applicable to a run that configures no credentials (a header alone).
        allowed = {"failed", "inconclusive", "warning"}
        if source.name in ("env-header", "file-header") and check["name"].startswith("auth-"):
            allowed = {"skipped"}
        assert check["status"] in allowed, check
    assert "reproduce with:" in done.stdout  # curl lines were printed, and are clean
    assert_sent(source)
    assert_clean("verify", done.stdout, done.stderr, report.read_text())


# -- the pytest plugin ---------------------------------------------------------------------------

PLUGIN_CONFTEST = """
import pytest
from contracts.verifier import VerifyOptions

@pytest.fixture(scope="session")
def r360_options():
    return VerifyOptions(examples=3, evolution_examples=1, unknown_examples=2, shrink_budget=10,
                         burst_count=10, burst_concurrency=4, seed=3, ledger="/ledger",
                         max_time_s=60)
"""


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_plugin(
    consumer: RunningServer,
    source: Source,
    secret_file: Path,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("R360_LEAK_ENV", ENV)
    pytester.makeconftest(PLUGIN_CONFTEST)
    plugin_options = [o.replace("--", "--r360-", 1) if o.startswith("--") else o
                      for o in options(source, secret_file)]  # fmt: skip
    result = pytester.runpytest_subprocess(
        "--pyargs", "contracts.suite", "--r360-url", target(consumer, source), *plugin_options,
        "--junitxml", "junit.xml", "-p", "no:cacheprovider", "-rA",
    )  # fmt: skip
    junit = (pytester.path / "junit.xml").read_text()
    assert result.ret == 1 and "failures=" in junit
    assert_sent(source)
    assert_clean("plugin", result.stdout.str(), result.stderr.str(), junit)


def test_plugin_bad_option_carrying_a_secret(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs", "contracts.suite", "--r360-url", "http://127.0.0.1:9/h",
        "--r360-auth", f"bearer:{AUTH}", "--r360-header", f"NoColon{ENV}",
        "--junitxml", "junit.xml", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # One line, and the blank line pytest ends every usage error with; no traceback.
    assert result.stderr.lines == [
        "ERROR: r360: --r360-header has no ':' between name and value; use NAME:VALUE",
        "",
    ], result.stderr.str()
    junit = pytester.path / "junit.xml"
    assert_clean(
        "plugin usage error",
        result.stdout.str(),
        result.stderr.str(),
        junit.read_text() if junit.exists() else "",
    )


# -- serve ---------------------------------------------------------------------------------------


def serve_config(server: RunningServer, source: Source, secret_file: Path) -> str:
    extra = {
        "auth-spec": f'auth = "bearer:{AUTH}"\n',
        "env-header": f'headers = {{ "{ENV_HEADER}" = "env:R360_LEAK_ENV" }}\n',
        "file-header": f'headers = {{ "{FILE_HEADER}" = "@{secret_file}" }}\n',
        "url-user-info": "",
    }[source.name]
    return (
        f'[[subscriptions]]\nid = "echo"\nurl = "{target(server, source)}"\nretry = "none"\n{extra}'
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_serve(consumer: RunningServer, source: Source, secret_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text(serve_config(consumer, source, secret_file))
    state = tmp_path / "state"
    process = subprocess.Popen(
        [*CLI, "serve", "--config", str(config), "--state", str(state), "--port", "0"],
        cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        base = first.split()[3]
        with httpx.Client(base_url=base, timeout=10) as client:
            accepted = client.post("/v1/events", json={"event": "transaction.create"})
            delivery = accepted.json()["deliveries"][0]["id"]
            record = wait_until(
                lambda: (
                    (r := client.get(f"/v1/deliveries/{delivery}").json())["status"]
                    in ("delivered", "dead-lettered")
                    and r
                )
            )
            assert record["status"] == "dead-lettered", record
            seen = [
                client.get(path).text
                for path in ("/v1/deliveries", f"/v1/deliveries/{delivery}", "/v1/subscriptions",
                             "/", f"/deliveries/{delivery}")
            ]  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert "[REDACTED]" in seen[1]
    assert_sent(source)
    assert_clean("serve", first + out, err, *seen, files(state))


# -- the reference consumer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", [f"bearer:{AUTH}", "bearer:env:R360_LEAK_ENV", "bearer:@{file}"], ids=str
)
def test_consumer(spec: str, secret_file: Path, tmp_path: Path) -> None:
    spec = spec.replace("{file}", str(secret_file))
    process = subprocess.Popen(
        [*CLI, "consumer", "--port", "0", "--auth", spec],
        cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split()[-1]
        secret = {f"bearer:{AUTH}": AUTH, "bearer:env:R360_LEAK_ENV": ENV}.get(spec, FILE)
        body = {"event": "create", "transaction": {"id": "t-1"}}
        for headers in ({"Authorization": f"Bearer {secret}"}, {"Authorization": "Bearer no"}):
            httpx.post(url, json=body, headers=headers, timeout=10)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert "accepted 1" in out, out
    assert_clean("consumer", first + out, err)


# -- the Locust user -----------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_locust(consumer: RunningServer, source: Source, secret_file: Path, tmp_path: Path) -> None:
    env = environment()
    env |= {
        "auth-spec": {"R360_AUTH": f"bearer:{AUTH}"},
        "env-header": {"R360_HEADERS": f"{ENV_HEADER}:env:R360_LEAK_ENV"},
        "file-header": {"R360_HEADERS": f"{FILE_HEADER}:@{secret_file}"},
        "url-user-info": {},
    }[source.name]
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "-u", "2", "-r", "2",
         "--run-time", "5s", "--host", target(consumer, source), "--csv", "run",
         "--only-summary"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    stats = files(tmp_path)
    # The run reached the consumer: Locust's closing summary says so. (Its CSV files are
    # rewritten once a second by a greenlet, and on a busy machine the last rewrite may come
    # before any request; whatever they hold is checked for secrets below.)
    summary = done.stdout + done.stderr
    assert "webhook" in summary and "status 500" in summary, done.stderr[-2000:]
    assert_sent(source)
    assert_clean("locust", done.stdout, done.stderr, stats)
