"""The strict view as one jsonschema-rs validator per event, for drift over millions of bodies.

Why: :func:`contracts.strict.undocumented` walks a body node by node in Python, about a
millisecond a body. ``drift`` must take a million bodies in seconds, so this module derives, in
code and from the same open schemas, a *shape* schema per event that jsonschema-rs checks:

* every ``$ref`` inlined, so each place in a body has its own schema node and its own path;
* a *record* (``properties`` without ``additionalProperties``: :func:`contracts.walk.is_record`)
  gets ``additionalProperties: {"not": {}}``, so each undocumented key is an error at its path;
* a *map* (``additionalProperties`` a schema) walks its values with that schema, under ``[*]``;
* ``anyOf``/``oneOf`` become an ``if``/``then`` chain on each branch's ``type``: the first branch
  whose type accepts the value is followed, as the walk does;
* every other keyword is dropped: validity is the fast path's job, not this one's;
* a *watched* documented field gets ``dependentSchemas: {name: {properties: {name: false}}}``,
  an error when present, so drift learns which fields traffic shows without walking the body.

``tests/test_drift.py`` checks the shape against ``strict.undocumented`` body by body.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import jsonschema_rs

from contracts.errors import SchemaError
from contracts.schemas import BASE_URI, SchemaSet
from contracts.verdicts import ANY, normal_path

__all__ = ["UNDOCUMENTED", "Field", "Record", "Shape"]

Where = tuple[str | int, ...]  # a place in the shape schema, as jsonschema-rs's schema_path
#: What a record says of a key it does not list. Not ``false``: jsonschema-rs would report the
#: whole record as the error's instance (converted to Python: ~20 us); ``not`` reports the value.
UNDOCUMENTED: dict[str, Any] = {"not": {}}


@dataclass(frozen=True, slots=True)
class Field:
    """A documented property of a record: its normalised path, where it is written, provenance."""

    path: str
    schema_file: str
    pointer: tuple[str, ...]  # the record's location in its file (JSON Pointer parts)
    name: str
    provenance: str  # "documented", "seen in v1", "inferred", "seen in traffic" (description)


@dataclass(slots=True)
class Record:
    """A record node of a body's shape: its path parts and the file location to patch."""

    parts: tuple[str | int | None, ...]
    schema_file: str
    pointer: tuple[str, ...]
    fields: dict[str, Field] = field(default_factory=dict)


class Shape:
    """The shape of one event's bodies, and its validator for a set of watched field paths."""

    def __init__(self, schema_set: SchemaSet, event: str) -> None:
        self.event = event
        self.records: dict[Where, Record] = {}
        self.schema = _Builder(schema_set, self.records).build(event)
        self.fields = {f.path: f for r in self.records.values() for f in r.fields.values()}

    def validator(self, watched: Collection[str]) -> jsonschema_rs.Validator:
        """A validator that reports undocumented keys and the presence of ``watched`` fields."""
        schema = _watch(self.schema, (), self.records, set(watched))
        return jsonschema_rs.validator_for(schema, validate_formats=False, offline=True)


