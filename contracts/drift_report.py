"""What a drift run found, as data: the JSON report, and the verdict behind the exit code.

Why a separate module: :mod:`contracts.drift` counts, :mod:`contracts.proposal` writes the patch,
and the command line only prints. This is the one place that decides what the findings *are*
(lists sorted by count, shares, unseen and confirmed fields, the proposed patch and whether it is
compatible) so the terminal summary, ``--markdown`` and ``--report-json`` cannot disagree.

Exit codes (:attr:`DriftReport.exit_code`): 0 no drift; 1 violations of the contract (or
deliveries whose body is not a JSON object), or no body of a known event to judge at all (an
empty capture, or only deliveries the recorder refused: "no drift" would be a false all-clear);
3 only undocumented paths or unknown events; 2 is the command line's, for bad input. Refused
deliveries (``record`` answered 401 or 413 and kept no body) are counted apart and never change
the code by themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.drift import Counts, Drift, Position
from contracts.proposal import Patch, check_compatible, propose

__all__ = ["DriftReport", "build_report"]

NO_DRIFT, VIOLATIONS, UNDOCUMENTED = 0, 1, 3


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every finding of one drift run; :meth:`to_json` is the ``--report-json`` document."""

    sources: tuple[str, ...]
    bodies: int
    walked: int
    events: dict[str, int]
    first_date: str | None
    last_date: str | None
    unknown_events: list[dict[str, Any]]
    problems: dict[str, Any]
    violations: list[dict[str, Any]]
    undocumented: list[dict[str, Any]]
    unseen: list[dict[str, Any]]
    confirmed: list[dict[str, Any]]
    proposed_patch: Patch
    incompatible: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    @property
    def exit_code(self) -> int:
        if self.violations or self.problems["count"]:
            return VIOLATIONS
        if self.undocumented or self.unknown_events:
            return UNDOCUMENTED
        return NO_DRIFT if self.walked else VIOLATIONS

    @property
    def verdict(self) -> str:
        """What the exit code means for this run, in words (the summary's last line)."""
        if self.violations or self.problems["count"]:
            return "violations of the contract"
        if self.undocumented or self.unknown_events:
            return "the contract is behind traffic (undocumented paths or unknown events)"
        if self.walked:
            return "no drift"
        why = "no bodies in the capture: check the recorder's URL"
        if self.refused:
            why += f" and its --auth ({self.refused} deliveries refused)"
        return why

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "bodies": self.bodies,
            "judged": self.walked,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "events": self.events,
            "unknown_events": self.unknown_events,
            "problems": self.problems,
            "refused": self.refused,
            "violations": self.violations,
            "undocumented": self.undocumented,
            "unseen": self.unseen,
            "confirmed": self.confirmed,
            "proposed_patch": self.proposed_patch,
            "compatible": not self.incompatible,
            "incompatible": self.incompatible,
            "dropped": self.dropped,
            "exit_code": self.exit_code,
            "verdict": self.verdict,
        }


def build_report(drift: Drift, counts: Counts, sources: Sequence[str]) -> DriftReport:
    """The findings of ``counts`` (from ``drift``'s schema set) over ``sources``, in order."""

    def where(at: Position) -> str:
        return f"{sources[at[0]]}:{at[1]}"

    def share(count: int, path: str) -> float:
        return round(count / (drift.bodies_where(path, counts.events) or 1), 4)

    undocumented = [
        {
            "path": path,
            "count": seen.count,
            "share": share(seen.count, path),
            "types": sorted(seen.types),
            "example": seen.example,
            "line": where(seen.first),
        }
        for path, seen in counts.undocumented.items()
    ]
    fields = list(drift.fields())
    holders = {target: drift.bodies_with(target, counts.events) for target in counts.targets}
    patch = propose(counts.targets, holders)
    return DriftReport(
        sources=tuple(sources),
        bodies=counts.bodies,
        walked=counts.walked,
        events=dict(counts.events.most_common()),
        first_date=counts.first_date,
        last_date=counts.last_date,
        unknown_events=_by_count(
            {"event": event, "keys": list(keys), "count": seen.count, "line": where(seen.first)}
            for (event, keys), seen in counts.unknown.items()
        ),
        problems={
            "count": counts.problems,
            "lines": [{"line": where(at), "reason": why} for at, why in counts.problem_lines],
        },
        violations=_by_count(
            {"path": path, "rule": rule, "count": seen.count, "line": where(seen.first)}
            for (path, rule), seen in counts.violations.items()
        ),
        undocumented=_by_count(undocumented),
        unseen=[
            {"event": event, "path": f.path, "provenance": f.provenance, "schema": f.schema_file}
            for event, f in fields
            if f.path not in counts.present and f.provenance != "inferred"
        ]
        + [
            {"event": event, "path": f.path, "provenance": f.provenance, "schema": f.schema_file}
            for event, f in fields
            if f.path not in counts.present and f.provenance == "inferred"
        ],
        confirmed=_by_count(
            {
                "path": f.path,
                "count": counts.present[f.path].count,
                "share": share(counts.present[f.path].count, f.path),
                "schema": f.schema_file,
            }
            for _, f in fields
            if f.provenance == "inferred" and f.path in counts.present
        ),
        proposed_patch=patch,
        incompatible=check_compatible(drift.schema_set, patch),
        dropped=dict(counts.dropped),
        refused=counts.refused,
    )


def _by_count(rows: Any) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (-row["count"], row.get("path", row.get("event", ""))))
