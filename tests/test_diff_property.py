"""Each verdict of ``contracts.diff`` checked against bodies generated from NEW.

The claim behind every ``info`` rule is that no body valid under NEW surprises a consumer of OLD.
So for each compatible edit, bodies are generated from NEW and read the way a consumer of OLD
reads them: routed by ``event`` value and resource key to OLD's envelope and validated there
(OLD's objects are open, so unknown keys pass), or, for an event OLD does not know,
acknowledged (Record360's policy: new event types appear). The same reading must reject a body
from NEW for the breaking edits, which shows the property could fail.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from jsonschema import Draft202012Validator

from contracts.diff import RULES, Severity, diff
from contracts.schemaset import SchemaSet, load_set
from tests.schema_bodies import webhook_bodies
from tests.schema_edits import EDITS, Edit

COMPATIBLE = [e for e in EDITS if RULES[e.rule].severity is Severity.INFO]
CATCHABLE = [e for e in EDITS if e.catchable]
# Bodies are whole transactions (tens of fields, lists of photos): ~20 ms each to generate.
EXAMPLES = 10
QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]


@cache
def _validator(schema_set: SchemaSet, file: str) -> Draft202012Validator:
    return schema_set.validator(file)


def consumer_accepts(schema_set: SchemaSet, body: Any) -> bool:
    """Whether a consumer written against ``schema_set`` takes ``body``: a known event valid
    under its envelope, or an event it does not know (acknowledged, by policy)."""
    envelope = schema_set.envelope_of(body)
    return envelope is None or _validator(schema_set, envelope.file).is_valid(body)


def _valid_under_new(new: SchemaSet, body: Any) -> None:
    envelope = new.envelope_of(body)
    assert envelope is not None, body
    errors = list(_validator(new, envelope.file).iter_errors(body))
    assert not errors, f"the generator broke NEW's own schema: {errors[0].message[:200]}"


@pytest.mark.parametrize("change", COMPATIBLE, ids=str)
def test_no_body_of_new_surprises_a_consumer_of_old(change: Edit, tmp_path: Path) -> None:
    old, new = change.sets(tmp_path)
    assert all(d.severity is Severity.INFO for d in diff(old, new))

    @settings(max_examples=EXAMPLES, suppress_health_check=QUIET, database=None)
    @given(webhook_bodies(new))
    def old_consumer_accepts(body: Any) -> None:
        _valid_under_new(new, body)
        assert consumer_accepts(old, body)

    old_consumer_accepts()


@pytest.mark.parametrize("change", CATCHABLE, ids=str)
def test_a_breaking_edit_admits_a_body_old_rejects(change: Edit, tmp_path: Path) -> None:
    old, new = change.sets(tmp_path)
    assert [d.severity for d in diff(old, new)] == [Severity.BREAKING]
    surprise = find(
        webhook_bodies(new),
        lambda body: not consumer_accepts(old, body),
        # The first surprise is proof enough; shrinking a whole transaction would take minutes.
        settings=settings(
            max_examples=400, phases=[Phase.generate], suppress_health_check=QUIET, database=None
        ),
    )
    _valid_under_new(new, surprise)


def test_the_generator_keeps_to_the_bundled_schemas() -> None:
    """The property tests are only as good as the bodies: prove them on the bundled set."""
    bundled = load_set("bundled")

    @settings(max_examples=30, suppress_health_check=QUIET, database=None)
    @given(webhook_bodies(bundled))
    def valid(body: Any) -> None:
        _valid_under_new(bundled, body)

    valid()
