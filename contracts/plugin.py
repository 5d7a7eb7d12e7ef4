"""pytest plugin ``r360``: verify a Record360 webhook consumer from a test run.

Run the built-in suite against a URL::

    pytest --pyargs contracts.suite --r360-url https://localhost:8443/hook --r360-auth bearer:env:T

or against an app in-process: define ``r360_target`` (a URL, a Target, or a WSGI/ASGI app) in
your conftest and import the suite's test into a test module of yours::

    from contracts.suite import test_r360_check  # noqa: F401

Every option has an ini twin (``r360_url``...). One test per check; a failed check fails its
test with the finding's message and a redacted curl line; the terminal summary shows a table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

OPTIONS = {
    # name: (help, ini type)
    "url": ("the consumer endpoint to verify (http or https)", "string"),
    "auth": (
        "auth SPEC the sender uses: basic:U:P, bearer:T, api-key:H:V, jwt:ALG:SECRET",
        "string",
    ),
    "header": ("extra header NAME:VALUE sent with every delivery (repeatable)", "linelist"),
    "checks": ("comma-separated checks to run (default: all)", "string"),
    "ca-bundle": ("CA bundle (PEM) to trust for the consumer's certificate", "string"),
    "ledger": ("idempotency ledger URL, or a /path on the target", "string"),
    "seed": ("seed to replay a run", "string"),
}
FINDINGS = pytest.StashKey[list[Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("r360", "Record360 webhook consumer verification (r360-webhooks)")
    for name, (help_text, kind) in OPTIONS.items():
        dest = _dest(name)
        if kind == "linelist":
            group.addoption(
                f"--r360-{name}", dest=dest, action="append", default=None, help=help_text
            )
        else:
            group.addoption(f"--r360-{name}", dest=dest, default=None, help=help_text)
        parser.addini(dest, help_text, type=kind)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FINDINGS] = []
    config.addinivalue_line("markers", "r360: a Record360 webhook consumer check")


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[FINDINGS] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "r360_check" in metafunc.fixturenames:
        from contracts.verifier import REGISTRY

        text = option(metafunc.config, "checks")
        wanted = [c.strip() for c in text.split(",") if c.strip()] if text else None
        names = REGISTRY.select(wanted)
        metafunc.parametrize("r360_check", names, ids=names)


def option(config: pytest.Config, name: str) -> Any:
    """The command-line value first, the ini value as fallback (None when neither is set)."""
    value = config.getoption(_dest(name))
    if value is None:
        value = config.getini(_dest(name)) or None
    return value


def _dest(name: str) -> str:
    return "r360_" + name.replace("-", "_")


@pytest.fixture(scope="session")
def r360_target(pytestconfig: pytest.Config) -> Any:
    """What to verify: ``--r360-url`` by default; override with a URL, Target or app."""
    url = option(pytestconfig, "url")
    if not url:
        pytest.skip("no consumer to verify: pass --r360-url URL or define the r360_target fixture")
    return url


@pytest.fixture(scope="session")
def r360_auth(pytestconfig: pytest.Config) -> Any:
    """The auth scheme (``--r360-auth``) the sender uses, or None."""
    from mockserver.auth_spec import parse_auth_spec

    spec = option(pytestconfig, "auth")
    return parse_auth_spec(spec, option="--r360-auth") if spec else None


@pytest.fixture(scope="session")
def r360_headers(pytestconfig: pytest.Config) -> dict[str, str]:
    from mockserver.auth_spec import parse_header

    return dict(
        parse_header(h, option="--r360-header") for h in option(pytestconfig, "header") or []
    )


@pytest.fixture(scope="session")
def r360_options(pytestconfig: pytest.Config) -> Any:
    """:class:`contracts.verifier.VerifyOptions` for the run; override to tune it."""
    from contracts.verifier import VerifyOptions

    seed = option(pytestconfig, "seed")
    return VerifyOptions(ledger=option(pytestconfig, "ledger"), seed=int(seed) if seed else None)


@pytest.fixture(scope="session")
def r360_verification(
    pytestconfig: pytest.Config,
    r360_target: Any,
    r360_auth: Any,
    r360_headers: dict[str, str],
    r360_options: Any,
) -> Iterator[Any]:
    """One verification run for the session; each check runs once, on first request."""
    from contracts.verifier.session import Verification

    verification = Verification.start(
        r360_target,
        auth=r360_auth,
        headers=r360_headers,
        options=r360_options,
        ca_bundle=option(pytestconfig, "ca-bundle"),
        findings=pytestconfig.stash[FINDINGS],
    )
    yield verification
    verification.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings = config.stash.get(FINDINGS, [])
    if not findings:
        return
    terminalreporter.section("r360 webhook checks")
    width = max(len(f.check) for f in findings)
    for finding in findings:
        terminalreporter.write_line(
            f"{finding.check:<{width}}  {finding.status:<8} {finding.message}"
        )
