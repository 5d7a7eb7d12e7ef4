"""The bundled v1 contract, loaded once: schemas, examples, validation and event detection.

Why this module exists: every other part (strategies, the sender, the verifier, the docs) must
agree on one reading of the contract, and that reading must work the same from a source checkout
and from an installed wheel. So the schema files are read through :mod:`importlib.resources`
(package ``r360_schemas``) into a :class:`referencing.Registry` with no retrieval hook: a ``$ref``
that is not bundled fails loudly instead of reaching for the network.

The schemas are *open* (unknown properties allowed) because Record360's compatibility policy lets
responses gain properties at any time; what is not described is reported separately by
:func:`contracts.strict.undocumented`, derived from these same schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts.errors import SchemaError, UsageError

__all__ = [
    "BASE_URI",
    "EventSpec",
    "Violation",
    "envelope_of",
    "event_of",
    "example",
    "example_bytes",
    "format_path",
    "known_events",
    "load_schema",
    "registry",
    "schema_dir",
    "schema_names",
    "spec_for",
    "validate",
    "validator_for",
]

#: The base of every bundled ``$id``. Never fetched: ``.example`` is a reserved name (RFC 2606).
BASE_URI = "https://r360-webhooks.example/schemas/v1/"

# The top-level schema whose ``anyOf`` lists every known event envelope.
_WEBHOOK = "webhook"
_MAX_VALUE_REPR = 60

JSON = Any


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a body breaks the contract: where, which JSON Schema rule, and a one-line why."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A known event: its stable name, the ``event`` value and the resource key it travels under.

    Derived from the envelope schemas (the ``const`` of ``event`` and the other required key), so
    adding an envelope file adds an event everywhere without a second list to keep in step.
    """

    name: str
    event: str
    resource: str

    @property
    def schema_name(self) -> str:
        return self.name


def schema_dir() -> Traversable:
    """Where the bundled v1 schema files live (inside the installed package)."""
    return resources.files("r360_schemas").joinpath("v1")


@cache
def _documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for entry in sorted(schema_dir().iterdir(), key=lambda e: e.name):
        if not entry.is_file() or not entry.name.endswith(".json"):
            continue
        contents = json.loads(entry.read_text(encoding="utf-8"))
        if "$schema" not in contents:  # openapi.json lives beside the schemas
            continue
        name = entry.name.removesuffix(".json")
        if contents.get("$id") != BASE_URI + entry.name:
            raise SchemaError(f"{entry.name}: $id must be {BASE_URI + entry.name!r}")
        documents[name] = contents
    if _WEBHOOK not in documents:
        raise SchemaError(f"bundled schemas are incomplete: no {_WEBHOOK}.json in {schema_dir()}")
    return documents


