"""The verifier: checks that prove a consumer endpoint handles what Record360 sends.

Floor 3 of the house (DESIGN.md, "Layers"): it builds on the contract (``contracts``) and on
Record360's side (``mockserver``: the sender, the settings factory) and is used by the faces (the
CLI and the pytest plugin). Its public face is small on purpose::

    from contracts.verifier import verify, VerifyOptions
    report = verify("https://consumer.example/webhooks", options=VerifyOptions(max_time_s=60))

Checks are plain functions registered once with :func:`check`; each returns a :class:`Finding`.
"""

from __future__ import annotations

from contracts.verifier import checks as _checks  # noqa: F401  (registers the nine checks)
from contracts.verifier.context import CheckContext, VerifyOptions
from contracts.verifier.finding import STATUSES, Finding, Status
from contracts.verifier.registry import REGISTRY, check
from contracts.verifier.report import Report, print_report, verify
from contracts.verifier.target import Target

__all__ = [
    "REGISTRY",
    "STATUSES",
    "CheckContext",
    "Finding",
    "Report",
    "Status",
    "Target",
    "VerifyOptions",
    "check",
    "print_report",
    "verify",
]
