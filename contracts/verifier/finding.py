"""What a check concludes: a finding is data (name, status, one line, details), never an exception.

Checks *return* findings rather than raising, because the same checks feed the pytest plugin, the
``verify`` command and the JSON report, and only the first of those rewrites asserts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: ``inconclusive``: the check's premise never held (the target never answered, the credentials
#: were never accepted, the limit never lifted, the time ran out), so it can claim nothing;
#: ``skipped``: not asked for, or not applicable (no ``--ledger``, no auth configured).
Status = Literal["passed", "failed", "warning", "skipped", "inconclusive"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "warning", "skipped", "inconclusive")


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict of one check.

    ``details`` holds, for a failure: the smallest body the consumer rejected (``payload``), the
    response seen (``response``: status, headers, body excerpt), a ``curl`` line with secrets
    replaced by placeholders, the ``seed`` to replay it and, where it applies, the ``change``
    that broke the consumer. Everything in it has already been redacted.
    """

    check: str
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.check,
            "status": self.status,
            "message": self.message,
            "details": self.details,
        }
