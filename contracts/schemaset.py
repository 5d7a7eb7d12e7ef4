"""A set of v1 schema files read from any folder: the bundled one, a patched copy, a proposal.

Why this module exists: ``contracts.schemas`` is *the* contract, read once from the package. But
comparing two versions of the contract (``r360-webhooks diff OLD NEW``), or checking a patched
copy that ``drift`` wrote into a folder, needs the same reading of a folder that is not the
package. A :class:`SchemaSet` is that reading, with its own :class:`referencing.Registry` so that
two sets with the same ``$id``\\ s never see each other's files.

A folder is laid out like ``schemas/v1/``: one JSON Schema file per object or envelope (a file is a
schema when it declares ``$schema``; ``openapi.json`` and ``examples/`` beside them are skipped),
``$ref``\\ s between files by relative name, and ``webhook.json`` whose ``anyOf`` lists the event
envelopes. Everything the comparison relies on is checked here, at load, so bad input is one
:class:`~contracts.errors.InputError` naming the file and the fix, never a traceback later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as MetaSchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from contracts import schemas
from contracts.errors import InputError
from contracts.schemas import BUNDLED

__all__ = ["BUNDLED", "Envelope", "SchemaSet", "escape", "load_set", "set_of"]

#: The name that stands for the shipped set (``contracts.schemas.schema_dir()``).
WEBHOOK = "webhook.json"
_FIX = f"give a folder laid out like schemas/v1, or {BUNDLED!r} for the shipped set"
# Keywords whose values are data, not subschemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default", "x-extensible-enum"})


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event of a set: its ``event`` value, its resource key and the file that describes it.

    Events are identified by value and key, not by file name, exactly as a consumer routes a body.
    """

    event: str
    resource: str
    file: str


