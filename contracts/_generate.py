"""Compile the bundled schemas into body generators, with realistic values where they matter.

The *shape* of every body comes from the schemas (which fields, which are required, which are
lists, maps or nullable), so a field added to a schema is generated, present and absent, without
touching this code. The *values* come from :mod:`contracts._realism` where a field has a
realistic form, and from the JSON type otherwise. Generators are plain closures over a
:class:`~contracts._choice.Chooser`, compiled once per schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from contracts import _realism, schemas
from contracts._choice import PLAIN, Chooser
from contracts.walk import resolve

if TYPE_CHECKING:  # referencing loads when a registry is built, not with this module
    from referencing._core import Resolver

Gen = Callable[[Chooser], Any]

__all__ = ["generate", "generator_for"]


def generate(event: str, chooser: Chooser) -> dict[str, Any]:
    """One valid body of ``event`` (``transaction.create``...), its IDs tied together."""
    spec = schemas.spec_for(event)
    body: dict[str, Any] = generator_for(event)(chooser)
    finish = _FINISHERS.get(spec.resource)
    if finish is not None:
        finish(body[spec.resource])
    return body


@cache
def generator_for(name: str) -> Gen:
    """The generator of schema ``name`` (an event envelope or an object such as ``photo``)."""
    schema = schemas.load_schema(name)
    return _compile(schema, schemas.registry().resolver(base_uri=schema["$id"]), name, "")


def _compile(schema: Mapping[str, Any], resolver: Resolver[Any], owner: str, prop: str) -> Gen:
    override = _realism.OVERRIDES.get(f"{owner}.{prop}") or _realism.OVERRIDES.get(prop)
    if override is not None:
        return override
    ref = schema.get("$ref", "")
    if ref.startswith("common.json#/$defs/"):
        return _realism.COMMON[ref.rsplit("/", 1)[-1]]
    if ref:
        target, target_resolver = resolve(schema, resolver)
        name = ref.removesuffix(".json")
        return (
            _compile(target, target_resolver, name, "")
            if "#" not in ref
            else _compile(target, target_resolver, owner, prop)
        )
    if "const" in schema:
        value = schema["const"]
        return lambda c: value
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        gens = [_compile(branch, resolver, owner, prop) for branch in branches]
        return lambda c: c.choice(gens)(c)
    declared = schema.get("type")
    if isinstance(declared, list):
        gens = [_compile({**schema, "type": t}, resolver, owner, prop) for t in declared]
        return lambda c: c.choice(gens)(c)
    if declared == "object":
        return _compile_object(schema, resolver, owner)
    if declared == "array":
        return _compile_array(schema, resolver, owner, prop)
    return _PRIMITIVES[declared or "string"]


def _compile_object(schema: Mapping[str, Any], resolver: Resolver[Any], owner: str) -> Gen:
    required = set(schema.get("required", []))
    fields = [
        (key, key in required, _compile(sub, resolver, owner, key))
        for key, sub in schema.get("properties", {}).items()
    ]
    additional = schema.get("additionalProperties")
    values = _compile(additional, resolver, owner, "") if isinstance(additional, Mapping) else None
    if not fields:
        if values is None:
            return lambda c: {}
        return lambda c: {c.text(PLAIN, 1, 12): values(c) for _ in range(c.integer(0, 3))}

    def gen(c: Chooser) -> dict[str, Any]:
        # The inclusion draw comes first so that shrinking drops an optional field whole.
        return {key: make(c) for key, must, make in fields if must or c.boolean()}

    return gen


def _compile_array(
    schema: Mapping[str, Any], resolver: Resolver[Any], owner: str, prop: str
) -> Gen:
    prefix = [_compile(sub, resolver, owner, prop) for sub in schema.get("prefixItems", [])]
    if prefix:
        return lambda c: [make(c) for make in prefix]
    items = schema.get("items")
    item = (
        _compile(items, resolver, owner, prop)
        if isinstance(items, Mapping)
        else _PRIMITIVES["string"]
    )
    low, high = _realism.LIST_SIZES.get(f"{owner}.{prop}", _realism.DEFAULT_LIST_SIZE)
    low = max(low, schema.get("minItems", 0))
    return lambda c: [item(c) for _ in range(c.integer(low, high))]


_PRIMITIVES: dict[str, Gen] = {
    "string": lambda c: c.text(PLAIN, 1, 12),
    "number": lambda c: c.integer(0, 1000),
    "integer": lambda c: c.integer(0, 1000),
    "boolean": lambda c: c.boolean(),
    "null": lambda c: None,
}


def _finish_transaction(transaction: dict[str, Any]) -> None:
    """Tie what Record360 ties: forms belong to this inspection, the link shows its id."""
    for form in transaction.get("forms", []):
        form["transaction_id"] = transaction["id"]
    if "view_url" in transaction:
        transaction["view_url"] = (
            f"https://dashboard.record360.com/dashboard/inspections/{transaction['id']}"
        )


_FINISHERS: dict[str, Callable[[dict[str, Any]], None]] = {"transaction": _finish_transaction}


# New events Record360 may introduce: a new event on a resource we know, or a new resource.
_NEW_EVENTS = {
    "transaction": ("update", "updated", "deleted", "archived", "signed"),
    "task": ("created", "assigned", "updated", "reopened", "deleted"),
}
_NEW_RESOURCES = ("work_order", "unit", "inspection", "department", "asset")


def generate_unknown(c: Chooser) -> dict[str, Any]:
    """A body of an event the contract does not know yet (policy: new event types may appear)."""
    if c.boolean():
        resource = c.choice(_NEW_RESOURCES)
        event = c.choice(("created", "updated", "deleted", "completed"))
        obj: dict[str, Any] = {"id": _realism.record_id(c), "created_at": _realism.timestamp(c)}
        if c.boolean():
            obj["status"] = c.choice(("open", "closed", "in_progress"))
        if c.boolean():
            obj["location"] = generator_for("location")(c)
        return {"event": event, resource: obj}
    spec = c.choice(schemas.known_events())
    event = c.choice(_NEW_EVENTS.get(spec.resource, ("updated",)))
    return {"event": event, spec.resource: generate(spec.name, c)[spec.resource]}
