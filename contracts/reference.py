"""Render the schema reference (``docs/reference.md``) from the bundled schemas.

People read the reference as *the* documentation of Record360's v1 webhooks, so it is generated
from the schemas and a test fails when the committed copy is stale: the docs can never say one
thing while the validator enforces another. Each field's provenance (documented in Record360's
webhook example, seen on a v1 API page, or inferred) is read from the start of its description,
the one place the schemas record it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contracts import schemas

__all__ = ["PROVENANCE", "provenance_of", "render_markdown"]

#: Description prefixes, in the order of certainty, with the label the docs show.
PROVENANCE: dict[str, str] = {
    "Documented: ": "documented",
    "Seen in v1: ": "seen in v1",
    "Inferred: ": "inferred",
}

_COMMON_NAMES = {
    "id": "id (string, 1-255 chars)",
    "timestamp": "date-time (RFC 3339)",
    "geo_coord": "[longitude, latitude]",
    "https_url": "URL",
    "checklist_answer": "any JSON (checklist answer)",
}
_EXAMPLE_WIDTH = 70


def provenance_of(description: str) -> tuple[str, str]:
    """Split a property description into its provenance label and the rest of the text."""
    for prefix, label in PROVENANCE.items():
        if description.startswith(prefix):
            return label, description.removeprefix(prefix)
    return "", description


def render_markdown() -> str:
    """The whole reference as Markdown, deterministic for a given set of schema files."""
    events = schemas.known_events()
    event_names = {spec.name for spec in events}
    resources_ = [spec.resource for spec in events]  # the event objects first, then the rest
    others = [n for n in schemas.schema_names() if n not in (*event_names, *resources_)]
    objects = resources_ + [n for n in others if n not in ("webhook", "common")]
    lines = [
        "# Record360 v1 webhooks: schema reference",
        "",
        "<!-- Generated from schemas/v1 by `make docs` (r360-webhooks schema --markdown). "
        "Do not edit by hand: a test fails when this file is out of date. -->",
        "",
        "Record360 POSTs one JSON body per event over HTTPS: the event type under `event` and the",
        "object it concerns under its resource key. Every object is **open**: Record360 may add",
        "properties at any depth, new checklist fields, new event types, reorder keys and send IDs",
        "of other lengths and formats (up to 255 characters). A consumer must accept all of that.",
        "",
        "Provenance of each field: **documented** (in Record360's webhook example), **seen in v1**",
        "(on a Record360 v1 API page, not in the webhook example) or **inferred** (our reasoned",
        "guess; treat it as possible, not promised).",
        "",
        "## Events",
        "",
        f"`webhook.json` accepts any known event: {', '.join(f'`{s.name}`' for s in events)}. "
        "An unknown event is still a body a consumer must acknowledge.",
        "",
    ]
    for spec in events:
        lines += _render_event(spec)
    lines += ["## Objects", ""]
    for name in objects:
        lines += _render_object(name)
    lines += _render_common()
    return "\n".join(lines).rstrip() + "\n"


def _render_event(spec: schemas.EventSpec) -> list[str]:
    schema = schemas.load_schema(spec.name)
    body = json.dumps(schemas.example(spec.name), indent=2, ensure_ascii=False)
    return [
        f"### `{spec.name}`",
        "",
        schema["description"],
        "",
        f'Body: `{{"event": "{spec.event}", "{spec.resource}": {{...}}}}`, '
        f"schema `{spec.name}.json`.",
        "",
        *_field_table(schema),
        "Example:",
        "",
        "```json",
        body,
        "```",
        "",
    ]


def _render_object(name: str) -> list[str]:
    schema = schemas.load_schema(name)
    lines = [f"### {schema['title']} (`{name}.json`)", "", schema["description"], ""]
    if "properties" in schema:
        lines += _field_table(schema)
    else:
        lines += [f"Type: {_type_of(schema)}.", ""]
    return lines


def _field_table(schema: Mapping[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = [
        "| Field | Type | Required | Provenance | Description | Example |",
        "|---|---|---|---|---|---|",
    ]
    for field, prop in schema["properties"].items():
        label, text = provenance_of(prop.get("description", ""))
        rows.append(
            f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else 'no'} "
            f"| {label} | {_cell(text)} | {_example_of(prop)} |"
        )
    return [*rows, ""]


def _render_common() -> list[str]:
    common = schemas.load_schema("common")
    lines = ["## Value types (`common.json`)", "", common["description"], ""]
    lines += ["| Type | Meaning | Example |", "|---|---|---|"]
    for name, definition in common["$defs"].items():
        lines.append(
            f"| {_COMMON_NAMES.get(name, name)} | {_cell(definition['description'])} "
            f"| {_example_of(definition)} |"
        )
    return [*lines, ""]


def _type_of(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return " or ".join(_type_of(branch) for branch in branches)
    declared = schema.get("type")
    if declared == "array":
        items = schema.get("items")
        return f"array of {_type_of(items)}" if isinstance(items, Mapping) else "array"
    if declared == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"map of {_type_of(schema['additionalProperties'])}"
    if isinstance(declared, list):
        return " or ".join(declared)
    if declared is None:
        return "any JSON"
    fmt = schema.get("format")
    return f"{declared} ({fmt})" if fmt else str(declared)


def _ref_name(ref: str) -> str:
    target, _, fragment = ref.partition("#")
    if fragment:
        return _COMMON_NAMES.get(fragment.rsplit("/", 1)[-1], fragment)
    name = target.removesuffix(".json")
    title = schemas.load_schema(name)["title"]
    anchor = f"{title} ({name}.json)".lower()
    anchor = "".join(c for c in anchor if c.isalnum() or c in " -_").replace(" ", "-")
    return f"[{name}](#{anchor})"


def _example_of(schema: Mapping[str, Any]) -> str:
    examples = schema.get("examples")
    if not examples:
        return ""
    text = json.dumps(examples[0], ensure_ascii=False)
    if len(text) > _EXAMPLE_WIDTH:
        text = text[: _EXAMPLE_WIDTH - 3] + "..."
    return f"`{_cell(text)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
