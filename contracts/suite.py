"""The built-in suite: one test per check (``pytest --pyargs contracts.suite --r360-url URL``).

Import ``test_r360_check`` into a test module of yours to run it against the ``r360_target``
your conftest defines (an in-process Flask, Django or FastAPI app, or a URL).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

__all__ = ["test_r360_check"]

_PAYLOAD_CHARS = 2000
_SEE_SUMMARY = "(see the r360 webhook checks summary)"


def test_r360_check(r360_check: str, r360_verification: Any, pytestconfig: Any) -> None:
    finding = r360_verification.run(r360_check)
    if finding.status == "skipped":
        pytest.skip(in_pytest_words(finding.message))
    if finding.status == "inconclusive":
        # The check could not judge (unreachable, wrong credentials, limited, out of time): that
        # is not a pass. It fails, unless --r360-inconclusive=skip asks for a skip.
        # A blocked check's "(see above)" points at the probe's line, which is in the summary.
        why = in_pytest_words(finding.message).replace("(see above)", _SEE_SUMMARY)
        message = f"{finding.check}: inconclusive: {why}"
        from contracts.plugin import inconclusive_mode

        if inconclusive_mode(pytestconfig) == "skip":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    if finding.status == "failed":
        pytest.fail(_explain(finding), pytrace=False)


def in_pytest_words(message: str) -> str:
    """A finding's message with the CLI's flags spelled as this plugin's (``--ledger`` is
    ``--r360-ledger`` here): the user reads it in pytest's output and types what it says."""
    from contracts.plugin import OPTIONS

    names = "|".join(re.escape(name) for name in sorted(OPTIONS, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])--({names})\b", r"--r360-\1", message)


def _explain(finding: Any) -> str:
    lines = [f"{finding.check}: {in_pytest_words(finding.message)}"]
    details = finding.details
    if "change" in details:
        lines.append(f"change: {details['change']}")
    if "response" in details:
        response = details["response"]
        lines.append(f"response: {response.get('status')} {response.get('error', '')}".rstrip())
        if response.get("body"):
            lines.append(f"response body: {response['body'][:300]}")
    if "payload" in details:
        body = json.dumps(details["payload"], ensure_ascii=False)
        lines.append(
            "smallest body: "
            + (body if len(body) < _PAYLOAD_CHARS else body[:_PAYLOAD_CHARS] + "...")
        )
    if "curl" in details:
        lines.append(f"reproduce: {details['curl']}")
    if "seed" in details:
        lines.append(f"replay: --r360-seed {details['seed']}")
    return "\n".join(lines)
