"""The plugin's verification run: each check executed once, findings kept for the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.verifier.context import CheckContext, VerifyOptions
from contracts.verifier.finding import Finding
from contracts.verifier.probe import Probe
from contracts.verifier.report import run_check, run_probe
from contracts.verifier.target import Target
from mockserver.settings import DeliverySettings

__all__ = ["Verification"]


@dataclass
class Verification:
    context: CheckContext
    findings: list[Finding]
    done: dict[str, Finding] = field(default_factory=dict)
    #: What the probe found, after the first check asked for (``None`` before, or when the
    #: budget was already spent).
    probe: Probe | None = None
    _probed: bool = False

    @classmethod
    def start(
        cls,
        target: Any,
        *,
        settings: DeliverySettings,
        options: VerifyOptions,
        findings: list[Finding],
    ) -> Verification:
        """A run against ``target`` (a URL, a :class:`Target`, an app) with the plugin's
        ``settings``; a URL target that is not the ``--r360-url`` goes through the factory's
        :meth:`~mockserver.settings.DeliverySettings.for_url` too."""
        if isinstance(target, str):
            settings = settings.for_url(target)
            assert settings.url is not None
            target = Target.from_url(
                settings.url, ca_bundle=settings.ca_bundle, insecure=settings.insecure
            )
        context = CheckContext.create(Target.coerce(target), settings=settings, options=options)
        return cls(context, findings)

    def run(self, name: str) -> Finding:
        """The finding of check ``name``, run once. Tests are parametrized in registry order,
        so ``latency`` comes last and judges every answer the run produced."""
        if not self._probed:
            self._probed = True
            self.probe = run_probe(self.context)
        if name not in self.done:
            finding = run_check(self.context, name)
            self.done[name] = finding
            self.findings.append(finding)
        return self.done[name]

    def close(self) -> None:
        self.context.close()
