"""contracts.strategies: every body validates, coverage is real, failures shrink, bad args fail."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from contracts import evolution, schemas, strategies
from contracts._draw import DrawChooser
from contracts._generate import generate
from contracts.errors import InvalidArgument
from contracts.strict import undocumented
from contracts.walk import is_record, iter_nodes

ENVELOPE = {"transaction.create": "transaction", "task.completed": "task"}


@given(strategies.webhook_payloads())
def test_every_webhook_payload_is_valid_and_documented(body: dict[str, Any]) -> None:
    assert schemas.validate(body) == []
    assert undocumented(body) == []
    assert schemas.event_of(body) in ENVELOPE


@pytest.mark.parametrize(
    ("strategy", "event"),
    [(strategies.transactions(), "transaction.create"), (strategies.tasks(), "task.completed")],
)
@given(data=st.data())
def test_resource_strategies_are_valid(strategy: Any, event: str, data: st.DataObject) -> None:
    resource = data.draw(strategy)
    body = {"event": schemas.spec_for(event).event, ENVELOPE[event]: resource}
    assert schemas.validate(body) == []


@pytest.mark.parametrize("event", list(ENVELOPE))
@given(data=st.data())
def test_webhook_payloads_for_one_event(event: str, data: st.DataObject) -> None:
    body = data.draw(strategies.webhook_payloads(event=event))
    assert schemas.event_of(body) == event


def test_coverage_over_200_bodies_every_optional_field_present_and_absent() -> None:
    present: dict[str, set[str]] = defaultdict(set)
    absent: dict[str, set[str]] = defaultdict(set)
    check_in: set[Any] = set()

    @settings(
        max_examples=200, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(strategies.webhook_payloads())
    def collect(body: dict[str, Any]) -> None:
        event = schemas.event_of(body)
        assert event is not None
        if event == "transaction.create":
            check_in.add(body["transaction"]["check_in"])
        for node in iter_nodes(body, event=event):
            if is_record(node.schema):
                assert node.schema is not None
                for key in node.schema["properties"]:
                    (present if key in node.value else absent)[node.schema["$id"]].add(key)

    collect()
    assert check_in == {True, False, None}
    missing = []
    for name in schemas.schema_names():
        schema = schemas.load_schema(name)
        if not is_record(schema):
            continue
        for key in set(schema["properties"]) - set(schema.get("required", [])):
            if key not in present[schema["$id"]]:
                missing.append(f"{name}.{key} never present")
            if key not in absent[schema["$id"]]:
                missing.append(f"{name}.{key} never absent")
    assert missing == []


def _only_required(value: Any, schema_name: str) -> list[str]:
    """Paths where a shrunk body still holds an optional field or a non-empty list."""
    problems = []
    for node in iter_nodes({"event": "create", "transaction": value}, event="transaction.create"):
        if isinstance(node.value, list) and node.value and node.path[-1] != "geo_coord":
            problems.append(f"{schemas.format_path(node.path)} not empty")
        if is_record(node.schema) and isinstance(node.value, dict):
            assert node.schema is not None
            extra = set(node.value) - set(node.schema.get("required", []))
            problems += [f"{schemas.format_path(node.path)}.{key} optional" for key in extra]
    return problems


def test_shrinking_gives_the_smallest_body_with_check_in_null() -> None:
    smallest = find(
        strategies.transactions(), lambda t: t["check_in"] is None, settings=settings(database=None)
    )
    assert smallest["check_in"] is None
    assert _only_required(smallest, "transaction") == []
    assert smallest["id"] == "1" and smallest["created_at"] == "2015-01-01T00:00:00.000Z"
    assert smallest["notations"] == {} and smallest["user"]["first_name"] == "Macy"


@given(strategies.evolved_payloads())
def test_evolved_bodies_validate_and_report_exactly_the_added_paths(
    evolved: strategies.EvolvedPayload,
) -> None:
    assert schemas.validate(evolved.payload) == []
    expected = sorted(
        path
        for change in evolved.changes
        if evolution.catalogue()[change.name].undocumented
        for path in change.added
    )
    assert sorted(undocumented(evolved.payload, event=evolved.event)) == expected
    assert 1 <= len(evolved.changes) <= 3


@pytest.mark.parametrize("name", list(evolution.catalogue()))
@given(data=st.data())
def test_each_change_alone(name: str, data: st.DataObject) -> None:
    evolved = data.draw(strategies.evolved_payloads(changes=[name]))
    assert evolved.names == (name,)
    assert schemas.validate(evolved.payload) == []
    [change] = evolved.changes
    if evolution.catalogue()[name].undocumented:
        assert change.added and sorted(undocumented(evolved.payload)) == sorted(change.added)
    else:
        assert undocumented(evolved.payload) == []


@given(data=st.data())
def test_all_changes_combine(data: st.DataObject) -> None:
    names = evolution.applicable_changes("transaction.create")
    evolved = data.draw(strategies.evolved_payloads(event="transaction.create", changes=names))
    assert evolved.names == tuple(names)
    assert schemas.validate(evolved.payload) == []


def _ids(body: Any, event: str) -> list[str]:
    id_schema = schemas.load_schema("common")["$defs"]["id"]
    return [n.value for n in iter_nodes(body, event=event) if n.schema is id_schema]


@given(strategies.evolved_payloads(changes=["opaque-id"]))
def test_opaque_ids_are_long_and_not_numeric(evolved: strategies.EvolvedPayload) -> None:
    ids = _ids(evolved.payload, evolved.event)
    assert ids and all(20 < len(i) <= 255 and not i.isdigit() for i in ids)


@given(data=st.data(), event=st.sampled_from(list(ENVELOPE)))
def test_reordered_keys_differ_in_order_but_are_equal_as_data(
    data: st.DataObject, event: str
) -> None:
    chooser = DrawChooser(data.draw)
    original = generate(event, chooser)
    evolved = copy.deepcopy(original)
    evolution.evolve(evolved, event, ["reordered-keys"], chooser)
    assert evolved == original
    assert json.dumps(evolved) != json.dumps(original)


@given(strategies.unknown_events())
def test_unknown_events_are_unknown_but_otherwise_well_formed(body: dict[str, Any]) -> None:
    assert schemas.event_of(body) is None
    assert isinstance(body["event"], str)
    rules = {(v.path, v.rule) for v in schemas.validate(body)}
    assert rules in ({("$.event", "const")}, {("$", "event")})


def test_unknown_events_cover_both_kinds() -> None:
    find(
        strategies.unknown_events(),
        lambda b: "transaction" in b or "task" in b,
        settings=settings(database=None),
    )
    find(
        strategies.unknown_events(),
        lambda b: not ({"transaction", "task"} & set(b)),
        settings=settings(database=None),
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: strategies.webhook_payloads(event="nope"), "unknown event 'nope'"),
        (lambda: strategies.evolved_payloads(event="nope"), "unknown event 'nope'"),
        (lambda: strategies.evolved_payloads(changes=["nope"]), "unknown change 'nope'"),
        (
            lambda: strategies.evolved_payloads(changes="added-field"),
            "not the string 'added-field'",
        ),
        (lambda: strategies.evolved_payloads(changes=[]), "at least one change"),
        (
            lambda: strategies.evolved_payloads(
                event="task.completed", changes=["new-workflow-module"]
            ),
            "'new-workflow-module' does not apply to 'task.completed'",
        ),
    ],
)
def test_bad_arguments_fail_at_call_time(call: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_strategies_exports() -> None:
    assert sorted(strategies.__all__) == [
        "EvolvedPayload",
        "evolved_payloads",
        "tasks",
        "transactions",
        "unknown_events",
        "webhook_payloads",
    ]
