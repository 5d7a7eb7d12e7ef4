"""The verifier: checks that prove a consumer endpoint handles what Record360 sends.

Floor 3 of the house (DESIGN.md, "Layers"): it builds on the contract (``contracts``) and on
Record360's side (``mockserver``: the sender, the settings factory) and is used by the faces (the
CLI and the pytest plugin). Its public face is small on purpose::

    from contracts.verifier import verify, VerifyOptions
    report = verify("https://consumer.example/webhooks", options=VerifyOptions(max_time_s=60))

Checks are plain functions registered once with :func:`check`; each returns a :class:`Finding`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import lazy_names

if TYPE_CHECKING:
    from contracts.verifier.context import CheckContext, VerifyOptions
    from contracts.verifier.finding import STATUSES, Finding, Status
    from contracts.verifier.registry import REGISTRY, check
    from contracts.verifier.report import Report, print_report, verify
    from contracts.verifier.target import Target

#: Where each public name lives; a module is imported when one of its names is first asked for
#: (PEP 562), so the CLI can name the checks in ``--help`` (:mod:`contracts.verifier.check_names`)
#: without loading the HTTP clients and Hypothesis the checks run on.
_HOMES = {
    "CheckContext": "context", "VerifyOptions": "context",
    "STATUSES": "finding", "Finding": "finding", "Status": "finding",
    "REGISTRY": "registry", "check": "registry",
    "Report": "report", "print_report": "report", "verify": "report",
    "Target": "target",
}  # fmt: skip


# The registry is complete only once every check module has registered its check.
__getattr__ = lazy_names(__name__, _HOMES, globals(), first={"REGISTRY": "checks"})


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
