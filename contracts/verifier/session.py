"""The plugin's verification run: each check executed once, findings kept for the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.verifier import CheckContext, Finding, VerifyOptions
from contracts.verifier.report import run_check
from contracts.verifier.target import Target
from mockserver.auth import AuthScheme

__all__ = ["Verification"]


@dataclass
class Verification:
    context: CheckContext
    findings: list[Finding]
    done: dict[str, Finding] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        target: Any,
        *,
        auth: AuthScheme | None,
        headers: dict[str, str],
        options: VerifyOptions,
        ca_bundle: str | None,
        findings: list[Finding],
    ) -> Verification:
        context = CheckContext.create(
            Target.coerce(target, ca_bundle=ca_bundle), auth=auth, headers=headers, options=options
        )
        return cls(context, findings)

    def run(self, name: str) -> Finding:
        """The finding of check ``name``, run once. Tests are parametrized in registry order,
        so ``latency`` comes last and judges every answer the run produced."""
        if name not in self.done:
            finding = run_check(self.context, name)
            self.done[name] = finding
            self.findings.append(finding)
        return self.done[name]

    def close(self) -> None:
        self.context.close()
