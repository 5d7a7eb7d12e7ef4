"""The schema files themselves: complete metadata, provenance on every field, open objects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts import schemas
from contracts.reference import provenance_of

NAMES = schemas.schema_names()


def _subschemas(node: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every schema object below ``node`` with a readable location."""
    if isinstance(node, Mapping):
        yield path, node
        for key in ("properties", "$defs"):
            for name, sub in node.get(key, {}).items():
                yield from _subschemas(sub, f"{path}/{key}/{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), Mapping):
                yield from _subschemas(node[key], f"{path}/{key}")
        for key in ("prefixItems", "anyOf", "oneOf"):
            for index, sub in enumerate(node.get(key, [])):
                yield from _subschemas(sub, f"{path}/{key}/{index}")


def test_there_is_a_schema_per_object_and_event() -> None:
    expected = {
        "transaction", "task", "asset", "user", "location", "photo", "video", "signature",
        "ident_doc", "form", "form_template", "file", "task_person", "activity", "damage",
        "notations", "common", "transaction.create", "task.completed", "webhook",
    }  # fmt: skip
    assert set(NAMES) == expected


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_2020_12_with_id_title_description(name: str) -> None:
    schema = schemas.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{schemas.BASE_URI}{name}.json"
    assert schema["title"].strip()
    assert len(schema["description"]) > 20


@pytest.mark.parametrize("name", NAMES)
def test_every_property_is_described_with_its_provenance(name: str) -> None:
    for where, node in _subschemas(schemas.load_schema(name), name):
        for field, prop in node.get("properties", {}).items():
            description = prop.get("description", "")
            label, rest = provenance_of(description)
            assert label, f"{where}/properties/{field}: description must start with its provenance"
            assert len(rest) > 5, f"{where}/properties/{field}: description says nothing"
        for key in ("$defs",):
            for field, sub in node.get(key, {}).items():
                assert sub.get("description"), f"{where}/{key}/{field} has no description"


@pytest.mark.parametrize("name", NAMES)
def test_objects_are_open(name: str) -> None:
    """Record360 may add properties anywhere: no schema may close an object."""
    for where, node in _subschemas(schemas.load_schema(name), name):
        assert node.get("additionalProperties", True) is not False, where
        assert "unevaluatedProperties" not in node, where


def test_examples_in_schemas_validate_against_their_own_schema() -> None:
    checked = 0
    for name in NAMES:
        resolver = schemas.registry().resolver(base_uri=schemas.load_schema(name)["$id"])
        for where, node in _subschemas(schemas.load_schema(name), name):
            for example in node.get("examples", []):
                validator = Draft202012Validator(
                    node,
                    registry=schemas.registry(),
                    format_checker=Draft202012Validator.FORMAT_CHECKER,
                    _resolver=resolver,
                )
                errors = [e.message for e in validator.iter_errors(example)]
                assert not errors, f"{where}: example {example!r}: {errors}"
                checked += 1
    assert checked > 80


def test_id_and_timestamp_rules() -> None:
    common = schemas.load_schema("common")["$defs"]
    assert common["id"] == {**common["id"], "type": "string", "minLength": 1, "maxLength": 255}
    assert common["timestamp"]["format"] == "date-time"
    geo = common["geo_coord"]
    assert [item["maximum"] for item in geo["prefixItems"]] == [180, 90]
