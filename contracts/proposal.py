"""The schema change drift proposes: a JSON Patch (RFC 6902) per schema file, checked, applied.

Why this module exists (issue 15, item 2): a report of undocumented paths is half the work; the
other half is the change to the contract, in a form a reviewer can read and a tool can apply.
Each undocumented key of a record becomes one ``add`` operation on the record's ``properties`` in
the file that defines the record (``photo.json`` for ``$.transaction.photos[*].blur_score``),
with the JSON types seen and a provenance description in the house style: *Seen in traffic (N of
M bodies, FIRST_DATE to LAST_DATE).* A key seen under several paths of one record is one
operation.

The change is checked to be compatible (:func:`check_compatible`): it may only add an optional,
so far undescribed property to a record. Such a record already accepted the key with any value,
so everything valid under the proposed contract was valid under the old one, and no consumer
written against the old contract breaks. The patched set must still accept the documented
examples.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contracts.drift import Seen, Target
from contracts.errors import UsageError
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


def _at(document: Any, parts: list[str], *, strict: bool = False) -> Any:
    """The value at ``parts``; a missing place raises when ``strict``, else reads as ``{}``."""
    for part in parts:
        if isinstance(document, list):
            document = document[int(part)]
        elif isinstance(document, dict):
            document = document[part] if strict else document.get(part, {})
        elif strict:
            raise TypeError(f"{part!r} below a scalar")
        else:
            return {}
    return document


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """``document`` with RFC 6902 ``add`` operations applied (a copy; other ops are refused)."""
    result = copy.deepcopy(document)
    for operation in operations:
        if operation.get("op") != "add":
            raise UsageError(f"only 'add' operations are supported, not {operation.get('op')!r}")
        parts = _parts(operation["path"])
        try:
            parent = _at(result, parts[:-1], strict=True)
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
    """Why ``patch`` is not a compatible change of ``schema_set`` (empty: it is compatible)."""
    problems = []
    for schema_file, operations in patch.items():
        name = schema_file.removesuffix(".json")
        if name not in schema_set.documents:
            problems.append(f"{schema_file}: no such schema")
            continue
        for operation in operations:
            *record_path, properties, key = _parts(operation["path"])
            record = _at(schema_set.documents[name], record_path)
            where = f"{schema_file}#{operation['path']}"
            if operation["op"] != "add" or properties != "properties":
                problems.append(f"{where}: not an added property")
            elif "additionalProperties" in record or "properties" not in record:
                problems.append(f"{where}: not added to a record (open object with properties)")
            elif key in record["properties"] or key in record.get("required", []):
                problems.append(f"{where}: {key!r} is already described or required")
    if not problems:
        patched = patched_set(schema_set, patch)
        for spec in patched.known_events:
            path = Path(str(schema_set.origin), "examples", f"{spec.name}.json")
            if path.is_file() and not patched.is_valid(json.loads(path.read_text("utf-8"))):
                problems.append(f"the patched set rejects examples/{spec.name}.json")
    return problems


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
