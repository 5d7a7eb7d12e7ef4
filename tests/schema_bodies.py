"""Bodies generated from *any* schema set, for the diff's property tests.

``contracts._generate`` is compiled from the bundled schemas and gives realistic values by field
name, whatever the schema says, so it cannot stand for a patched set. hypothesis-jsonschema, the
usual choice, supports drafts 4 to 7 only (no ``prefixItems``) and its 0.23.1 fails on the
Hypothesis this project pins ("'many' object has no attribute 'more'"). This small generator
covers the keywords ``contracts.diff`` classifies and refuses any other, so a verdict is never
checked against bodies that ignore part of the schema. Values lean to the edges that the diff's
rules talk about: the shortest and longest strings, the bounds of ranges and lists, extra keys in
open objects. ``tests/test_diff_property.py`` checks every body against the set's own validator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from contracts.schemaset import SchemaSet

__all__ = ["FORMATS", "JSON_VALUES", "Unsupported", "bodies", "webhook_bodies"]

_ANNOTATIONS = {
    "$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default",
    "deprecated", "readOnly", "writeOnly", "x-extensible-enum",
}  # fmt: skip
_SUPPORTED = {
    "$ref", "type", "enum", "const", "anyOf", "properties", "required", "additionalProperties",
    "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
}  # fmt: skip
_EXTRA_LIST_ITEMS = 3  # beyond minItems, for unbounded lists: bodies stay small

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=4,
)


def _date_times() -> st.SearchStrategy[str]:
    offsets = st.sampled_from(["Z", "+00:00", "-08:00", "+05:30", "+14:00"])
    moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))
    fractions = st.sampled_from(["", ".000", ".716", ".123456"])
    return st.builds(
        lambda m, f, o: m.strftime("%Y-%m-%dT%H:%M:%S") + f + o, moments, fractions, offsets
    )


FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": _date_times(),
    "date": st.dates().map(lambda d: d.strftime("%Y-%m-%d")).filter(lambda s: len(s) == 10),
    "uri": st.builds(
        lambda scheme, host, path: f"{scheme}://{host}{path}",
        st.sampled_from(["https", "http"]),
        st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|org|example)", fullmatch=True),
        st.from_regex(r"(/[A-Za-z0-9._~-]{0,8}){0,3}", fullmatch=True),
    ),
    "email": st.from_regex(r"[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True),
    "uuid": st.uuids().map(str),
}


class Unsupported(Exception):
    """The schema uses a keyword or format this generator does not model."""


def bodies(schema_set: SchemaSet, file: str) -> st.SearchStrategy[Any]:
    """Values valid under ``file`` of ``schema_set`` (open objects get unknown keys too)."""
    return _Compiler(schema_set).compile(schema_set.documents[file], file)


def webhook_bodies(schema_set: SchemaSet) -> st.SearchStrategy[Any]:
    """Bodies of every event the set lists in ``webhook.json``."""
    compiler = _Compiler(schema_set)
    return st.one_of(
        [compiler.compile(schema_set.documents[e.file], e.file) for e in schema_set.envelopes]
    )


class _Compiler:
    """One strategy per schema node: a node $ref'd from ten places is compiled once."""

    def __init__(self, schema_set: SchemaSet) -> None:
        self.schema_set = schema_set
        self.memo: dict[tuple[int, str], st.SearchStrategy[Any]] = {}

    def compile(self, schema: Any, file: str) -> st.SearchStrategy[Any]:
        key = (id(schema), file)  # the set holds every node alive while this compiler lives
        if key not in self.memo:
            self.memo[key] = self._node(schema, file)
        return self.memo[key]

    def _node(self, schema: Any, file: str) -> st.SearchStrategy[Any]:
        if schema is True:
            return JSON_VALUES
        if schema is False:
            return st.nothing()
        if "$ref" in schema:
            if set(schema) - {"$ref"} - _ANNOTATIONS:
                raise Unsupported(f"keywords beside $ref in {file}: {sorted(schema)}")
            target, target_file, _ = self.schema_set.follow(file, schema["$ref"])
            return self.compile(target, target_file)
        unknown = set(schema) - _SUPPORTED - _ANNOTATIONS
        if unknown:
            raise Unsupported(f"{sorted(unknown)} in {file}")
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "anyOf" in schema:
            return st.one_of([self.compile(branch, file) for branch in schema["anyOf"]])
        declared = schema.get("type", ["null", "boolean", "object", "array", "number", "string"])
        types = [declared] if isinstance(declared, str) else declared
        return st.one_of([_typed(self, schema, kind, file) for kind in types])


