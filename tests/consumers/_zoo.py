"""The shape of a zoo case and the one way to run it (shared by every framework module)."""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import trustme

from contracts.verifier import REGISTRY, VerifyOptions
from contracts.verifier.report import Report, verify
from contracts.verifier.target import Target, is_asgi
from mockserver.auth import AuthScheme
from mockserver.auth_spec import parse_auth_spec
from tests.servers import serve_wsgi

Serve = Literal["in-process", "http", "https"]

#: Small but sufficient: every change still gets tried, shrinking stays bounded.
FAST = {
    "examples": 10,
    "evolution_examples": 3,
    "unknown_examples": 5,
    "shrink_budget": 25,
    "burst_count": 60,
    "burst_concurrency": 12,
    "recovery_budget_s": 20.0,
    "retry_after_budget_s": 10.0,
    "timeout_s": 5.0,
    "max_time_s": 60.0,
}
#: Every zoo run must end within its budget; the margin covers one attempt on the wire when the
#: budget runs out and a slow CI machine.
WALL_MARGIN_S = 25.0

#: Secrets used by the zoo; the test asserts none of them appears in any output.
JWT_SECRET = "zoo-jwt-secret-0123456789abcdef-0123456789"
PASSWORD = "zoo-basic-password-42"
API_KEY = "zoo-api-key-0f1e2d3c4b5a"
SPECS = {
    "jwt": f"jwt:hs256:{JWT_SECRET}",
    "basic": f"basic:record360:{PASSWORD}",
    "api-key": f"api-key:X-Api-Key:{API_KEY}",
    "none": None,
}
SECRETS = (JWT_SECRET, PASSWORD, API_KEY)


@dataclass(frozen=True)
class Case:
    """One consumer and the exact status the verifier must give each check."""

    name: str
    #: Builds the app (WSGI or ASGI) given the scheme the sender will use (None: no auth).
    make_app: Callable[[AuthScheme | None], Any]
    #: Key of SPECS: the credentials configured on both sides.
    auth: str
    #: check name -> expected status; checks not named must be "passed".
    expect: dict[str, str] = field(default_factory=dict)
    serve: Serve = "http"
    #: Path of the consumer's ledger (reference format), or None.
    ledger: str | None = "/ledger"
    path: str = "/webhooks"
    options: dict[str, Any] = field(default_factory=dict)
    #: An ssl.SSLContext factory for "https" cases whose certificate is the violation.
    server_cert: Callable[[trustme.CA], ssl.SSLContext] | None = None
    #: Only these checks (``verify --checks``), when the others would depend on timing.
    checks: tuple[str, ...] | None = None

    def expected(self) -> dict[str, str]:
        selected = REGISTRY.select(list(self.checks) if self.checks else None)
        statuses = dict.fromkeys(selected, "passed")
        defaults = {}
        if self.serve == "http":
            defaults["tls"] = "warning"
        if self.serve == "in-process":
            defaults["tls"] = "skipped"
        if self.auth == "none":
            defaults["auth-required"] = defaults["auth-rejects-invalid"] = "skipped"
        if self.ledger is None:
            defaults["idempotency"] = "skipped"
        statuses.update({k: v for k, v in {**defaults, **self.expect}.items() if k in statuses})
        return statuses


def good_cert(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@contextlib.contextmanager
def served(case: Case, app: Any) -> Iterator[Target]:
    """The target for a case: in-process, or a real server on 127.0.0.1 (http or https)."""
    if case.serve == "in-process":
        yield Target.from_app(app, path=case.path)
        return
    if is_asgi(app):
        from tests.consumers._asgi_server import serve_asgi

        server_cm: Any = serve_asgi
    else:
        server_cm = serve_wsgi
    if case.serve == "http":
        with server_cm(app) as server:
            yield Target.from_url(server.url + case.path)
        return
    ca = trustme.CA()
    with contextlib.ExitStack() as stack:
        pem = stack.enter_context(ca.cert_pem.tempfile())
        context = (case.server_cert or good_cert)(ca)
        server = stack.enter_context(server_cm(app, ssl_context=context))
        yield Target.from_url(server.url + case.path, ca_bundle=pem)


def run_case(case: Case) -> Report:
    scheme = parse_auth_spec(SPECS[case.auth]) if SPECS[case.auth] else None
    app = case.make_app(scheme)
    options = VerifyOptions(**{**FAST, **case.options, "ledger": case.ledger, "seed": 1234})
    with served(case, app) as target:
        report = verify(target, auth=scheme, options=options, checks=case.checks)
    assert report.elapsed_s < options.max_time_s + WALL_MARGIN_S, (
        f"{case.name}: {report.elapsed_s:.1f} s, past --max-time {options.max_time_s:g} s"
    )
    return report


def assert_verdicts(case: Case, report: Report) -> None:
    """The case's exact verdicts, and none of the zoo's secrets in the JSON report."""
    got = {f.check: f.status for f in report.findings}
    findings = "\n".join(f"  {f.check}: {f.status}: {f.message}" for f in report.findings)
    assert got == case.expected(), f"{case.name} (seed {report.seed}):\n{findings}"
    text = json.dumps(report.to_json())
    leaked = [i for i, secret in enumerate(SECRETS) if secret in text]
    assert not leaked, f"{case.name}: secrets #{leaked} appear in the JSON report"