def schema_names() -> list[str]:
    """Names of every bundled schema (``transaction``, ``transaction.create``, ``webhook``...)."""
    return list(_documents())


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema document called ``name`` (a deep copy is not made: do not mutate it)."""
    try:
        return _documents()[name]
    except KeyError:
        known = ", ".join(schema_names())
        raise UsageError(f"unknown schema {name!r}; known schemas: {known}") from None


@cache
def registry() -> Registry[Any]:
    """Every bundled schema under its ``$id``; nothing is ever retrieved from elsewhere."""
    return Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
        for doc in _documents().values()
    )


@cache
def validator_for(name: str) -> Draft202012Validator:
    """A compiled validator for one schema, with ``format`` (date-time, uri) actually checked."""
    schema = load_schema(name)
    return Draft202012Validator(
        schema,
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@cache
def known_events() -> tuple[EventSpec, ...]:
    """Every event the contract knows, in the order ``webhook.json`` lists them."""
    specs = []
    for branch in load_schema(_WEBHOOK).get("anyOf", []):
        name = branch["$ref"].removesuffix(".json")
        envelope = load_schema(name)
        resources_ = [key for key in envelope["required"] if key != "event"]
        if len(resources_) != 1:
            raise SchemaError(f"{name}.json must require 'event' and exactly one resource key")
        specs.append(EventSpec(name, envelope["properties"]["event"]["const"], resources_[0]))
    return tuple(specs)


def spec_for(name: str) -> EventSpec:
    """The :class:`EventSpec` called ``name``; an unknown name is a usage error naming it."""
    for spec in known_events():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in known_events())
    raise UsageError(f"unknown event {name!r}; known events: {known}")


def event_of(payload: JSON) -> str | None:
    """The known event a body is (``"transaction.create"``...), or ``None`` when unknown.

    A body is an event when its ``event`` value and its resource key both match; a new event
    value on a known resource, or a new resource, is unknown (Record360 may add both).
    """
    if not isinstance(payload, Mapping):
        return None
    for spec in known_events():
        if payload.get("event") == spec.event and spec.resource in payload:
            return spec.name
    return None


def envelope_of(payload: Mapping[str, Any]) -> EventSpec | None:
    """The envelope to judge a body by, or ``None`` for a body of an unknown resource.

    An exact match (event value and resource key) wins; then a known resource key, so a body with
    a new or missing ``event`` still has its resource checked field by field; then the ``event``
    value alone, but only for a body with nothing else in it (``{"event": "create"}`` is a
    transaction missing its ``transaction``, ``{"event": "completed", "work_order": {}}`` is a
    new resource, which Record360 may add).
    """
    exact = event_of(payload)
    if exact is not None:
        return spec_for(exact)
    for spec in known_events():
        if spec.resource in payload:
            return spec
    if set(payload) <= {"event"}:
        for spec in known_events():
            if payload.get("event") == spec.event:
                return spec
    return None


def validate(payload: JSON, *, event: str | None = None) -> list[Violation]:
    """Every way ``payload`` breaks the v1 contract, sorted by path; empty when it is valid.

    ``event`` forces the envelope (``"task.completed"``); by default it is detected. A body that
    matches no known event is one violation at ``$`` that says so.
    """
    if event is not None:
        spec: EventSpec | None = spec_for(event)
    elif isinstance(payload, Mapping):
        spec = envelope_of(payload)
    else:
        return [Violation("$", "type", f"expected a JSON object, got {_json_type(payload)}")]
    if spec is None:
        known = ", ".join(f"{s.event!r} with {s.resource!r}" for s in known_events())
        found = payload.get("event", "<missing>")
        return [
            Violation(
                "$",
                "event",
                f"not a known v1 event (event {_short(found)}, keys {sorted(payload)}); "
                f"known: {known}",
            )
        ]
    errors = validator_for(spec.schema_name).iter_errors(payload)
    violations = [v for error in errors for v in _violations(error)]
    return sorted(set(violations), key=lambda v: (v.path, v.rule, v.message))


def _violations(error: ValidationError) -> Iterator[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        deepest = best_match(error.context)
        if deepest.validator not in ("type", "anyOf", "oneOf"):
            yield from _violations(deepest)
            return
    path = format_path(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for name in required:
            if name not in instance and error.message.startswith(repr(name)):
                yield Violation(format_path([*error.absolute_path, name]), "required", "missing")
        return
    rule = str(error.validator)
    if rule in ("anyOf", "oneOf") and all(e.validator == "type" for e in error.context):
        rule = "type"  # a nullable field given the wrong type: say so plainly
    yield Violation(path, rule, _message(error))


def _message(error: ValidationError) -> str:
    rule = error.validator
    value: Any = error.validator_value  # typed Any | Unset; always set on a raised error
    instance: Any = error.instance
    if rule == "type":
        return f"expected {_expected_types(value)}, got {_json_type(instance)} {_short(instance)}"
    if rule in ("anyOf", "oneOf") and error.context:
        context: list[Any] = [e.validator_value for e in error.context if e.validator == "type"]
        types = [_expected_types(v) for v in context]
        expected = list(dict.fromkeys(types))
        if expected:
            return (
                f"expected {' or '.join(expected)}, got {_json_type(instance)} {_short(instance)}"
            )
    if rule == "const":
        return f"expected {_short(value)}, got {_short(instance)}"
    if rule == "format":
        return f"{_short(instance)} is not a valid {value}"
    if rule == "maxLength":
        return f"longer than {value} characters ({len(instance)})"
    if rule == "minLength":
        return f"shorter than {value} characters ({len(instance)})"
    if rule in ("minItems", "maxItems"):
        return f"{len(instance)} items; {rule} is {value}"
    if rule in ("minimum", "maximum"):
        return f"{_short(instance)} is outside the allowed range ({rule} {value})"
    return error.message if len(error.message) < 200 else error.message[:197] + "..."


def _expected_types(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else " or ".join(value)


def _json_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def _short(value: JSON) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_VALUE_REPR else text[: _MAX_VALUE_REPR - 3] + "..."


def format_path(parts: Sequence[str | int] | Iterator[str | int]) -> str:
    """A JSONPath such as ``$.transaction.forms[0]["CheckBox A"]`` for a sequence of keys."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def example_bytes(name: str) -> bytes:
    """The documented example body of event ``name`` exactly as bundled (byte for byte)."""
    spec_for(name)
    return schema_dir().joinpath("examples", f"{name}.json").read_bytes()


def example(name: str) -> dict[str, Any]:
    """The documented example body of event ``name``, parsed (a fresh copy on every call)."""
    body: dict[str, Any] = json.loads(example_bytes(name))
    return body
