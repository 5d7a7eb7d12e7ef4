"""The FastAPI zoo: each consumer gets exactly the verdicts its case expects, and no secret leaks."""

from __future__ import annotations

import json

import pytest

from tests.consumers import fastapi_zoo
from tests.consumers._zoo import SECRETS, Case, run_case


@pytest.mark.parametrize("case", fastapi_zoo.CASES, ids=lambda case: case.name)
def test_fastapi_consumer_gets_exactly_its_verdicts(case: Case) -> None:
    report = run_case(case)
    got = {finding.check: finding.status for finding in report.findings}
    messages = "\n".join(f"  {f.check}: {f.status}: {f.message}" for f in report.findings)
    assert got == case.expected(), f"{case.name}: verdicts differ from the case\n{messages}"
    text = json.dumps(report.to_json())
    leaked = [name for name, secret in zip(("jwt", "basic", "api-key"), SECRETS, strict=True)
              if secret in text]  # fmt: skip
    assert not leaked, f"{case.name}: the report shows the {leaked} secret(s)"
