"""schemas/v1/openapi.json: a valid OpenAPI 3.1 document whose webhooks use the bundled schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from contracts import schemas


def _openapi_path() -> str:
    return str(schemas.schema_dir().joinpath("openapi.json"))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_is_valid_3_1() -> None:
    spec, base_uri = read_from_filename(_openapi_path())
    validate(spec, base_uri=base_uri)
    assert spec["openapi"].startswith("3.1")


def test_every_event_is_a_webhook_with_its_envelope_schema() -> None:
    spec = json.loads(schemas.schema_dir().joinpath("openapi.json").read_text())
    assert set(spec["webhooks"]) == {event.name for event in schemas.known_events()}
    for name, item in spec["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"{name}.json"}
        assert "429" in item["post"]["responses"]


def test_every_ref_resolves_to_a_bundled_schema() -> None:
    """openapi-spec-validator does not follow refs under webhooks, so resolve them ourselves."""
    spec = json.loads(schemas.schema_dir().joinpath("openapi.json").read_text())
    resolver = schemas.registry().resolver()
    refs = list(_refs(spec))
    assert refs
    for ref in refs:
        resolved = resolver.lookup(urljoin(schemas.BASE_URI + "openapi.json", ref))
        assert resolved.contents["title"]
