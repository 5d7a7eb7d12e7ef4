"""One deliberate edit of the bundled schemas per diff rule, for the diff's tests.

Each :class:`Edit` copies the whole bundled set (``openapi.json`` and ``examples/`` included, as
``drift --apply`` writes it) into a folder, applies an optional ``baseline`` to both sides (an
enum needs to exist before a value can be added to it), then its ``change`` to NEW only. The
diff must name exactly ``rule`` at ``pointer``; the property tests use the same edits.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import schemas
from contracts.schemaset import SchemaSet, load_set

Doc = dict[str, Any]
Change = Callable[[Path], None]


def copy_bundled(dest: Path) -> Path:
    """The whole bundled set, copied to ``dest`` (created)."""
    shutil.copytree(str(schemas.schema_dir()), dest)
    return dest


def edit(name: str, change: Callable[[Doc], Any]) -> Change:
    """A change to one file of a set: read it, let ``change`` mutate it, write it back."""

    def apply(folder: Path) -> None:
        path = folder / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    return apply


@dataclass(frozen=True)
class Edit:
    rule: str
    pointer: str
    change: Change
    baseline: Change | None = None
    #: A body from NEW that OLD's consumer rejects is found within a few generated bodies (for
    #: the others, such bodies exist but are rare: an enum value in one event of two, a
    #: number at one end of a range).
    catchable: bool = False

    def folders(self, tmp: Path) -> tuple[Path, Path]:
        old, new = copy_bundled(tmp / "old"), copy_bundled(tmp / "new")
        if self.baseline is not None:
            self.baseline(old)
            self.baseline(new)
        self.change(new)
        return old, new

    def sets(self, tmp: Path) -> tuple[SchemaSet, SchemaSet]:
        old, new = self.folders(tmp)
        return load_set(old), load_set(new)

    def __str__(self) -> str:
        return self.rule


def _prop(doc: Doc, name: str) -> Doc:
    prop: Doc = doc["properties"][name]
    return prop


def _id(doc: Doc) -> Doc:
    return doc["$defs"]["id"]  # type: ignore[no-any-return]


def _geo(index: int) -> Callable[[Doc], Doc]:
    return lambda doc: doc["$defs"]["geo_coord"]["prefixItems"][index]


def _add_event(folder: Path) -> None:
    envelope = json.loads((folder / "transaction.create.json").read_text())
    envelope["$id"] = envelope["$id"].replace("create", "update")
    envelope["title"] = "transaction.update event"
    envelope["properties"]["event"]["const"] = "update"
    (folder / "transaction.update.json").write_text(json.dumps(envelope, indent=2))
    edit("webhook.json", lambda d: d["anyOf"].append({"$ref": "transaction.update.json"}))(folder)


def _remove_event(folder: Path) -> None:
    edit("webhook.json", lambda d: d["anyOf"].remove({"$ref": "task.completed.json"}))(folder)
    (folder / "task.completed.json").unlink()


def _add_schema(folder: Path) -> None:
    extra = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schemas.BASE_URI + "work_order.json",
        "title": "Work order",
        "description": "Not sent yet.",
        "type": "object",
    }
    (folder / "work_order.json").write_text(json.dumps(extra))


_STATUS = "/task.json/properties/status"
_UUID = {"type": "string", "format": "uuid"}


def _status(**keywords: Any) -> Change:
    return edit("task.json", lambda d: _prop(d, "status").update(keywords))


def _drop(key: str, where: Callable[[Doc], Doc], file: str) -> Change:
    return edit(file, lambda d: where(d).pop(key))


def _closed(doc: Doc) -> None:
    doc["additionalProperties"] = False


#: Edits a consumer of OLD can take (info), then those that need a look (warning), then breaking.
EDITS: tuple[Edit, ...] = (
    Edit("event-added", "/webhook.json/anyOf/2", _add_event),
    Edit("schema-added", "/work_order.json", _add_schema),
    Edit(
        "definition-added",
        "/common.json/$defs/uuid",
        edit("common.json", lambda d: d["$defs"].update(uuid=_UUID)),
    ),
    Edit(
        "property-added",
        "/photo.json/properties/blur_score",
        edit(
            "photo.json",
            lambda d: d["properties"].update(
                blur_score={"type": "number", "description": "Inferred: sharpness."}
            ),
        ),
    ),
    Edit(
        "required-added",
        "/transaction.json/properties/task_id",
        edit("transaction.json", lambda d: d["required"].append("task_id")),
    ),
    Edit(
        "type-narrowed",
        "/transaction.json/properties/check_in",
        edit("transaction.json", lambda d: _prop(d, "check_in").update(type="boolean")),
    ),
    Edit(
        "branch-removed",
        "/transaction.json/properties/task_id/anyOf/2",
        edit("transaction.json", lambda d: _prop(d, "task_id")["anyOf"].pop(2)),
        baseline=edit("transaction.json", lambda d: _prop(d, "task_id")["anyOf"].append(_UUID)),
    ),
    Edit(
        "enum-added",
        _STATUS,
        _status(enum=["idle", "completed"]),
    ),
    Edit(
        "enum-value-removed",
        _STATUS,
        _status(enum=["idle", "completed"]),
        baseline=_status(enum=["idle", "completed", "cancelled"]),
    ),
    Edit(
        "extensible-enum-value-added",
        _STATUS,
        _status(**{"x-extensible-enum": ["idle", "completed"]}),
        baseline=_status(**{"x-extensible-enum": ["idle"]}),
    ),
    Edit(
        "extensible-enum-value-removed",
        _STATUS,
        _status(**{"x-extensible-enum": ["idle"]}),
        baseline=_status(**{"x-extensible-enum": ["idle", "completed"]}),
    ),
    Edit(
        "format-added",
        "/user.json/properties/email",
        edit("user.json", lambda d: _prop(d, "email").update(format="email")),
    ),
    Edit(
        "pattern-added",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(pattern="^[0-9]+$")),
    ),
    Edit(
        "min-length-increased",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(minLength=2)),
    ),
    Edit(
        "max-length-decreased",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(maxLength=64)),
    ),
    Edit(
        "min-items-increased",
        "/transaction.json/properties/photos",
        edit("transaction.json", lambda d: _prop(d, "photos").update(minItems=1)),
    ),
    Edit(
        "max-items-decreased",
        "/transaction.json/properties/photos",
        edit("transaction.json", lambda d: _prop(d, "photos").update(maxItems=2)),
    ),
    Edit(
        "minimum-increased",
        "/common.json/$defs/geo_coord/prefixItems/0",
        edit("common.json", lambda d: _geo(0)(d).update(minimum=-170)),
    ),
    Edit(
        "maximum-decreased",
        "/common.json/$defs/geo_coord/prefixItems/1",
        edit("common.json", lambda d: _geo(1)(d).update(exclusiveMaximum=90)),
    ),
    Edit(
        "ref-changed",
        "/transaction.json/properties/task_id/anyOf/0",
        edit(
            "transaction.json",
            lambda d: _prop(d, "task_id")["anyOf"].__setitem__(
                0, {"type": "string", "minLength": 1, "maxLength": 255}
            ),
        ),
    ),
    Edit(
        "description-changed",
        "/photo.json/properties/url",
        edit("photo.json", lambda d: _prop(d, "url").update(description="Documented: the image.")),
    ),
    Edit("title-changed", "/photo.json", edit("photo.json", lambda d: d.update(title="Picture"))),
    Edit(
        "examples-changed",
        "/photo.json/properties/notation",
        edit("photo.json", lambda d: _prop(d, "notation").update(examples=["dent"])),
    ),
    Edit(
        "annotation-changed",
        "/photo.json/properties/notation",
        edit("photo.json", lambda d: _prop(d, "notation").update(deprecated=True)),
    ),
    # warnings
    Edit(
        "schema-removed",
        "/work_order.json",
        lambda f: (f / "work_order.json").unlink(),
        baseline=_add_schema,
    ),
    Edit(
        "definition-removed",
        "/common.json/$defs/uuid",
        edit("common.json", lambda d: d["$defs"].pop("uuid")),
        baseline=edit("common.json", lambda d: d["$defs"].update(uuid=_UUID)),
    ),
    Edit(
        "branch-added",
        "/transaction.json/properties/task_id/anyOf/2",
        edit("transaction.json", lambda d: _prop(d, "task_id")["anyOf"].append(_UUID)),
    ),
    Edit("additional-properties-closed", "/photo.json", edit("photo.json", _closed)),
    Edit(
        "format-changed",
        "/common.json/$defs/timestamp",
        edit("common.json", lambda d: d["$defs"]["timestamp"].update(format="date")),
    ),
    Edit(
        "pattern-changed",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(pattern="^[0-9a-f]+$")),
        baseline=edit("common.json", lambda d: _id(d).update(pattern="^[0-9]+$")),
    ),
    Edit(
        "keyword-changed",
        "/photo.json/properties/byte_size",
        edit("photo.json", lambda d: _prop(d, "byte_size").update(multipleOf=1)),
    ),
    # breaking
    Edit("event-removed", "/webhook.json/anyOf/1", _remove_event),
    Edit(
        "property-removed",
        "/photo.json/properties/notation",
        edit("photo.json", lambda d: d["properties"].pop("notation")),
    ),
    Edit(
        "property-added-to-closed-object",
        "/asset.json/properties/vin",
        edit("asset.json", lambda d: d["properties"].update(vin={"type": "string"})),
        baseline=edit("asset.json", _closed),
        catchable=True,
    ),
    Edit(
        "additional-properties-opened",
        "/asset.json",
        edit("asset.json", lambda d: d.pop("additionalProperties")),
        baseline=edit("asset.json", _closed),
        catchable=True,
    ),
    Edit(
        "required-removed",
        "/transaction.json/properties/id",
        edit("transaction.json", lambda d: d["required"].remove("id")),
        catchable=True,
    ),
    Edit(
        "type-widened",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(type=["string", "null"])),
        catchable=True,
    ),
    Edit(
        "type-changed",
        "/transaction.json/properties/damage",
        edit("transaction.json", lambda d: _prop(d, "damage").update(type="string")),
        catchable=True,
    ),
    Edit(
        "enum-value-added",
        _STATUS,
        _status(enum=["idle", "completed", "cancelled"]),
        baseline=_status(enum=["idle", "completed"]),
    ),
    Edit(
        "enum-removed",
        _STATUS,
        edit("task.json", lambda d: _prop(d, "status").pop("enum")),
        baseline=_status(enum=["idle", "completed"]),
        catchable=True,
    ),
    Edit(
        "format-removed",
        "/common.json/$defs/timestamp",
        _drop("format", lambda d: d["$defs"]["timestamp"], "common.json"),
        catchable=True,
    ),
    Edit(
        "pattern-removed",
        "/common.json/$defs/id",
        _drop("pattern", _id, "common.json"),
        baseline=edit("common.json", lambda d: _id(d).update(pattern="^[0-9]+$")),
        catchable=True,
    ),
    Edit(
        "min-length-decreased",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(minLength=0)),
        catchable=True,
    ),
    Edit(
        "max-length-increased",
        "/common.json/$defs/id",
        edit("common.json", lambda d: _id(d).update(maxLength=1000)),
        catchable=True,
    ),
    Edit(
        "min-items-decreased",
        "/common.json/$defs/geo_coord",
        edit("common.json", lambda d: d["$defs"]["geo_coord"].update(minItems=1)),
        catchable=True,
    ),
    Edit(
        "max-items-increased",
        "/common.json/$defs/geo_coord",
        edit("common.json", lambda d: d["$defs"]["geo_coord"].pop("maxItems")),
    ),
    Edit(
        "minimum-decreased",
        "/common.json/$defs/geo_coord/prefixItems/0",
        edit("common.json", lambda d: _geo(0)(d).update(minimum=-360)),
    ),
    Edit(
        "maximum-increased",
        "/common.json/$defs/geo_coord/prefixItems/1",
        _drop("maximum", _geo(1), "common.json"),
        catchable=True,
    ),
)
