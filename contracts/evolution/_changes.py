"""The catalogue: each backwards-compatible change Record360's policy allows, as one class.

Registration order is application order when changes combine; ``reordered-keys`` comes last so
it also moves the keys the other changes added.
"""

from __future__ import annotations

import string
from typing import Any

from contracts import _realism, schemas
from contracts._choice import Chooser
from contracts._generate import generator_for
from contracts.evolution._base import (
    AppliedChange,
    Body,
    Change,
    any_json,
    id_nodes,
    new_key,
    records,
    set_at,
)
from contracts.jsontext import short

_TRANSACTION = frozenset({"transaction.create"})
_NEW_FIELDS = (
    "risk_score",
    "inspector_notes",
    "account_id",
    "api_version",
    "region",
    "tags",
    "external_ref",
)
_NEW_OBJECTS = ("inspection_summary", "damage_report", "work_order", "customer", "meta", "v3")
_NEW_LABELS = (
    "Tire.Pressure (psi)",
    "Hazmat? 🚚",
    "$override",
    "Odometer\nkm",
    "x" * 120,
    "",
    "Fuel Level ",
)
_NEW_SECTIONS = ("Pre-Trip", "Hazmat 🚚", "Section 42", "Überprüfung", "")
_OPAQUE = string.ascii_letters + string.digits + string.punctuation + " éüßñ漢字"
_MEDIA = (("photos", "photo"), ("videos", "video"), ("signatures", "signature"), ("files", "file"))


class AddedField(Change):
    name = "added-field"
    summary = "adds an unknown property, holding any JSON value, to an object at any depth"
    policy = "Responses may gain new properties."
    undocumented = True

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        node = c.choice(records(body, event))
        key = new_key(c, node.value.keys() | node.schema["properties"].keys(), _NEW_FIELDS)  # type: ignore[index]
        value = any_json(c)
        node.value[key] = value
        path = schemas.format_path((*node.path, key))
        return AppliedChange(self.name, f"added {path} = {short(value)}", (path,))


class NewChecklistField(Change):
    name = "new-checklist-field"
    summary = (
        "adds checklist fields with new labels and answer types to forms[].values and notations"
    )
    policy = (
        "Inspection results differ: different checklist fields, additional fields (webhook page)."
    )
    events = _TRANSACTION

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        transaction = body["transaction"]
        targets: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
            (("transaction", "forms", i, "values"), form["values"])
            for i, form in enumerate(transaction["forms"])
        ]
        targets += [
            (("transaction", "notations", s), v)
            for s, v in transaction["notations"].items()
            if isinstance(v, dict)
        ]
        if not targets:
            section = new_key(c, transaction["notations"].keys(), _realism.NOTATION_SECTIONS)
            transaction["notations"][section] = {}
            targets = [(("transaction", "notations", section), transaction["notations"][section])]
        added = []
        for _ in range(c.integer(1, 3)):
            where, answers = c.choice(targets)
            label = new_key(c, answers.keys(), _NEW_LABELS)
            answers[label] = any_json(c)
            added.append(schemas.format_path((*where, label)))
        return AppliedChange(
            self.name, f"added checklist field(s) {', '.join(added)}", tuple(added)
        )


class NewNotationSection(Change):
    name = "new-notation-section"
    summary = "adds a notation section the workflow never had, with its own fields"
    policy = "Inspection results differ: different checklist fields (webhook page)."
    events = _TRANSACTION

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        notations = body["transaction"]["notations"]
        section = new_key(c, notations.keys(), _NEW_SECTIONS)
        notations[section] = {
            new_key(c, (), _NEW_LABELS): any_json(c) for _ in range(c.integer(1, 3))
        }
        path = schemas.format_path(("transaction", "notations", section))
        return AppliedChange(self.name, f"added section {path}", (path,))


class NewWorkflowModule(Change):
    name = "new-workflow-module"
    summary = "adds workflow module codes never seen before to workflow_modules"
    policy = "Inspection results differ (webhook page); module codes are undocumented and open."
    events = _TRANSACTION

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        modules = body["transaction"]["workflow_modules"]
        codes = []
        for _ in range(c.integer(1, 3)):
            code = c.choice(string.ascii_uppercase) + c.text(
                string.ascii_uppercase + string.digits, 1, 4
            )
            if code not in modules and code not in _realism.WORKFLOW_MODULES:
                modules.insert(c.integer(0, len(modules)), code)
                codes.append(code)
        if not codes:
            modules.append("ZZ99")
            codes.append("ZZ99")
        return AppliedChange(self.name, f"added module code(s) {', '.join(codes)}")


