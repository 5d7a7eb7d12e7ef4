"""Walk a body alongside the schema that describes it, one node at a time.

Both the strict view (which keys does the contract not describe?) and the evolution catalogue
(where are the records, the IDs, the media lists?) need the same thing: every value in a body
paired with the schema that describes it, ``$ref`` followed. Doing that walk once here keeps the
two from disagreeing about what "described" means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts import schemas

if TYPE_CHECKING:  # referencing loads when a registry is built, not with this module
    from referencing._core import Resolver

__all__ = ["Node", "is_record", "iter_nodes", "resolve"]

Path = tuple[str | int, ...]

_JSON_TYPES = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


@dataclass(frozen=True, slots=True)
class Node:
    """A value in a body, where it is, and the (resolved) schema describing it.

    ``schema`` is ``None`` for a key the contract does not describe; such nodes are not walked
    further.
    """

    path: Path
    value: Any
    schema: Mapping[str, Any] | None


def is_record(schema: Mapping[str, Any] | None) -> bool:
    """A record lists its ``properties`` and leaves ``additionalProperties`` unsaid: an unlisted
    key is undocumented. (A map declares ``additionalProperties``: its keys are customer data.)"""
    return schema is not None and "properties" in schema and "additionalProperties" not in schema


def resolve(
    schema: Mapping[str, Any], resolver: Resolver[Any]
) -> tuple[Mapping[str, Any], Resolver[Any]]:
    """Follow ``$ref`` chains, keeping the resolver based where the target lives."""
    while "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    return schema, resolver


def iter_nodes(
    payload: Any, *, event: str, schema_set: schemas.SchemaSet | None = None
) -> Iterator[Node]:
    """Every node of ``payload`` judged as ``event``, parents before children, in body order.

    ``schema_set`` is the bundled contract unless given (a set patched by ``drift --apply``).
    """
    chosen = schema_set or schemas.bundled()
    schema = chosen.load(event)
    resolver = chosen.registry.resolver(base_uri=schema["$id"])
    yield from _walk(payload, schema, resolver, ())


def _walk(
    value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], path: Path
) -> Iterator[Node]:
    schema, resolver = resolve(schema, resolver)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for branch in branches:
            branch, branch_resolver = resolve(branch, resolver)
            if _accepts_type(branch, value):
                yield from _walk(value, branch, branch_resolver, path)
                return
        yield Node(path, value, schema)
        return
    yield Node(path, value, schema)
    if isinstance(value, Mapping):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                yield from _walk(item, properties[key], resolver, (*path, key))
            elif isinstance(additional, Mapping):
                yield from _walk(item, additional, resolver, (*path, key))
            elif additional is None and properties is not None:
                yield Node((*path, key), item, None)
    elif isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        items = schema.get("items")
        for index, item in enumerate(value):
            sub = prefix[index] if index < len(prefix) else items
            if isinstance(sub, Mapping):
                yield from _walk(item, sub, resolver, (*path, index))


def _accepts_type(schema: Mapping[str, Any], value: Any) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    names = [declared] if isinstance(declared, str) else declared
    return any(_JSON_TYPES[name](value) for name in names)
