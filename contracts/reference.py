"""Render the schema reference (``docs/reference.md``) from the bundled schemas.

People read the reference as *the* documentation of Record360's v1 webhooks, so it is generated
from the schemas and a test fails when the committed copy is stale: the docs can never say one
thing while the validator enforces another. Each field's provenance (documented in Record360's
webhook example, seen on a v1 API page, or inferred) is read from the start of its description,
the one place the schemas record it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import schemas

__all__ = [
    "MARKDOWN",
    "PROVENANCE",
    "Markup",
    "example_text",
    "object_names",
    "provenance_of",
    "render_markdown",
    "type_of",
]

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


@dataclass(frozen=True, slots=True)
class Markup:
    """How :func:`type_of` writes a type: the Markdown reference and the dashboard's HTML page
    share one reading of the schemas and differ only in these three ways of writing."""

    #: Plain words ("array of", "string (date-time)").
    text: Callable[[str], str]
    #: A literal value (a ``const``).
    code: Callable[[str], str]
    #: A link to the section of the bundled schema called by its name (``"photo"``).
    link: Callable[[str], str]


def _markdown_link(name: str) -> str:
    title = schemas.load_schema(name)["title"]
    anchor = f"{title} ({name}.json)".lower()
    anchor = "".join(c for c in anchor if c.isalnum() or c in " -_").replace(" ", "-")
    return f"[{name}](#{anchor})"


#: GitHub Markdown, as in ``docs/reference.md``.
MARKDOWN = Markup(text=str, code=lambda literal: f"`{literal}`", link=_markdown_link)


def object_names() -> list[str]:
    """The object schemas in reference order: each event's resource first, then the rest."""
    events = schemas.known_events()
    event_names = {spec.name for spec in events}
    resources_ = [spec.resource for spec in events]
    others = [n for n in schemas.schema_names() if n not in (*event_names, *resources_)]
    return resources_ + [n for n in others if n not in ("webhook", "common")]


def render_markdown() -> str:
    """The whole reference as Markdown, deterministic for a given set of schema files."""
    events = schemas.known_events()
    objects = object_names()
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
        lines += [f"Type: {type_of(schema)}.", ""]
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
            f"| `{field}` | {type_of(prop)} | {'yes' if field in required else 'no'} "
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


def type_of(schema: Mapping[str, Any], markup: Markup = MARKDOWN) -> str:
    """A property's type in a few words: ``array of photo``, ``string or null``, a link..."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"], markup)
    if "const" in schema:
        return markup.code(json.dumps(schema["const"]))
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return " or ".join(type_of(branch, markup) for branch in branches)
    declared = schema.get("type")
    if declared == "array":
        items = schema.get("items")
        if isinstance(items, Mapping):
            return markup.text("array of ") + type_of(items, markup)
        return markup.text("array")
    if declared == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return markup.text("map of ") + type_of(schema["additionalProperties"], markup)
    if isinstance(declared, list):
        return markup.text(" or ".join(declared))
    if declared is None:
        return markup.text("any JSON")
    fmt = schema.get("format")
    return markup.text(f"{declared} ({fmt})" if fmt else str(declared))


def _ref_name(ref: str, markup: Markup) -> str:
    target, _, fragment = ref.partition("#")
    if fragment:
        return markup.text(_COMMON_NAMES.get(fragment.rsplit("/", 1)[-1], fragment))
    return markup.link(target.removesuffix(".json"))


def example_text(schema: Mapping[str, Any]) -> str:
    """The first example as one line of JSON, cut to fit a table cell; empty when none."""
    examples = schema.get("examples")
    if not examples:
        return ""
    text = json.dumps(examples[0], ensure_ascii=False)
    if len(text) > _EXAMPLE_WIDTH:
        text = text[: _EXAMPLE_WIDTH - 3] + "..."
    return text


def _example_of(schema: Mapping[str, Any]) -> str:
    text = example_text(schema)
    return f"`{_cell(text)}`" if text else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
