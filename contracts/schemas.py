"""The v1 contract, loaded once: schemas, examples, validation and event detection.

Why this module exists: every other part (strategies, the sender, the verifier, the docs) must
agree on one reading of the contract, and that reading must work the same from a source checkout
and from an installed wheel. So the bundled schema files are read through
:mod:`importlib.resources` (package ``r360_schemas``) into a :class:`referencing.Registry` with no
retrieval hook: a ``$ref`` that is not bundled fails loudly instead of reaching for the network.
A :class:`SchemaSet` is one such reading; :meth:`SchemaSet.from_dir` reads another folder the same
way (a set patched by ``r360-webhooks drift --apply``), and the module-level functions use the
bundled set.

The schemas are *open* (unknown properties allowed) because Record360's compatibility policy lets
responses gain properties at any time; what is not described is reported separately by
:func:`contracts.strict.undocumented`, derived from these same schemas.

Validation runs in two steps (issue 14): jsonschema-rs decides first (:mod:`contracts._fastpath`,
about 50 times faster), and only a body it rejects goes to the Python ``jsonschema`` validator
(:mod:`contracts._details`) for the messages. ``jsonschema`` is imported only then, so commands
that validate valid bodies never pay its second of start-up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from contracts.errors import InputError, SchemaError, UsageError
from contracts.jsontext import format_path, json_type, short

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema import Draft202012Validator
    from referencing import Registry

    from contracts._fastpath import FastPath

__all__ = [
    "BASE_URI",
    "BUNDLED",
    "EventSpec",
    "SchemaSet",
    "Violation",
    "bundled",
    "envelope_of",
    "event_of",
    "example",
    "example_bytes",
    "format_path",
    "is_valid",
    "known_events",
    "load_schema",
    "registry",
    "schema_dir",
    "schema_names",
    "spec_for",
    "validate",
    "validator_for",
]

#: The name that means "the schema set this package ships" wherever a schema set is asked for.
BUNDLED = "bundled"
#: The base of every bundled ``$id``. Never fetched: ``.example`` is a reserved name (RFC 2606).
BASE_URI = "https://r360-webhooks.example/schemas/v1/"

# The top-level schema whose ``anyOf`` lists every known event envelope.
_WEBHOOK = "webhook"

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


def read_envelopes(
    files: Mapping[str, Mapping[str, Any]], fail: Callable[[str, str], Exception]
) -> list[tuple[str, str, str]]:
    """``(file, event value, resource key)`` of each envelope ``webhook.json`` lists, in order.

    The one reading of what makes an event in a schema set, for the bundled contract and for a
    user's folder alike: ``webhook.json``'s ``anyOf`` holds a ``$ref`` to an envelope file of
    the set, and each envelope has ``properties/event/const`` and requires exactly one resource
    key besides ``event``. ``files`` is keyed by file name; ``fail(message, file)`` makes the
    error each caller raises (a bug in the bundled set, bad input in a user's).
    """
    webhook = files.get(f"{_WEBHOOK}.json")
    if webhook is None:
        raise fail("missing: it lists the event envelopes in its anyOf", f"{_WEBHOOK}.json")
    found = []
    for index, branch in enumerate(webhook.get("anyOf", [])):
        ref = branch.get("$ref", "") if isinstance(branch, Mapping) else ""
        file = ref.rsplit("/", 1)[-1]
        if "#" in ref or file not in files:
            raise fail(
                f"anyOf/{index} must be a $ref to an envelope file of the set, got {branch!r}",
                f"{_WEBHOOK}.json",
            )
        envelope = files[file]
        event = envelope.get("properties", {}).get("event", {})
        resources_ = [key for key in envelope.get("required", []) if key != "event"]
        if not isinstance(event.get("const"), str) or len(resources_) != 1:
            raise fail(
                "an event envelope needs properties/event/const and exactly one required "
                "resource key besides 'event'",
                file,
            )
        found.append((file, event["const"], resources_[0]))
    return found


def schema_dir() -> Traversable:
    """Where the bundled v1 schema files live (inside the installed package)."""
    return resources.files("r360_schemas").joinpath("v1")


class SchemaSet:
    """One set of v1 schema documents, with everything derived from it compiled on first use.

    ``documents`` maps a name (``transaction``, ``transaction.create``, ``webhook``...) to its
    parsed document; every ``$id`` must be ``BASE_URI + name + ".json"`` so that ``$ref`` between
    files resolve within the set, and ``webhook`` must list the known events.
    """

    def __init__(self, documents: Mapping[str, dict[str, Any]], *, origin: str) -> None:
        for name, doc in documents.items():
            expected = f"{BASE_URI}{name}.json"
            if doc.get("$id") != expected:
                raise SchemaError(f"{origin}: {name}.json: $id must be {expected!r}")
        if _WEBHOOK not in documents:
            raise SchemaError(f"{origin}: the schema set is incomplete: no {_WEBHOOK}.json")
        self.documents: Mapping[str, dict[str, Any]] = dict(documents)
        self.origin = origin
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def from_dir(cls, path: str | os.PathLike[str]) -> SchemaSet:
        """The schema set in folder ``path`` (or in its ``v1/``), read and checked as ``diff``
        reads a set (:func:`contracts.schemaset.load_set`: one reading of a user's folder).

        A missing folder, a file that is not JSON or not a 2020-12 schema, a ``$ref`` that does
        not resolve within the set: an :class:`~contracts.errors.InputError` naming the file.
        """
        from contracts.schemaset import load_set  # jsonschema's metaschema check, on demand

        loaded = load_set(path)
        documents = {name.removesuffix(".json"): doc for name, doc in loaded.documents.items()}
        try:
            return cls(documents, origin=loaded.source)
        except SchemaError as error:  # here the schemas are the user's input
            raise UsageError(str(error)) from None

    def __repr__(self) -> str:
        return f"<SchemaSet {self.origin} ({len(self.documents)} schemas)>"

    # --- documents and references -------------------------------------------------------
    def names(self) -> list[str]:
        """Names of every schema in the set, sorted."""
        return list(self.documents)

    def load(self, name: str) -> dict[str, Any]:
        """The parsed schema document called ``name`` (shared: do not mutate it)."""
        try:
            return self.documents[name]
        except KeyError:
            known = ", ".join(self.documents)
            raise UsageError(f"unknown schema {name!r}; known schemas: {known}") from None

    @cached_property
    def registry(self) -> Registry[Any]:
        """Every schema under its ``$id``; nothing is ever retrieved from elsewhere."""
        from referencing import Registry, Resource  # on first use: CLI start-up stays light
        from referencing.jsonschema import DRAFT202012

        return Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
            for doc in self.documents.values()
        )

    # --- events -----------------------------------------------------------------------------
    @cached_property
    def known_events(self) -> tuple[EventSpec, ...]:
        """Every event the set knows, in the order ``webhook.json`` lists them."""
        files = {f"{name}.json": doc for name, doc in self.documents.items()}

        def fail(message: str, file: str) -> SchemaError:
            return SchemaError(f"{self.origin}: {file}: {message}")

        return tuple(
            EventSpec(file.removesuffix(".json"), event, resource)
            for file, event, resource in read_envelopes(files, fail)
        )

    def spec_for(self, name: str) -> EventSpec:
        """The :class:`EventSpec` called ``name``; an unknown name is a usage error naming it."""
        for spec in self.known_events:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.known_events)
        raise UsageError(f"unknown event {name!r}; known events: {known}")

    def event_of(self, payload: JSON) -> str | None:
        """The known event a body is, or ``None`` (see :func:`contracts.schemas.event_of`)."""
        if not isinstance(payload, Mapping):
            return None
        for spec in self.known_events:
            if payload.get("event") == spec.event and spec.resource in payload:
                return spec.name
        return None

    def envelope_of(self, payload: Mapping[str, Any]) -> EventSpec | None:
        """The envelope to judge a body by (see :func:`contracts.schemas.envelope_of`)."""
        exact = self.event_of(payload)
        if exact is not None:
            return self.spec_for(exact)
        for spec in self.known_events:
            if spec.resource in payload:
                return spec
        if set(payload) <= {"event"}:
            for spec in self.known_events:
                if payload.get("event") == spec.event:
                    return spec
        return None

    def judged_as(self, payload: JSON, event: str | None = None) -> EventSpec | Violation:
        """The envelope a body is judged by, or the one violation that stops judging it.

        ``event`` forces the envelope; by default it is detected. A body that is not an object,
        or matches no known event, is one violation at ``$`` that says so.
        """
        if event is not None:
            return self.spec_for(event)
        if not isinstance(payload, Mapping):
            return Violation("$", "type", f"expected a JSON object, got {json_type(payload)}")
        spec = self.envelope_of(payload)
        if spec is not None:
            return spec
        known = ", ".join(f"{s.event!r} with {s.resource!r}" for s in self.known_events)
        found = payload.get("event", "<missing>")
        return Violation(
            "$",
            "event",
            f"not a known v1 event (event {short(found)}, keys {sorted(payload)}); known: {known}",
        )

    # --- validation -------------------------------------------------------------------------
    def validator_for(self, name: str) -> Draft202012Validator:
        """The reference (Python ``jsonschema``) validator of one schema, ``format`` checked."""
        validator = self._validators.get(name)
        if validator is None:
            from contracts._details import python_validator  # the slow import, on demand

            validator = python_validator(self.load(name), self.registry)
            self._validators[name] = validator
        return validator

    @cached_property
    def _fast(self) -> FastPath:
        from contracts._fastpath import FastPath

        return FastPath(self.documents)

    def fast_validator(self, name: str) -> jsonschema_rs.Validator:
        """The jsonschema-rs validator of one schema, every ``format`` checked as a pattern
        with the reference's semantics; its ``is_valid`` is the contract's verdict on JSON data."""
        self.load(name)
        return self._fast.validator(name)

    def validate(self, payload: JSON, *, event: str | None = None) -> list[Violation]:
        """Every way ``payload`` breaks the contract, sorted by path; empty when it is valid."""
        judged = self.judged_as(payload, event)
        if isinstance(judged, Violation):
            return [judged]
        if self._fast_verdict(judged.schema_name, payload):
            return []
        return self.details(judged.schema_name, payload)

    def is_valid(self, payload: JSON, *, event: str | None = None) -> bool:
        """Whether ``validate`` would find nothing; as cheap as jsonschema-rs for a valid body."""
        judged = self.judged_as(payload, event)
        if isinstance(judged, Violation):
            return False
        if self._fast_verdict(judged.schema_name, payload):
            return True
        # The reference has the last word on a rejection: the two differ only outside the JSON
        # data model (NaN is a number to jsonschema, not to jsonschema-rs).
        return not self.details(judged.schema_name, payload)

    def details(self, name: str, payload: JSON) -> list[Violation]:
        """The reference validator's violations of schema ``name`` (the slow path)."""
        from contracts._details import violations

        return violations(self.validator_for(name), payload)

    def _fast_verdict(self, name: str, payload: JSON) -> bool:
        try:
            return self._fast.validator(name).is_valid(payload)
        except (ValueError, TypeError):  # a lone surrogate, a type outside JSON: ask the slow path
            return False


def schema_files(folder: Traversable, origin: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each schema file in ``folder``, sorted by name: ``(file name, text, parsed document)``.

    The one rule of what a schema file is: a ``*.json`` file whose object declares ``$schema``
    (``openapi.json`` and an index of examples live beside the schemas and are skipped). A file
    that is not JSON is an :class:`~contracts.errors.InputError` naming it.
    """
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.is_file() or not entry.name.endswith(".json"):
            continue
        try:
            text = entry.read_text(encoding="utf-8")
            contents = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(
                f"not JSON ({error}); fix the file or move it out of the set",
                source=f"{origin}/{entry.name}",
            ) from None
        if isinstance(contents, dict) and "$schema" in contents:
            yield entry.name, text, contents


def _read_documents(folder: Traversable, origin: str) -> dict[str, dict[str, Any]]:
    return {
        name.removesuffix(".json"): contents for name, _, contents in schema_files(folder, origin)
    }


@cache
def bundled() -> SchemaSet:
    """The schema set shipped inside the package: the contract every default uses."""
    origin = str(schema_dir())
    try:
        return SchemaSet(_read_documents(schema_dir(), origin), origin=origin)
    except UsageError as error:  # a broken bundled file is our bug, not the user's input
        raise SchemaError(str(error)) from None


def schema_names() -> list[str]:
    """Names of every bundled schema (``transaction``, ``transaction.create``, ``webhook``...)."""
    return bundled().names()


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema document called ``name`` (a deep copy is not made: do not mutate it)."""
    return bundled().load(name)


def registry() -> Registry[Any]:
    """Every bundled schema under its ``$id``; nothing is ever retrieved from elsewhere."""
    return bundled().registry


def validator_for(name: str) -> Draft202012Validator:
    """A compiled reference validator for one schema, with ``format`` (date-time, uri) checked.

    This imports the Python ``jsonschema`` package (about a second); :func:`validate` and
    :func:`is_valid` need it only for invalid bodies.
    """
    return bundled().validator_for(name)


def known_events() -> tuple[EventSpec, ...]:
    """Every event the contract knows, in the order ``webhook.json`` lists them."""
    return bundled().known_events


def spec_for(name: str) -> EventSpec:
    """The :class:`EventSpec` called ``name``; an unknown name is a usage error naming it."""
    return bundled().spec_for(name)


def event_of(payload: JSON) -> str | None:
    """The known event a body is (``"transaction.create"``...), or ``None`` when unknown.

    A body is an event when its ``event`` value and its resource key both match; a new event
    value on a known resource, or a new resource, is unknown (Record360 may add both).
    """
    return bundled().event_of(payload)


def envelope_of(payload: Mapping[str, Any]) -> EventSpec | None:
    """The envelope to judge a body by, or ``None`` for a body of an unknown resource.

    An exact match (event value and resource key) wins; then a known resource key, so a body with
    a new or missing ``event`` still has its resource checked field by field; then the ``event``
    value alone, but only for a body with nothing else in it (``{"event": "create"}`` is a
    transaction missing its ``transaction``, ``{"event": "completed", "work_order": {}}`` is a
    new resource, which Record360 may add).
    """
    return bundled().envelope_of(payload)


def validate(payload: JSON, *, event: str | None = None) -> list[Violation]:
    """Every way ``payload`` breaks the v1 contract, sorted by path; empty when it is valid.

    ``event`` forces the envelope (``"task.completed"``); by default it is detected. A body that
    matches no known event is one violation at ``$`` that says so. ``payload`` is JSON data as
    :func:`json.loads` returns it; jsonschema-rs decides, and the Python validator explains.
    """
    return bundled().validate(payload, event=event)


def is_valid(payload: JSON, *, event: str | None = None) -> bool:
    """``validate(payload, event=event) == []``, at jsonschema-rs speed for a valid body."""
    return bundled().is_valid(payload, event=event)


def example_bytes(name: str) -> bytes:
    """The documented example body of event ``name`` exactly as bundled (byte for byte)."""
    spec_for(name)
    return schema_dir().joinpath("examples", f"{name}.json").read_bytes()


def example(name: str) -> dict[str, Any]:
    """The documented example body of event ``name``, parsed (a fresh copy on every call)."""
    body: dict[str, Any] = json.loads(example_bytes(name))
    return body
