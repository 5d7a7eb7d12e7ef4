"""The FastAPI zoo: each consumer gets exactly the verdicts its case expects, and no secret leaks."""

from __future__ import annotations

import pytest

from tests.consumers import fastapi_zoo
from tests.consumers._zoo import Case, assert_verdicts, run_case


@pytest.mark.parametrize("case", fastapi_zoo.CASES, ids=lambda case: case.name)
def test_fastapi_consumer_gets_exactly_its_verdicts(case: Case) -> None:
    assert_verdicts(case, run_case(case))
