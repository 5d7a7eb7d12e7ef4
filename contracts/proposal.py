"""The schema change drift proposes: a JSON Patch (RFC 6902) per schema file, checked, applied.

Why this module exists (issue 15, item 2): a report of undocumented paths is half the work; the
other half is the change to the contract, in a form a reviewer can read and a tool can apply.
Each undocumented key of a record becomes one ``add`` operation on the record's ``properties`` in
the file that defines the record (``photo.json`` for ``$.transaction.photos[*].blur_score``),
with the JSON types seen and a provenance description in the house style: *Seen in traffic (N of
M bodies, FIRST_DATE to LAST_DATE).* A key seen under several paths of one record is one
operation.

The change is checked to be compatible (:func:`check_compatible`) by ``r360-webhooks diff``'s own
judge, :func:`contracts.diff.diff`, from the set to the patched set: nothing a consumer written
against the old contract could trip on (no ``warning``, no ``breaking``). An optional, so far
undescribed property of a record is such a change (the record already accepted the key with any
value); a hand-written list of what a patch may do would be a second, drifting opinion. The
patched set must still accept the documented examples.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contracts import schemaset
from contracts.diff import Severity, diff
from contracts.drift import Seen, Target
from contracts.errors import InputError, UsageError
from contracts.schemas import SchemaSet

__all__ = ["PROVENANCE", "apply_patch", "check_compatible", "patched_set", "propose", "write_set"]

#: How a proposed property's description starts (the other provenances: Documented, Seen in v1,
#: Inferred).
PROVENANCE = "Seen in traffic"
_TYPE_ORDER = ("object", "array", "string", "number", "boolean", "null")

Patch = dict[str, list[dict[str, Any]]]


def propose(targets: Mapping[Target, Seen], bodies: Mapping[Target, int]) -> Patch:
    """One ``add`` per undocumented (schema file, record, key), grouped by file, sorted.

    ``bodies`` is, per target, how many judged bodies could hold it (those of the events whose
    shape has the record): the M of its provenance *Seen in traffic (N of M bodies)*.
    """
    patch: Patch = {}
    for target, seen in sorted(targets.items(), key=lambda t: t[0]):
        schema_file, pointer, name = target
        path = "/" + "/".join(_escape(part) for part in (*pointer, "properties", name))
        value = _property_schema(seen, bodies[target])
        patch.setdefault(schema_file, []).append({"op": "add", "path": path, "value": value})
    return patch


def _property_schema(seen: Seen, bodies: int) -> dict[str, Any]:
    types = [t for t in _TYPE_ORDER if t in seen.types]
    when = f", {seen.first_date} to {seen.last_date}" if seen.first_date else ""
    schema: dict[str, Any] = {
        "type": types[0] if len(types) == 1 else types,
        "description": f"{PROVENANCE} ({seen.count} of {bodies} bodies{when}).",
    }
    example = json.loads(seen.example) if _is_full_json(seen.example) else None
    if isinstance(example, str | int | float) and not isinstance(example, bool):
        schema["examples"] = [example]
    return schema


def _is_full_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False  # shortened with "..."
    return True


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _parts(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer (RFC 6901), unescaped."""
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def _at(document: Any, parts: list[str]) -> Any:
    """The value at ``parts``; a missing place raises (KeyError, IndexError, ValueError...)."""
    for part in parts:
        if isinstance(document, list):
            document = document[int(part)]
        elif isinstance(document, dict):
            document = document[part]
        else:
            raise TypeError(f"{part!r} below a scalar")
    return document


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """``document`` with RFC 6902 ``add`` operations applied (a copy; other ops are refused)."""
    result = copy.deepcopy(document)
    for operation in operations:
        if operation.get("op") != "add":
            raise UsageError(f"only 'add' operations are supported, not {operation.get('op')!r}")
        parts = _parts(operation["path"])
        try:
            parent = _at(result, parts[:-1])
        except (KeyError, IndexError, ValueError, TypeError):
            raise UsageError(f"cannot add at {operation['path']!r}: no such place") from None
        if isinstance(parent, list):
            last = parts[-1]
            parent.insert(len(parent) if last == "-" else int(last), operation["value"])
        else:
            parent[parts[-1]] = copy.deepcopy(operation["value"])
    return result


def patched_set(schema_set: SchemaSet, patch: Patch) -> SchemaSet:
    """Every schema of ``schema_set``, the patched ones changed: a set usable on its own."""
    documents = {
        name: apply_patch(doc, patch.get(f"{name}.json", [])) if f"{name}.json" in patch else doc
        for name, doc in schema_set.documents.items()
    }
    return SchemaSet(documents, origin=f"{schema_set.origin} + proposed patch")


def check_compatible(schema_set: SchemaSet, patch: Patch) -> list[str]:
    """Why ``patch`` is not a compatible change of ``schema_set`` (empty: it is compatible).

    The judge is :func:`contracts.diff.diff`, the very one ``r360-webhooks diff OLD NEW`` runs:
    the set is patched in a copy, compared with the original, and any difference a consumer could
    trip on (``warning`` or ``breaking``) is named, as ``diff`` prints it. Before that, what
    cannot be applied at all (a file not in the set, an operation other than ``add``, a place
    that does not exist) is named per file; after, the patched set must still accept the
    documented examples.
    """
    problems, applicable = [], {}
    for schema_file, operations in patch.items():
        name = schema_file.removesuffix(".json")
        if name not in schema_set.documents:
            problems.append(f"{schema_file}: no such schema")
            continue
        try:
            apply_patch(schema_set.documents[name], operations)
        except UsageError as error:
            problems.append(f"{schema_file}: {error}")
            continue
        applicable[schema_file] = operations
    patched = patched_set(schema_set, applicable)
    try:
        old, new = _files_of(schema_set), _files_of(patched)
    except InputError as error:
        return [*problems, str(error)]
    problems += [str(d) for d in diff(old, new) if d.severity >= Severity.WARNING]
    for spec in patched.known_events:
        path = Path(str(schema_set.origin), "examples", f"{spec.name}.json")
        if path.is_file() and not patched.is_valid(json.loads(path.read_text("utf-8"))):
            problems.append(f"the patched set rejects examples/{spec.name}.json")
    return problems


def _files_of(schema_set: SchemaSet) -> schemaset.SchemaSet:
    """``schema_set`` as ``diff`` reads a folder (a :class:`contracts.schemaset.SchemaSet`)."""
    files = {f"{name}.json": document for name, document in schema_set.documents.items()}
    return schemaset.set_of(files, str(schema_set.origin))


def write_set(schema_set: SchemaSet, directory: str | Path) -> list[Path]:
    """Write every schema of ``schema_set`` to ``directory`` (made if missing), two-space JSON."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a folder; --apply needs a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in schema_set.documents.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written