def _typed(
    compiler: _Compiler, schema: Mapping[str, Any], kind: str, file: str
) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return _numbers(schema, kind)
    if kind == "string":
        return _strings(schema)
    if kind == "array":
        return _arrays(compiler, schema, file)
    return _objects(compiler, schema, file)


def _numbers(schema: Mapping[str, Any], kind: str) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    int_low = max(
        [math.ceil(v) for v in (low,) if v is not None]
        + [math.floor(v) + 1 for v in (low_x,) if v is not None],
        default=None,
    )
    int_high = min(
        [math.floor(v) for v in (high,) if v is not None]
        + [math.ceil(v) - 1 for v in (high_x,) if v is not None],
        default=None,
    )
    integers = st.integers(min_value=int_low, max_value=int_high)
    if kind == "integer":
        return integers
    floats = st.floats(
        min_value=low_x if low_x is not None and (low is None or low_x >= low) else low,
        max_value=high_x if high_x is not None and (high is None or high_x <= high) else high,
        exclude_min=low_x is not None and (low is None or low_x >= low),
        exclude_max=high_x is not None and (high is None or high_x <= high),
        allow_nan=False,
        allow_infinity=False,
    )
    return integers | floats


def _strings(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")

    def fits(value: str) -> bool:
        return len(value) >= low and (high is None or len(value) <= high)

    if "format" in schema:
        if schema["format"] not in FORMATS:
            raise Unsupported(f"format {schema['format']!r}")
        strings = FORMATS[schema["format"]]
        if "pattern" in schema:
            raise Unsupported("format and pattern together")
        return strings.filter(fits)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"]).filter(fits)
    usual = st.text(min_size=low, max_size=low + 12 if high is None else min(high, low + 12))
    longest = low + 300 if high is None else high
    return usual | st.sampled_from([low, longest]).map(lambda n: "x" * n)  # the edges


def _arrays(
    compiler: _Compiler, schema: Mapping[str, Any], file: str
) -> st.SearchStrategy[list[Any]]:
    prefix = [compiler.compile(s, file) for s in schema.get("prefixItems", [])]
    items = schema.get("items", True)
    low = schema.get("minItems", 0)
    most = len(prefix) if items is False else max(low, len(prefix)) + _EXTRA_LIST_ITEMS
    high = min(schema.get("maxItems", most), most)
    tail = (
        st.just([])
        if items is False
        else st.lists(
            compiler.compile(items, file),
            min_size=max(0, low - len(prefix)),
            max_size=max(0, high - len(prefix)),
        )
    )
    # The whole prefix and a tail, cut to a drawn size: sizes below the prefix's length too.
    return st.builds(
        lambda head, rest, size: [*head, *rest][:size],
        st.tuples(*prefix),
        tail,
        st.integers(min_value=low, max_value=high),
    )


def _objects(
    compiler: _Compiler, schema: Mapping[str, Any], file: str
) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    always = {k: compiler.compile(properties.get(k, True), file) for k in sorted(required)}
    maybe = {k: compiler.compile(s, file) for k, s in properties.items() if k not in required}
    known = st.fixed_dictionaries(always, optional=maybe)
    extra = schema.get("additionalProperties", True)
    if extra is False:
        return known
    names = st.text(min_size=1, max_size=8).filter(lambda k: k not in properties)
    others = st.dictionaries(names, compiler.compile(extra, file), max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, others)