def _watch(node: Any, where: Where, records: Mapping[Where, Record], watched: set[str]) -> Any:
    if isinstance(node, list):
        return [_watch(item, (*where, i), records, watched) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out = {k: _watch(v, (*where, k), records, watched) for k, v in node.items()}
    record = records.get(where)
    if record is not None:
        names = [name for name, f in record.fields.items() if f.path in watched]
        if names:
            out["dependentSchemas"] = {name: {"properties": {name: False}} for name in names}
    return out


class _Builder:
    def __init__(self, schema_set: SchemaSet, records: dict[Where, Record]) -> None:
        self.schema_set = schema_set
        self.records = records

    def build(self, event: str) -> dict[str, Any]:
        shape = self._node(event, (), (), (), ())
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **shape}

    def _node(
        self,
        doc: str,
        pointer: tuple[str, ...],
        parts: tuple[str | int | None, ...],
        where: Where,
        seen: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> dict[str, Any]:
        schema = self._at(doc, pointer)
        while "$ref" in schema:  # siblings of $ref are ignored, as contracts.walk.resolve does
            doc, pointer = self._target(doc, schema["$ref"])
            schema = self._at(doc, pointer)
        if (doc, pointer) in seen:
            raise SchemaError(f"{doc}.json#/{'/'.join(pointer)} refers to itself; drift cannot "
                              "inline a recursive schema")  # fmt: skip
        seen = (*seen, (doc, pointer))
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            key = "anyOf" if "anyOf" in schema else "oneOf"
            return self._branches(doc, pointer, key, len(branches), parts, where, seen)
        out: dict[str, Any] = {}
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if isinstance(properties, Mapping):
            out["properties"] = {
                name: self._node(doc, (*pointer, "properties", name), (*parts, name),
                                 (*where, "properties", name), seen)
                for name in properties
            }  # fmt: skip
        if isinstance(additional, Mapping):
            out["additionalProperties"] = self._node(
                doc, (*pointer, "additionalProperties"), (*parts, ANY),
                (*where, "additionalProperties"), seen,
            )  # fmt: skip
        elif additional is None and isinstance(properties, Mapping):  # a record
            out["additionalProperties"] = UNDOCUMENTED
            self._record(doc, pointer, parts, where, properties)
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            out["prefixItems"] = [
                self._node(doc, (*pointer, "prefixItems", str(i)), (*parts, i),
                           (*where, "prefixItems", i), seen)
                for i in range(len(prefix))
            ]  # fmt: skip
        if isinstance(schema.get("items"), Mapping):
            out["items"] = self._node(
                doc, (*pointer, "items"), (*parts, 0), (*where, "items"), seen
            )
        return out

    def _branches(
        self,
        doc: str,
        pointer: tuple[str, ...],
        key: str,
        count: int,
        parts: tuple[str | int | None, ...],
        where: Where,
        seen: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> dict[str, Any]:
        """``if type(branch 0) then shape(branch 0) else if ...``: the walk's first-type rule."""
        chain: list[dict[str, Any]] = []
        at = where
        for index in range(count):
            branch_doc, branch_pointer = doc, (*pointer, key, str(index))
            branch = self._at(branch_doc, branch_pointer)
            while "$ref" in branch:
                branch_doc, branch_pointer = self._target(branch_doc, branch["$ref"])
                branch = self._at(branch_doc, branch_pointer)
            declared = branch.get("type")
            then = self._node(branch_doc, branch_pointer, parts, (*at, "then"), seen)
            if declared is None:  # accepts every type: the chain ends here
                chain.append({"if": True, "then": then})
                break
            chain.append({"if": {"type": declared}, "then": then})
            at = (*at, "else")
        for node, following in itertools.pairwise(chain):
            node["else"] = following
        return chain[0] if chain else {}

    def _record(
        self,
        doc: str,
        pointer: tuple[str, ...],
        parts: tuple[str | int | None, ...],
        where: Where,
        properties: Mapping[str, Any],
    ) -> None:
        record = Record(parts, f"{doc}.json", pointer)
        for name, sub in properties.items():
            description = str(sub.get("description", "")) if isinstance(sub, Mapping) else ""
            provenance = _provenance(description)
            path = normal_path([*parts, name])
            record.fields[name] = Field(path, f"{doc}.json", pointer, name, provenance)
        self.records[where] = record

    def _at(self, doc: str, pointer: tuple[str, ...]) -> Mapping[str, Any]:
        node: Any = self.schema_set.load(doc)
        for part in pointer:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if not isinstance(node, Mapping):
            return {}  # a boolean schema: nothing below it to walk
        return node

    def _target(self, doc: str, ref: str) -> tuple[str, tuple[str, ...]]:
        url, _, fragment = urljoin(f"{BASE_URI}{doc}.json", ref).partition("#")
        if not url.startswith(BASE_URI) or not url.endswith(".json"):
            raise SchemaError(f"{doc}.json: $ref {ref!r} leaves the schema set")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:]]
        return url[len(BASE_URI) : -len(".json")], tuple(parts)


def _provenance(description: str) -> str:
    for word in ("Documented", "Seen in v1", "Inferred", "Seen in traffic"):
        if description.startswith(word):
            return word.lower()
    return "documented"
