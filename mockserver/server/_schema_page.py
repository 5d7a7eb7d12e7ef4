"""The dashboard's ``/schemas`` page: the schema reference as HTML, from the bundled schemas.

Rendered from :mod:`contracts.schemas` on each request, with the same reading of types, examples
and provenance as ``docs/reference.md`` (:mod:`contracts.reference`), so the page can never show
a contract other than the one the validator enforces. Every value is escaped: the schemas are
ours, but a page that escapes everything needs no judgement about which text is safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from contracts import schemas
from contracts.reference import Markup, example_text, object_names, provenance_of, type_of

__all__ = ["render_schemas"]


def _anchor(name: str) -> str:
    return f"schema-{name}"


def _link(name: str) -> str:
    return f'<a href="#{escape(_anchor(name))}">{escape(name)}</a>'


_HTML = Markup(text=escape, code=lambda literal: f"<code>{escape(literal)}</code>", link=_link)


def render_schemas() -> str:
    """The body of the schema page: events, then objects, then the common value types."""
    events = schemas.known_events()
    toc = " ".join(
        _link(name)
        for name in [*(spec.name for spec in events), *object_names(), "webhook", "common"]
    )
    parts = [
        "<h1>Schema reference</h1>",
        '<p class="lead">Record360 v1 webhooks, rendered from the bundled schemas '
        "(<code>schemas/v1</code>). Every object is <strong>open</strong>: Record360 may add "
        "properties at any depth. Provenance: <strong>documented</strong> (Record360's webhook "
        "example), <strong>seen in v1</strong> (a v1 API page) or <strong>inferred</strong> "
        "(possible, not promised).</p>",
        f'<nav class="toc">{toc}</nav>',
        "<h2>Events</h2>",
        _section(
            "webhook",
            "<p>Accepts any known event: "
            + ", ".join(f"<code>{escape(spec.name)}</code>" for spec in events)
            + ". An unknown event is still a body a consumer must acknowledge.</p>",
            schemas.load_schema("webhook")["title"],
        ),
    ]
    parts += [_event(spec) for spec in events]
    parts.append("<h2>Objects</h2>")
    parts += [_object(name) for name in object_names()]
    parts.append(_common())
    return "\n".join(parts)


def _section(name: str, body: str, title: str | None = None) -> str:
    heading = f"{escape(title)} " if title else ""
    return (
        f'<section id="{escape(_anchor(name))}" data-testid="schema" data-name="{escape(name)}">'
        f"<h3>{heading}<code>{escape(name)}.json</code></h3>{body}</section>"
    )


def _event(spec: schemas.EventSpec) -> str:
    schema = schemas.load_schema(spec.name)
    envelope = f'{{"event": "{spec.event}", "{spec.resource}": {{...}}}}'
    example = json.dumps(schemas.example(spec.name), indent=2, ensure_ascii=False)
    body = (
        f"<p>{escape(schema['description'])}</p>"
        f"<p>Body: <code>{escape(envelope)}</code></p>"
        f"{_fields(spec.name, schema)}"
        f'<details><summary>Example</summary><pre class="json">{escape(example)}</pre></details>'
    )
    return _section(spec.name, body)


def _object(name: str) -> str:
    schema = schemas.load_schema(name)
    body = f"<p>{escape(schema['description'])}</p>"
    if "properties" in schema:
        body += _fields(name, schema)
    else:
        body += f"<p>Type: {type_of(schema, _HTML)}.</p>"
    return _section(name, body, schema["title"])


def _fields(name: str, schema: Mapping[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = []
    for field, prop in schema["properties"].items():
        label, text = provenance_of(prop.get("description", ""))
        example = example_text(prop)
        rows.append(
            f'<tr data-testid="field-row" data-field="{escape(field)}">'
            f"<td><code>{escape(field)}</code></td>"
            f"<td>{type_of(prop, _HTML)}</td>"
            f"<td>{'yes' if field in required else 'no'}</td>"
            f'<td><span class="prov prov-{escape(label.replace(" ", "-"))}">'
            f"{escape(label)}</span></td>"
            f"<td>{escape(text)}</td>"
            f"<td>{f'<code>{escape(example)}</code>' if example else ''}</td></tr>"
        )
    return (
        f'<table class="fields" data-testid="fields-{escape(name)}"><thead><tr>'
        "<th>Field</th><th>Type</th><th>Required</th><th>Provenance</th><th>Description</th>"
        f"<th>Example</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _common() -> str:
    common = schemas.load_schema("common")
    rows = []
    for name, definition in common["$defs"].items():
        example = example_text(definition)
        rows.append(
            f'<tr data-testid="field-row" data-field="{escape(name)}">'
            f"<td>{type_of({'$ref': f'common.json#/$defs/{name}'}, _HTML)}</td>"
            f"<td>{escape(definition['description'])}</td>"
            f"<td>{f'<code>{escape(example)}</code>' if example else ''}</td></tr>"
        )
    table = (
        '<table class="values" data-testid="fields-common"><thead><tr><th>Type</th>'
        f"<th>Meaning</th><th>Example</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return "<h2>Value types</h2>" + _section(
        "common", f"<p>{escape(common['description'])}</p>{table}"
    )
