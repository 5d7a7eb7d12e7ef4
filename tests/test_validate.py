"""contracts.schemas.validate / event_of and contracts.strict.undocumented on real bodies."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from contracts import schemas
from contracts.strict import undocumented

EVENTS = [spec.name for spec in schemas.known_events()]
# sha256 of Record360's published example (shared/seed/transaction.create.example.json).
SEED_SHA256 = "b27af78d0fd8ec6f5058352e3f0045ad4d54965916a089153bba1caf17a77dc8"


def _required_paths(
    body: Any, schema: Mapping[str, Any], resolver: Any, path: list[Any]
) -> Iterator[list[Any]]:
    """Every (path to a required property) present in ``body``, found through the schemas."""
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    if isinstance(body, Mapping):
        for key in schema.get("required", []):
            yield [*path, key]
        for key, sub in schema.get("properties", {}).items():
            if key in body:
                yield from _required_paths(body[key], sub, resolver, [*path, key])
    elif isinstance(body, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(body):
            yield from _required_paths(item, schema["items"], resolver, [*path, index])


def _cases() -> list[tuple[str, tuple[Any, ...]]]:
    cases = []
    for event in EVENTS:
        schema = schemas.load_schema(event)
        resolver = schemas.registry().resolver(base_uri=schema["$id"])
        for path in _required_paths(schemas.example(event), schema, resolver, []):
            cases.append((event, tuple(path)))
    return cases


CASES = _cases()


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        body = body[part]
    return body


def test_required_cases_cover_nested_objects() -> None:
    paths = {schemas.format_path(path) for _, path in CASES}
    assert "$.transaction.forms[0].form_template.id" in paths
    assert "$.task.activities[0].user.email" in paths
    assert len(paths) > 50


@pytest.mark.parametrize("event", EVENTS)
def test_examples_validate_and_are_recognised(event: str) -> None:
    body = schemas.example(event)
    assert schemas.validate(body) == []
    assert schemas.event_of(body) == event
    assert undocumented(body) == []


def test_seed_example_is_bundled_byte_for_byte() -> None:
    raw = schemas.example_bytes("transaction.create")
    assert hashlib.sha256(raw).hexdigest() == SEED_SHA256


@pytest.mark.parametrize(("event", "path"), CASES, ids=[schemas.format_path(p) for _, p in CASES])
def test_removing_a_required_field_is_reported_at_its_path(
    event: str, path: tuple[Any, ...]
) -> None:
    body = schemas.example(event)
    del _parent(body, path)[path[-1]]
    violations = schemas.validate(body)
    assert (schemas.format_path(path), "required") in {(v.path, v.rule) for v in violations}


@pytest.mark.parametrize(("event", "path"), CASES, ids=[schemas.format_path(p) for _, p in CASES])
def test_a_wrong_type_is_reported_at_its_path(event: str, path: tuple[Any, ...]) -> None:
    body = schemas.example(event)
    parent = _parent(body, path)
    parent[path[-1]] = {} if isinstance(parent[path[-1]], list) else [1]
    violations = schemas.validate(body)
    assert [(v.path, v.rule) for v in violations] == [
        (schemas.format_path(path), "const" if path == ("event",) else "type")
    ]


@pytest.mark.parametrize(
    ("value", "valid"), [(True, True), (False, True), (None, True), ("yes", False), (1, False)]
)
def test_check_in_may_be_null_but_not_a_string(value: Any, valid: bool) -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["check_in"] = value
    violations = schemas.validate(body)
    assert (violations == []) is valid
    if not valid:
        assert [(v.path, v.rule) for v in violations] == [("$.transaction.check_in", "type")]


@pytest.mark.parametrize(
    "stamp", ["nope", "2024-01-16", "2024-13-16T10:00:13.716Z", "2024-01-16 10:00"]
)
def test_date_time_is_actually_checked(stamp: str) -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["created_at"] = stamp
    assert [(v.path, v.rule) for v in schemas.validate(body)] == [
        ("$.transaction.created_at", "format")
    ]


@pytest.mark.parametrize(("length", "valid"), [(1, True), (255, True), (256, False), (0, False)])
def test_ids_are_opaque_strings_up_to_255(length: int, valid: bool) -> None:
    body = schemas.example("task.completed")
    body["task"]["id"] = ("aZ9-_:/" * 40)[:length]
    assert (schemas.validate(body) == []) is valid


def test_geo_coord_is_longitude_then_latitude() -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["geo_coord"] = [37.78, -122.4]  # swapped: latitude out of range
    assert [(v.path, v.rule) for v in schemas.validate(body)] == [
        ("$.transaction.geo_coord[1]", "minimum")
    ]
    body["transaction"]["geo_coord"] = [1.0]
    assert [v.rule for v in schemas.validate(body)] == ["minItems"]


def test_unknown_properties_are_valid_but_undocumented() -> None:
    body = schemas.example("transaction.create")
    added = {
        "$.account_id": ("account_id",),
        "$.transaction.risk_score": ("transaction", "risk_score"),
        "$.transaction.asset.vin": ("transaction", "asset", "vin"),
        "$.transaction.forms[0].form_template.version": (
            "transaction",
            "forms",
            0,
            "form_template",
            "version",
        ),
        '$.transaction.forms[0]["new key"]': ("transaction", "forms", 0, "new key"),
    }
    for path in added.values():
        _parent(body, path)[path[-1]] = {"nested": [1, {"deep": True}]}
    body["transaction"]["photos"] = [
        {
            "id": "1",
            "created_at": "2024-01-16T10:00:13.716Z",
            "url": "https://x.example/p.jpg",
            "blur": 0.2,
        }
    ]
    body["transaction"]["task_id"] = None
    assert schemas.validate(body) == []
    assert sorted(undocumented(body)) == sorted([*added, "$.transaction.photos[0].blur"])


def test_customer_keys_in_maps_are_documented() -> None:
    """Checklist labels, notation sections and extended attributes are data, not new fields."""
    body = schemas.example("transaction.create")
    transaction = body["transaction"]
    transaction["forms"][0]["values"]["Brand new question?"] = {"any": "json"}
    transaction["notations"]["New Section"] = {"Field": 3}
    transaction["extended"] = {"contract_id": 1, "anything": {"x": 1}}
    assert schemas.validate(body) == []
    assert undocumented(body) == []


def test_undocumented_walks_known_types_of_nullable_fields() -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["work_order_id"] = "33"
    assert undocumented(body) == []


def test_event_of() -> None:
    assert schemas.event_of({"event": "create", "transaction": {}}) == "transaction.create"
    assert schemas.event_of({"event": "completed", "task": {}}) == "task.completed"
    assert schemas.event_of({"event": "updated", "transaction": {}}) is None
    assert schemas.event_of({"event": "created", "work_order": {}}) is None
    assert schemas.event_of({"event": "create"}) is None
    assert schemas.event_of([]) is None


def test_unknown_events_and_non_objects_are_one_violation() -> None:
    assert [v.rule for v in schemas.validate(["not", "an", "object"])] == ["type"]
    [violation] = schemas.validate({"event": "created", "work_order": {"id": "1"}})
    assert (violation.path, violation.rule) == ("$", "event")
    assert "created" in violation.message


def test_new_event_on_known_resource_names_the_event_and_checks_the_resource() -> None:
    body = schemas.example("transaction.create")
    body["event"] = "updated"
    del body["transaction"]["id"]
    assert {(v.path, v.rule) for v in schemas.validate(body)} == {
        ("$.event", "const"),
        ("$.transaction.id", "required"),
    }
    body = {
        "event": "new_thing",
        "work_order": {"id": "1"},
        "transaction": copy.deepcopy(schemas.example("transaction.create")["transaction"]),
    }
    assert undocumented(body) == ["$.work_order"]


def test_forcing_an_event_judges_by_that_envelope() -> None:
    violations = schemas.validate(schemas.example("transaction.create"), event="task.completed")
    assert {(v.path, v.rule) for v in violations} == {("$.event", "const"), ("$.task", "required")}
    with pytest.raises(schemas.UsageError, match="'nope'"):
        schemas.validate({}, event="nope")


def test_validators_are_compiled_once() -> None:
    assert schemas.validator_for("transaction.create") is schemas.validator_for(
        "transaction.create"
    )


def test_messages_are_one_line_and_short() -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["notations"] = "x" * 10_000
    [violation] = schemas.validate(body)
    assert "\n" not in str(violation)
    assert len(str(violation)) < 200
