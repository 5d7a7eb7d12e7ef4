"""pytest plugin ``r360``: verify a Record360 webhook consumer from a test run.

Run the built-in suite against a URL::

    pytest --pyargs contracts.suite --r360-url https://localhost:8443/hook --r360-auth bearer:env:T

or against an app in-process: define ``r360_target`` (a URL, a Target, or a WSGI/ASGI app) in
your conftest and import the suite's test into a test module of yours::

    from contracts.suite import test_r360_check  # noqa: F401

Every option has an ini twin (``r360_url``...). The options are read once, when pytest starts,
through the same settings factory as the CLI (:func:`mockserver.settings.delivery_settings`), so
a bad one is a single ``pytest.UsageError`` line (no traceback whose locals could hold a
secret), and every secret they carry is known to the redactor before anything is sent. One test
per check; a failed check fails its test with the finding's message and a redacted curl line;
the terminal summary shows a table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

OPTIONS = {
    # name: (help, ini type)
    "url": ("the consumer endpoint to verify (http or https)", "string"),
    "auth": (
        "auth SPEC the sender uses: basic:U:P, bearer:T, api-key:H:V, jwt:ALG:SECRET "
        "(secrets may be env:NAME or @file)",
        "string",
    ),
    "jwt-claim": ("extra JWT claim K=V (repeatable), with a jwt: auth SPEC", "linelist"),
    "header": ("extra header NAME:VALUE sent with every delivery (repeatable)", "linelist"),
    "checks": ("comma-separated checks to run (default: all)", "string"),
    "ca-bundle": ("CA bundle (PEM) to trust for the consumer's certificate", "string"),
    "ledger": ("idempotency ledger URL, or a /path on the target", "string"),
    "seed": ("seed to replay a run", "string"),
    "max-time": ("seconds the whole verification may take (default 120)", "string"),
    "corpus": ("a capture of real bodies to add to the checks' inputs (repeatable)", "linelist"),
}
#: What an inconclusive check does to its test (``--r360-inconclusive``, ini
#: ``r360_inconclusive``): by default it fails, since a run that could not judge is no pass.
INCONCLUSIVE = ("fail", "skip")
_INCONCLUSIVE_HELP = "what an inconclusive check does to its test: fail or skip (default: fail)"
FINDINGS = pytest.StashKey[list[Any]]()
UNREACHABLE = pytest.StashKey[str]()
INPUTS = pytest.StashKey["Inputs"]()


@dataclass(frozen=True)
class Inputs:
    """The checked ``--r360-*`` options: settings from the factory, checks, seed, ledger."""

    settings: Any  # mockserver.settings.DeliverySettings, imported lazily
    checks: list[str] | None
    seed: int | None
    ledger: str | None
    max_time_s: float | None
    corpus: tuple[Any, ...]
    #: One of :data:`INCONCLUSIVE`.
    inconclusive: str = "fail"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("r360", "Record360 webhook consumer verification (r360-webhooks)")
    group.addoption(
        "--r360-inconclusive",
        dest="r360_inconclusive",
        choices=INCONCLUSIVE,
        default=None,
        help=_INCONCLUSIVE_HELP,
    )
    parser.addini("r360_inconclusive", _INCONCLUSIVE_HELP, type="string")
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
    if any(option(config, name) for name in (*OPTIONS, "inconclusive")):
        config.stash[INPUTS] = _read_inputs(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[FINDINGS] = []


def _read_inputs(config: pytest.Config) -> Inputs:
    """Check every option now; a problem ends the run with one line, naming the option."""
    from contracts.errors import R360Error

    try:
        return _inputs(config)
    except R360Error as exc:
        raise pytest.UsageError(f"r360: {exc}") from None


def _inputs(config: pytest.Config) -> Inputs:
    from contracts.errors import UsageError
    from contracts.verifier import REGISTRY
    from contracts.verifier.context import check_ledger, parse_max_time
    from contracts.verifier.corpus import read_corpus
    from mockserver.settings import PLUGIN, delivery_settings

    settings = delivery_settings(
        option(config, "url"),
        auth=option(config, "auth"),
        jwt_claims=option(config, "jwt-claim") or (),
        headers=option(config, "header") or (),
        ca_bundle=option(config, "ca-bundle"),
        names=PLUGIN,
    )
    text = option(config, "checks")
    checks = [c.strip() for c in text.split(",") if c.strip()] if text else None
    REGISTRY.select(checks)  # unknown names fail now
    seed_text = option(config, "seed")
    try:
        seed = int(seed_text) if seed_text else None
    except ValueError:
        raise UsageError(f"--r360-seed {seed_text!r} is not an integer") from None
    max_time = parse_max_time(option(config, "max-time"), "--r360-max-time")
    captures = option(config, "corpus")
    corpus = read_corpus(captures) if captures else ()
    ledger = check_ledger(option(config, "ledger"), "--r360-ledger")
    inconclusive = option(config, "inconclusive") or "fail"
    if inconclusive not in INCONCLUSIVE:
        raise UsageError(f"r360_inconclusive {inconclusive!r} must be fail or skip")
    return Inputs(settings, checks, seed, ledger, max_time, corpus, inconclusive)


def inconclusive_mode(config: pytest.Config) -> str:
    """``fail`` or ``skip``: what an inconclusive check does to its test."""
    return _stashed(config).inconclusive


def _stashed(config: pytest.Config) -> Inputs:
    if INPUTS not in config.stash:
        config.stash[INPUTS] = _read_inputs(config)
    return config.stash[INPUTS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "r360_check" in metafunc.fixturenames:
        from contracts.verifier import REGISTRY

        names = REGISTRY.select(_stashed(metafunc.config).checks)
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
    url = _stashed(pytestconfig).settings.url
    if not url:
        pytest.skip("no consumer to verify: pass --r360-url URL or define the r360_target fixture")
    return url


@pytest.fixture(scope="session")
def r360_settings(pytestconfig: pytest.Config) -> Any:
    """The :class:`mockserver.settings.DeliverySettings` the ``--r360-*`` options make."""
    return _stashed(pytestconfig).settings


@pytest.fixture(scope="session")
def r360_options(pytestconfig: pytest.Config) -> Any:
    """:class:`contracts.verifier.VerifyOptions` for the run; override to tune it."""
    from contracts.verifier import VerifyOptions

    inputs = _stashed(pytestconfig)
    options = VerifyOptions(ledger=inputs.ledger, seed=inputs.seed, corpus=inputs.corpus)
    if inputs.max_time_s is not None:
        options = dataclasses.replace(options, max_time_s=inputs.max_time_s)
    return options


@pytest.fixture(scope="session")
def r360_verification(
    pytestconfig: pytest.Config, r360_target: Any, r360_settings: Any, r360_options: Any
) -> Iterator[Any]:
    """One verification run for the session; each check runs once, on first request."""
    from contracts.verifier.session import Verification

    verification = Verification.start(
        r360_target,
        settings=r360_settings,
        options=r360_options,
        findings=pytestconfig.stash[FINDINGS],
    )
    yield verification
    verification.close()
    if verification.probe is not None and verification.probe.unreachable:
        pytestconfig.stash[UNREACHABLE] = verification.probe.unreachable


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings = config.stash.get(FINDINGS, [])
    if not findings:
        return
    from contracts.suite import in_pytest_words
    from contracts.verifier.finding import STATUSES

    terminalreporter.section("r360 webhook checks")
    unreachable = config.stash.get(UNREACHABLE, None)
    if unreachable:
        terminalreporter.write_line(f"target unreachable: {in_pytest_words(unreachable)}")
    width = max(len(f.check) for f in findings)
    status_width = max(len(status) for status in STATUSES)  # "inconclusive"
    for finding in findings:
        terminalreporter.write_line(
            f"{finding.check:<{width}}  {finding.status:<{status_width}}  "
            f"{in_pytest_words(finding.message)}"
        )
