"""The strict view: which parts of a body the contract does not describe.

The schemas are open on purpose (Record360 may add properties at any time), so validation alone
cannot tell a documented field from a new one. This module derives the strict reading from the
same open schemas instead of keeping a closed second copy that would drift:

* an object schema that lists ``properties`` and says nothing about ``additionalProperties`` is a
  *record*: a key it does not list is undocumented;
* an object schema with ``additionalProperties`` (a schema or ``true``) is a *map*: its keys are
  data chosen by the customer (checklist labels, notation sections, ``extended`` attributes), so
  new keys are described, and their values are walked with the ``additionalProperties`` schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from referencing._core import Resolver

from contracts import schemas
from contracts.schemas import JSON

__all__ = ["undocumented"]

_JSON_TYPES = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def undocumented(payload: JSON, *, event: str | None = None) -> list[str]:
    """JSON paths in ``payload`` that the contract does not describe, in document order.

    Unknown keys are reported where they appear (``$.transaction.photos[0].blur_score``); their
    contents are not walked further. For a body of an unknown event, the unknown resource key is
    reported and a known resource key is walked with its usual schema.
    """
    if not isinstance(payload, Mapping):
        return []
    name = event or schemas.event_of(payload)
    if name is None:
        name = next(
            (s.name for s in schemas.known_events() if s.resource in payload),
            schemas.known_events()[0].name,
        )
    schema = schemas.load_schema(name)
    resolver = schemas.registry().resolver(base_uri=schema["$id"])
    found: list[str] = []
    _walk(payload, schema, resolver, [], found)
    return found


def _walk(
    value: JSON,
    schema: Mapping[str, Any],
    resolver: Resolver[Any],
    path: list[str | int],
    found: list[str],
) -> None:
    schema, resolver = _resolve(schema, resolver)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for branch in branches:
            branch, branch_resolver = _resolve(branch, resolver)
            if _accepts_type(branch, value):
                _walk(value, branch, branch_resolver, path, found)
                return
        return
    if isinstance(value, Mapping):
        _walk_object(value, schema, resolver, path, found)
    elif isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        items = schema.get("items")
        for index, item in enumerate(value):
            sub = prefix[index] if index < len(prefix) else items
            if isinstance(sub, Mapping):
                _walk(item, sub, resolver, [*path, index], found)


def _walk_object(
    value: Mapping[str, JSON],
    schema: Mapping[str, Any],
    resolver: Resolver[Any],
    path: list[str | int],
    found: list[str],
) -> None:
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if properties is not None and key in properties:
            _walk(item, properties[key], resolver, [*path, key], found)
        elif isinstance(additional, Mapping):
            _walk(item, additional, resolver, [*path, key], found)
        elif additional is None and properties is not None:
            found.append(schemas.format_path([*path, key]))


def _resolve(
    schema: Mapping[str, Any], resolver: Resolver[Any]
) -> tuple[Mapping[str, Any], Resolver[Any]]:
    """Follow ``$ref`` chains, keeping the resolver based where the target lives."""
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    return schema, resolver


def _accepts_type(schema: Mapping[str, Any], value: JSON) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    names = [declared] if isinstance(declared, str) else declared
    return any(_JSON_TYPES[name](value) for name in names)
