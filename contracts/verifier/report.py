"""Run the checks against one consumer and report: the engine behind ``verify`` and the plugin.

A :class:`Report` holds what the probe found, one :class:`~contracts.verifier.Finding` per check
and the seed that replays the run, and renders as DESIGN.md's JSON report or a terminal table.
Exit code: 1 when a check failed or is inconclusive (a run that could not judge is not a pass),
else 0 (warnings and skips do not fail a run).

Everything a consumer can influence (a reason phrase, an error text, a header, a body) is printed
as text, never as Rich markup: ``[/x]`` in an answer must not crash the report.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from contracts.verifier import checks as _checks  # noqa: F401  (each check registers on import)
from contracts.verifier.context import BudgetSpent, CheckContext, VerifyOptions
from contracts.verifier.finding import STATUSES, Finding
from contracts.verifier.probe import Probe, probe
from contracts.verifier.registry import REGISTRY
from contracts.verifier.target import Target
from mockserver.auth import AuthScheme
from mockserver.settings import DeliverySettings

__all__ = ["Report", "print_report", "verify"]

_STYLE = {"passed": "green", "failed": "bold red", "warning": "yellow", "skipped": "dim",
          "inconclusive": "magenta"}  # fmt: skip


@dataclass
class Report:
    target: str
    seed: int
    findings: list[Finding] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: What the probe found before the checks (``None`` when no probe ran).
    probe: Probe | None = None
    max_time_s: float | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for finding in self.findings:
            counts[finding.status] += 1
        return {"passed": counts["passed"], "failed": counts["failed"],
                "warnings": counts["warning"], "skipped": counts["skipped"],
                "inconclusive": counts["inconclusive"]}  # fmt: skip

    @property
    def exit_code(self) -> int:
        bad = ("failed", "inconclusive")
        return 1 if any(f.status in bad for f in self.findings) else 0

    def finding(self, check: str) -> Finding:
        return next(f for f in self.findings if f.check == check)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.seed,
            "elapsed_s": round(self.elapsed_s, 3),
            "max_time_s": self.max_time_s,
            "probe": self.probe.to_json() if self.probe is not None else None,
            "checks": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


def verify(
    target: Target | str | Any,
    *,
    auth: AuthScheme | None = None,
    headers: Mapping[str, str] | None = None,
    settings: DeliverySettings | None = None,
    checks: Sequence[str] | None = None,
    options: VerifyOptions | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> Report:
    """Run the selected checks (all by default, in registry order) and return the report.

    ``target`` is a URL, a :class:`Target` or an in-process WSGI/ASGI app. Credentials come as
    ``auth`` and ``headers``, or already made into ``settings`` by
    :func:`mockserver.settings.delivery_settings` (what the CLI and the plugin do).
    """
    names = REGISTRY.select(list(checks) if checks is not None else None)
    ctx = CheckContext.create(
        Target.coerce(target), settings=settings, auth=auth, headers=headers, options=options
    )
    report = Report(ctx.target.label, ctx.seed, max_time_s=ctx.options.max_time_s)
    started = time.monotonic()
    try:
        report.probe = run_probe(ctx)
        for name in names:
            finding = run_check(ctx, name)
            report.findings.append(finding)
            if on_finding is not None:
                on_finding(finding)
    finally:
        ctx.close()
        report.elapsed_s = time.monotonic() - started
    return report


def run_probe(ctx: CheckContext) -> Probe | None:
    """The probe before the checks (see :mod:`~contracts.verifier.probe`); ``None`` when the
    time is already up."""
    try:
        return probe(ctx)
    except BudgetSpent:
        return None


def run_check(ctx: CheckContext, name: str) -> Finding:
    """One check; a crash inside it is reported as that check's failure, redacted, not raised.

    A check that does not apply to this run (no ``--auth``, no ``--ledger``) is ``skipped``
    first, whatever else happened. When nothing can be delivered (``ctx.blocked``: the probe
    found the target unreachable, or TLS failed), the check is ``inconclusive``, its row
    pointing at the reason said once above it, instead of failing on it; so is a check the run's
    time budget ran out in. A TLS failure does not block ``tls`` itself, which names it.
    """
    try:
        skip = REGISTRY.skip_reason(name, ctx)
        if skip is not None:
            return Finding(name, "skipped", skip)
        if REGISTRY.blocked_by(name, ctx.blocked):
            assert ctx.blocked is not None
            return Finding(name, "inconclusive", ctx.blocked.row, {"blocked": ctx.blocked.reason})
        return REGISTRY.get(name)(ctx)
    except BudgetSpent as spent:
        return Finding(name, "inconclusive", str(spent))
    except Exception as error:
        text = ctx.redactor.text("".join(traceback.format_exception_only(error)).strip())
        return Finding(name, "failed", f"the check could not run: {text}",
                       {"traceback": ctx.redactor.text(traceback.format_exc())})  # fmt: skip


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    title = Text(f"r360-webhooks verify: {report.target}")
    table = Table(title=title, title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("result", overflow="fold")
    if report.probe is not None and report.probe.unreachable:
        console.print(Text(f"target unreachable: {report.probe.unreachable}", style="bold red"))
    for finding in report.findings:
        status = Text(finding.status, style=_STYLE[finding.status])
        table.add_row(Text(finding.check), status, Text(finding.message))
    console.print(table)
    for finding in report.findings:
        if finding.status == "failed" and "curl" in finding.details:
            console.print(Text.assemble((finding.check, "bold"), " reproduce with:"))
            console.print(Text(finding.details["curl"]), soft_wrap=True)
    s = report.summary
    console.print(
        Text(
            f"{s['passed']} passed, {s['failed']} failed, {s['inconclusive']} inconclusive, "
            f"{s['warnings']} warnings, {s['skipped']} skipped in {report.elapsed_s:.1f} s "
            f"(seed {report.seed})"
        )
    )
