"""The Flask zoo: each consumer gets exactly the verdicts its case names, and no secret leaks."""

from __future__ import annotations

import json

import pytest

from tests.consumers import _zoo, flask_zoo


@pytest.mark.parametrize("case", flask_zoo.CASES, ids=lambda case: case.name)
def test_flask_consumer_gets_the_expected_verdicts(case: _zoo.Case) -> None:
    report = _zoo.run_case(case)

    got = {f.check: f.status for f in report.findings}
    findings = "\n".join(f"  {f.check}: {f.status}: {f.message}" for f in report.findings)
    assert got == case.expected(), f"{case.name} (seed {report.seed}):\n{findings}"
    text = json.dumps(report.to_json())
    leaked = [i for i, secret in enumerate(_zoo.SECRETS) if secret in text]
    assert not leaked, f"{case.name}: secrets #{leaked} appear in the JSON report"
