"""Run the checks against one consumer and report: the engine behind ``verify`` and the plugin.

A :class:`Report` holds one :class:`~contracts.verifier.Finding` per check, the seed that replays
the run, and renders as DESIGN.md's JSON report or a terminal table. Exit code: 1 when a check
failed, else 0 (warnings and skips do not fail a run).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from contracts.verifier import REGISTRY, STATUSES, CheckContext, Finding, VerifyOptions
from contracts.verifier.target import Target
from mockserver.auth import AuthScheme
from mockserver.settings import DeliverySettings

__all__ = ["Report", "print_report", "verify"]

_STYLE = {"passed": "green", "failed": "bold red", "warning": "yellow", "skipped": "dim"}


@dataclass
class Report:
    target: str
    seed: int
    findings: list[Finding] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for finding in self.findings:
            counts[finding.status] += 1
        return {"passed": counts["passed"], "failed": counts["failed"],
                "warnings": counts["warning"], "skipped": counts["skipped"]}  # fmt: skip

    @property
    def exit_code(self) -> int:
        return 1 if any(f.status == "failed" for f in self.findings) else 0

    def finding(self, check: str) -> Finding:
        return next(f for f in self.findings if f.check == check)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.seed,
            "elapsed_s": round(self.elapsed_s, 3),
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
    report = Report(ctx.target.label, ctx.seed)
    started = time.monotonic()
    try:
        for name in names:
            finding = run_check(ctx, name)
            report.findings.append(finding)
            if on_finding is not None:
                on_finding(finding)
    finally:
        ctx.close()
        report.elapsed_s = time.monotonic() - started
    return report


def run_check(ctx: CheckContext, name: str) -> Finding:
    """One check; a crash inside it is reported as that check's failure, redacted, not raised.

    When an earlier check found that nothing can be delivered (``ctx.blocked``, set by a failed
    ``tls``), the check is skipped with that reason instead of failing on it.
    """
    if ctx.blocked is not None:
        return Finding(name, "skipped", ctx.blocked)
    try:
        return REGISTRY.get(name)(ctx)
    except Exception as error:
        text = ctx.redactor.text("".join(traceback.format_exception_only(error)).strip())
        return Finding(name, "failed", f"the check could not run: {text}",
                       {"traceback": ctx.redactor.text(traceback.format_exc())})  # fmt: skip


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"r360-webhooks verify: {report.target}", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("result", overflow="fold")
    for finding in report.findings:
        style = _STYLE[finding.status]
        table.add_row(finding.check, f"[{style}]{finding.status}[/]", finding.message)
    console.print(table)
    for finding in report.findings:
        if finding.status == "failed" and "curl" in finding.details:
            console.print(f"[bold]{finding.check}[/] reproduce with:", highlight=False)
            console.print(finding.details["curl"], highlight=False, soft_wrap=True)
    s = report.summary
    console.print(
        f"{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
        f"{s['skipped']} skipped in {report.elapsed_s:.1f} s (seed {report.seed})",
        highlight=False,
    )
