"""Read one node of a schema set: its ``$ref`` followed, its JSON types, values and bounds.

Why a module of its own: ``contracts.diff`` compares two nodes keyword by keyword, and what a
node *allows* (which JSON types, which values, which range) has to be read the same way on both
sides and in every rule. Keeping the reading here, apart from the rules, leaves the walk short and
means "what types does this node allow?" has one answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.jsontext import json_type
from contracts.schemaset import SchemaSet

__all__ = [
    "Side",
    "Target",
    "Types",
    "branches",
    "canon",
    "combinator",
    "enum_values",
    "hop",
    "lower_bound",
    "may_be",
    "same_types",
    "show_types",
    "types_of",
    "upper_bound",
    "view",
    "within",
    "without_ref",
]

#: JSON types a node allows; ``None`` is any JSON value.
Types = frozenset[str] | None
#: Where a ``$ref`` points: (file, JSON Pointer fragment).
Target = tuple[str, str]

_TYPE_ORDER = ("object", "array", "string", "number", "integer", "boolean", "null")


@dataclass(frozen=True, slots=True)
class Side:
    """A schema node of one set and the file its ``$ref``\\ s resolve in."""

    schema: Any
    file: str


def hop(schema_set: SchemaSet, side: Side) -> Target | None:
    """Where the node's own ``$ref`` points, or ``None`` for a node without one."""
    ref = side.schema.get("$ref") if isinstance(side.schema, Mapping) else None
    if not isinstance(ref, str):
        return None
    _, file, fragment = schema_set.follow(side.file, ref)
    return file, fragment


def view(schema_set: SchemaSet, side: Side) -> Side:
    """The node with its ``$ref`` chain followed: the target, with the keywords written beside
    each ``$ref`` laid over it (a ``description`` beside a ``$ref`` is the nearer one).

    Keywords beside a ``$ref`` that hold subschemas would resolve in the referring file; the v1
    sets only write annotations there.
    """
    schema, file = side.schema, side.file
    beside: dict[str, Any] = {}
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        beside = {**{k: v for k, v in schema.items() if k != "$ref"}, **beside}
        schema, file, _ = schema_set.follow(file, schema["$ref"])
    if schema is True:
        schema = {}
    if beside and isinstance(schema, Mapping):
        schema = {**schema, **beside}
    return Side(schema, file)


def without_ref(side: Side) -> Side:
    """The keywords written beside the node's ``$ref`` (an empty schema for a bare ``$ref``)."""
    if not isinstance(side.schema, Mapping):
        return Side({} if side.schema is True else side.schema, side.file)
    return Side({k: v for k, v in side.schema.items() if k != "$ref"}, side.file)


def combinator(schema: Mapping[str, Any]) -> str | None:
    return "anyOf" if "anyOf" in schema else "oneOf" if "oneOf" in schema else None


def branches(side: Side) -> list[tuple[Side, str]]:
    """A node's alternatives with their pointer suffix; a plain node is its own only one."""
    kind = combinator(side.schema)
    if kind is None:
        return [(side, "")]
    return [(Side(b, side.file), f"/{kind}/{i}") for i, b in enumerate(side.schema[kind])]


def types_of(schema_set: SchemaSet, side: Side) -> Types:
    """The JSON types a (viewed) node allows: from ``type``, its alternatives, or its values."""
    schema = side.schema
    if not isinstance(schema, Mapping):
        return frozenset() if schema is False else None
    kind = combinator(schema)
    if kind is not None:
        found: set[str] = set()
        for branch in schema[kind]:
            types = types_of(schema_set, view(schema_set, Side(branch, side.file)))
            if types is None:
                return None
            found |= types
        return frozenset(found)
    declared = schema.get("type")
    if declared is not None:
        return frozenset([declared] if isinstance(declared, str) else declared)
    values = enum_values(schema)
    return None if values is None else frozenset(json_type(v, integers=True) for v in values)


def within(inner: Types, outer: Types) -> bool:
    """Whether every value of types ``inner`` is one of ``outer`` (an integer is a number)."""
    if outer is None:
        return True
    if inner is None:
        return False
    return all(t in outer or (t == "integer" and "number" in outer) for t in inner)


def same_types(a: Types, b: Types) -> bool:
    return within(a, b) and within(b, a)


def may_be(types: Types, kind: str) -> bool:
    """Whether a value of JSON type ``kind`` may appear (so ``kind``'s keywords matter)."""
    if types is None:
        return True
    return kind in types or (kind == "number" and "integer" in types)


def show_types(types: Types) -> str:
    if types is None:
        return "any"
    if not types:
        return "none"
    return " | ".join(sorted(types, key=_TYPE_ORDER.index))


def enum_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values a node is limited to (``enum``, or ``const`` as a list of one), or ``None``."""
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def lower_bound(schema: Mapping[str, Any]) -> tuple[float, bool] | None:
    """The lower bound as (value, exclusive); at one value, the exclusive one is tighter."""
    bounds = [(schema["minimum"], False)] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        bounds.append((schema["exclusiveMinimum"], True))
    return max(bounds) if bounds else None


def upper_bound(schema: Mapping[str, Any]) -> tuple[float, bool] | None:
    """The upper bound as (value, exclusive); at one value, the exclusive one is tighter."""
    bounds = [(schema["maximum"], False)] if "maximum" in schema else []
    if "exclusiveMaximum" in schema:
        bounds.append((schema["exclusiveMaximum"], True))
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def canon(value: Any) -> str:
    """A key under which equal JSON values are equal: ``1`` and ``1.0`` are, ``1`` and ``true``
    are not (as JSON Schema compares ``enum`` values)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    kind = json_type(value)
    return json.dumps([kind, value], sort_keys=True)
