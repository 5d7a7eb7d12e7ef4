"""The Flask zoo: each consumer gets exactly the verdicts its case names, and no secret leaks."""

from __future__ import annotations

import pytest

from tests.consumers import _zoo, flask_zoo


@pytest.mark.parametrize("case", flask_zoo.CASES, ids=lambda case: case.name)
def test_flask_consumer_gets_the_expected_verdicts(case: _zoo.Case) -> None:
    _zoo.assert_verdicts(case, _zoo.run_case(case))