@dataclass(frozen=True, eq=False)
class SchemaSet:
    """Every schema file of one folder, by file name, with a registry private to the set.

    Compared and hashed by identity: two loads of one folder are two sets.
    """

    source: str
    documents: Mapping[str, dict[str, Any]]
    registry: Registry[Any] = field(repr=False)
    envelopes: tuple[Envelope, ...]

    def uri(self, file: str) -> str:
        """The base URI of ``file`` (its ``$id``), against which its ``$ref``\\ s resolve."""
        return str(self.documents[file].get("$id", schemas.BASE_URI + file))

    def resolver(self, file: str) -> Any:
        """A :mod:`referencing` resolver based at ``file``."""
        return self.registry.resolver(base_uri=self.uri(file))

    def follow(self, file: str, ref: str) -> tuple[Any, str, str]:
        """What ``ref`` (written in ``file``) points at: the schema, its file and its fragment."""
        base, fragment = urldefrag(urljoin(self.uri(file), ref))
        target = next((name for name in self.documents if self.uri(name) == base), file)
        contents = self.resolver(file).lookup(ref).contents
        return contents, target, fragment

    def validator(self, file: str) -> Draft202012Validator:
        """A validator for ``file`` in this set that checks ``format``, as ``contracts.schemas``."""
        return Draft202012Validator(
            self.documents[file],
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def envelope_of(self, body: Any) -> Envelope | None:
        """The envelope a consumer of this set routes ``body`` to; ``None`` for an unknown event."""
        if not isinstance(body, Mapping):
            return None
        for envelope in self.envelopes:
            if body.get("event") == envelope.event and envelope.resource in body:
                return envelope
        return None


def load_set(source: str | os.PathLike[str] | Traversable) -> SchemaSet:
    """Read the schema set at ``source``: a folder path, or ``"bundled"`` for the shipped set.

    A folder that holds no schema but a ``v1/`` folder that does is read as that ``v1/`` (so the
    repository's ``schemas/`` works too). Raises :class:`~contracts.errors.InputError` for a missing
    folder, a file that is not JSON, a schema that is not valid 2020-12, a ``$ref`` that does not
    resolve within the set, or a set without ``webhook.json``.
    """
    label = str(source)
    folder: Traversable
    if not isinstance(source, str | os.PathLike):
        folder = source
    elif str(source) == BUNDLED:
        folder = schemas.schema_dir()
    else:
        folder = Path(source)
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputError(f"{what}; {_FIX}", source=label)
    files = list(schemas.schema_files(folder, label))
    if not files and folder.joinpath("v1").is_dir():
        files = list(schemas.schema_files(folder.joinpath("v1"), label))
    if not files:
        raise InputError(f'no schema files (*.json declaring "$schema") here; {_FIX}', source=label)
    return _checked(label, [(name, text, contents) for name, text, contents in files])


def set_of(documents: Mapping[str, dict[str, Any]], label: str) -> SchemaSet:
    """The set of ``documents`` (file name, such as ``photo.json``, to schema) held in memory,
    checked as :func:`load_set` checks a folder's: how ``drift`` diffs its proposed patch
    without writing it anywhere first."""
    if not documents:
        raise InputError(f"no schema files; {_FIX}", source=label)
    return _checked(label, [(name, json.dumps(doc), doc) for name, doc in documents.items()])


def _checked(label: str, files: list[tuple[str, str, dict[str, Any]]]) -> SchemaSet:
    """The set of ``files`` (name, text, parsed), each checked, then its references and events."""
    documents: dict[str, dict[str, Any]] = {}
    for name, text, contents in files:
        where = f"{label}/{name}"
        problem = _metaschema_problem(text)
        if problem is not None:
            raise InputError(f"not a valid JSON Schema 2020-12 {problem}", source=where)
        declared = contents.get("$id")
        if declared is not None and not str(declared).endswith("/" + name):
            raise InputError(
                f"$id {declared!r} does not end with the file name; relative $refs between "
                f"files resolve by name, so make it end with /{name}",
                source=where,
            )
        documents[name] = contents
    registry: Registry[Any] = Registry().with_resources(
        (str(doc.get("$id", schemas.BASE_URI + name)), DRAFT202012.create_resource(doc))
        for name, doc in documents.items()
    )
    loaded = SchemaSet(label, documents, registry, ())
    for name in documents:
        _check_refs(loaded, name)
    envelopes = _envelopes(loaded)
    return SchemaSet(label, documents, registry, envelopes)


@lru_cache(maxsize=512)
def _metaschema_problem(text: str) -> str | None:
    """Why a schema file's text is not a 2020-12 schema, or ``None``. Cached by text: checking
    against the 2020-12 metaschema costs ~8 ms a file, and a diff reads most files twice."""
    try:
        Draft202012Validator.check_schema(json.loads(text))
    except MetaSchemaError as error:
        return "at /" + "/".join(str(p) for p in error.absolute_path) + f": {error.message}"
    return None


def _check_refs(schema_set: SchemaSet, name: str) -> None:
    resolver = schema_set.resolver(name)
    for pointer, ref in _refs(schema_set.documents[name], ""):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise InputError(
                f"$ref {ref!r} at {pointer or '/'} does not resolve within the set; "
                "fix the name or add the file",
                source=f"{schema_set.source}/{name}",
            ) from None


def _refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield pointer, node["$ref"]
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                yield from _refs(value, f"{pointer}/{escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{pointer}/{index}")


def _envelopes(schema_set: SchemaSet) -> tuple[Envelope, ...]:
    """The events ``webhook.json`` lists (:func:`contracts.schemas.read_envelopes`)."""

    def fail(message: str, file: str) -> InputError:
        if file == WEBHOOK and WEBHOOK not in schema_set.documents:
            message = f"no {WEBHOOK} (the anyOf of event envelopes); {_FIX}"
        return InputError(message, source=f"{schema_set.source}/{file}")

    found = schemas.read_envelopes(schema_set.documents, fail)
    return tuple(Envelope(event, resource, file) for file, event, resource in found)


def escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901: ``~`` as ``~0``, ``/`` as ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")
