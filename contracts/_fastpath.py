"""The fast path: jsonschema-rs decides valid bodies; only a failure goes to the slow path.

Why: the Python ``jsonschema`` validator checks about 1,000 bodies/s here, about a fiftieth of
jsonschema-rs (``bench/validate.py``), and nearly every body in real traffic is valid. So a body
is judged first by a jsonschema-rs validator compiled from the same schema documents, with every
``format`` replaced by the pattern of :mod:`contracts._formats` (the reference checker's
semantics, run in Rust). Only a body it rejects is handed to :mod:`contracts._details` for the
messages. ``tests/test_fast_parity.py`` holds both validators to the same verdict on 100,000+
generated, evolved and broken bodies.

The fast validator assumes the JSON data model (``dict``, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``) as :func:`json.loads` returns it. What it cannot take (a string with a lone
surrogate, an unknown Python type) raises here and the caller falls back to the slow path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema_rs

from contracts._formats import pattern_for

__all__ = ["FastPath", "ShapeKey", "error_shape", "map_subschemas"]

# Keywords whose value is one subschema, a name -> subschema map, or a list of subschemas.
_ONE = frozenset(
    {
        "additionalProperties",
        "additionalItems",
        "items",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_LIST = frozenset({"prefixItems", "allOf", "anyOf", "oneOf"})

#: A hashable description of why a body failed, without its values (see :func:`error_shape`).
ShapeKey = tuple[Any, ...]


def map_subschemas(schema: Any, fn: Any) -> Any:
    """``schema`` with ``fn`` applied to each of its direct subschemas (a shallow copy).

    Only keywords that hold schemas are visited: a property *named* ``format`` or an
    ``examples`` value that looks like a schema is left alone.
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ONE and isinstance(value, Mapping):
            out[key] = fn(value)
        elif key in _ONE and key == "items" and isinstance(value, list):
            out[key] = [fn(v) for v in value]
        elif key in _MAP and isinstance(value, Mapping):
            out[key] = {name: fn(v) for name, v in value.items()}
        elif key in _LIST and isinstance(value, list):
            out[key] = [fn(v) for v in value]
        else:
            out[key] = value
    return out


def with_patterns(schema: Any, where: str) -> Any:
    """``schema`` with each ``format`` replaced by the pattern that checks it the same way."""
    out = map_subschemas(schema, lambda sub: with_patterns(sub, where))
    if not isinstance(out, dict) or not isinstance(out.get("format"), str):
        return out
    pattern = pattern_for(out.pop("format"), where=where)
    if "pattern" in out:  # keep the schema's own pattern too: both must match
        out["allOf"] = [*out.get("allOf", []), {"pattern": pattern}]
    else:
        out["pattern"] = pattern
    return out


class FastPath:
    """jsonschema-rs validators for one set of schema documents, compiled on first use."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._derived = {
            name: with_patterns(doc, f"{name}.json") for name, doc in documents.items()
        }
        self._registry = jsonschema_rs.Registry(
            [(doc["$id"], doc) for doc in self._derived.values()]
        )
        self._validators: dict[str, jsonschema_rs.Validator] = {}

    def validator(self, name: str) -> jsonschema_rs.Validator:
        """The fast validator of schema ``name`` (its ``is_valid`` is the contract's verdict)."""
        validator = self._validators.get(name)
        if validator is None:
            validator = jsonschema_rs.validator_for(
                self._derived[name],
                registry=self._registry,
                validate_formats=False,  # every format is a pattern now
                pattern_options=jsonschema_rs.RegexOptions(),  # linear time, no backtracking
                offline=True,
            )
            self._validators[name] = validator
        return validator


def error_shape(errors: Iterable[jsonschema_rs.ValidationError], payload: Any) -> ShapeKey:
    """Why a body failed, as a hashable key: keyword, schema location, where (array indices as
    ``*``), the JSON type found and, for ``required``, the missing name; ``anyOf`` branches
    nested. Two bodies with the same key break the same rules at the same (normalised) paths,
    so the slow path's ``(path, rule)`` list for one holds for the other."""
    return tuple(sorted({_shape(error, payload) for error in errors}))


def _shape(error: jsonschema_rs.ValidationError, payload: Any) -> ShapeKey:
    kind = error.kind
    extra = kind.property if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required) else ""
    context: tuple[ShapeKey, ...] = ()
    if isinstance(
        kind,
        jsonschema_rs.ValidationErrorKind.AnyOf
        | jsonschema_rs.ValidationErrorKind.OneOfNotValid
        | jsonschema_rs.ValidationErrorKind.OneOfMultipleValid,
    ):
        context = tuple(error_shape(branch, payload) for branch in kind.context)
    return (
        kind.name,
        tuple(str(part) for part in error.schema_path),
        tuple("*" if isinstance(part, int) else part for part in error.instance_path),
        _type_at(payload, error.instance_path),
        extra,
        context,
    )


def _type_at(payload: Any, path: Sequence[str | int]) -> str:
    value = payload
    for part in path:
        value = value[part]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # nan and inf are numbers to jsonschema, not to jsonschema-rs
    return {dict: "object", list: "array", str: "string", float: "number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