class OpaqueId(Change):
    name = "opaque-id"
    summary = (
        "replaces IDs with opaque, case-sensitive strings of printable characters, 21-255 long"
    )
    policy = (
        "Object IDs may change length or format; plan for up to 255 characters, case-sensitive."
    )

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        replacements: dict[str, str] = {}
        nodes = list(id_nodes(body, event))
        for node in nodes:
            if node.value not in replacements:
                replacements[node.value] = _opaque_id(c, list(replacements.values()))
            set_at(body, node.path, replacements[node.value])
        first = schemas.format_path(nodes[0].path)
        return AppliedChange(
            self.name, f"replaced {len(replacements)} IDs with opaque strings, e.g. {first}"
        )


def _opaque_id(c: Chooser, taken: list[str]) -> str:
    """A fresh opaque ID: a letter, then 20 to 254 printable characters (so 21 to 255 long).

    ``taken`` is a list, in the order the IDs were made: the twin below is of the first one. The
    first of a *set* depends on the process's string hashing, and the same seed must make the
    same body in every process (``send --workers``, ``example --seed``).
    """
    if taken and c.boolean():
        # Two IDs differing only in case must stay two IDs (utf8_bin, says the policy).
        twin = taken[0].swapcase()
        if twin not in taken and len(twin) <= 255:  # "ß".swapcase() is "SS"
            return twin
    while True:
        new = c.choice(string.ascii_letters) + c.text(_OPAQUE, 20, 254)
        if new not in taken:
            return new


class NewMediaFields(Change):
    name = "new-media-fields"
    summary = (
        "adds unknown properties to photos, videos, signatures and files (adding an item if none)"
    )
    policy = "Responses may gain new properties."
    events = _TRANSACTION
    undocumented = True

    def prepare(self, body: Body, event: str, c: Chooser) -> None:
        # Media lists are often empty; a valid item to extend must exist before the change.
        transaction = body["transaction"]
        if not any(transaction[key] for key, _ in _MEDIA):
            key, object_name = c.choice(_MEDIA)
            transaction[key].append(generator_for(object_name)(c))

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        transaction = body["transaction"]
        key, object_name = c.choice([(k, o) for k, o in _MEDIA if transaction[k]])
        items = transaction[key]
        index = c.integer(0, len(items) - 1)
        known = schemas.load_schema(object_name)["properties"].keys()
        field = new_key(
            c,
            items[index].keys() | known,
            ("blur_score", "width", "height", "exif", "checksum", "ai_labels"),
        )
        items[index][field] = any_json(c)
        path = schemas.format_path(("transaction", key, index, field))
        return AppliedChange(self.name, f"added {path}", (path,))


class NewOptionalObject(Change):
    name = "new-optional-object"
    summary = "adds a nested object the contract has never shown to the event's resource"
    policy = "Responses may gain new properties; new API resources may be added."
    undocumented = True

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        node = c.choice(records(body, event)[1:])  # not the envelope: that is unknown_events()
        key = new_key(c, node.value.keys() | node.schema["properties"].keys(), _NEW_OBJECTS)  # type: ignore[index]
        node.value[key] = {
            "id": _realism.record_id(c),
            **{new_key(c, ("id",), _NEW_FIELDS): any_json(c) for _ in range(c.integer(0, 2))},
        }
        path = schemas.format_path((*node.path, key))
        return AppliedChange(self.name, f"added object {path}", (path,))


class ReorderedKeys(Change):
    name = "reordered-keys"
    summary = "changes the order of keys in every object (the data stays equal)"
    policy = "Property order in responses may change."

    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        before = _key_orders(body)
        _shuffle(body, c)
        if _key_orders(body) == before:  # the identity permutation: still make it visible
            first = next(iter(body))
            body[first] = body.pop(first)
        return AppliedChange(self.name, f"reordered keys, envelope now {list(body)}")


def _shuffle(value: Any, c: Chooser) -> None:
    if isinstance(value, dict):
        keys = list(value)
        order = c.sample(keys, len(keys), len(keys))
        items = [(k, value.pop(k)) for k in order]
        value.update(items)
        for item in value.values():
            _shuffle(item, c)
    elif isinstance(value, list):
        for item in value:
            _shuffle(item, c)


def _key_orders(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [list(value), *[_key_orders(v) for v in value.values()]]
    if isinstance(value, list):
        return [_key_orders(v) for v in value]
    return []
