"""The dashboard of ``r360-webhooks serve``: deliveries, attempts and the schemas, in a browser.

:func:`install` adds three server-rendered pages to the :class:`~mockserver.server.App`; a small
inline script (:mod:`~mockserver.server._dashboard_assets`) keeps them current by polling the
same JSON API a script would use, and sends events and redeliveries through it. No build step
and nothing fetched from elsewhere: the server may run on a machine with no internet.

=========================  ==============================================================
``/``                      deliveries, newest first, refreshed every second; counts per
                           state; a form that triggers an event
``/deliveries/{id}``       every attempt (headers redacted), the payload, **Redeliver**
``/schemas``               the schema reference, rendered from the bundled schemas
=========================  ==============================================================

Payloads, URLs and consumer answers are attacker-controlled: every value is escaped here and
written as text by the script, and a Content-Security-Policy lets only the page's own
nonce-tagged style and script run.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from contracts import schemas
from mockserver.delivery.records import Attempt
from mockserver.server._dashboard_assets import CSS, SCRIPT
from mockserver.server._schema_page import render_schemas
from mockserver.server.store import STATES, Record

if TYPE_CHECKING:
    from mockserver.server import App

__all__ = ["ROWS", "install"]

#: How many of the newest deliveries the list shows.
ROWS = 50
_DASH = "\u2014"


def install(app: App) -> None:
    """Serve the dashboard from ``app``: ``/`` (replacing the plain index), a page per delivery
    and ``/schemas``."""
    dashboard = _Dashboard(app)
    app.add_view("/", "index", dashboard.index)
    app.add_view("/deliveries/<id>", "delivery_page", dashboard.delivery)
    app.add_view("/schemas", "schema_page", dashboard.schemas)


class _Dashboard:
    def __init__(self, app: App) -> None:
        self.app = app

    def index(self, request: Request) -> Response:
        wanted = request.args.get("status")
        status = wanted if wanted in STATES else None
        page = self.app.store.query(status=status, limit=ROWS)
        counts = self.app.store.counts()
        rows = "".join(_delivery_row(record) for record in page.records)
        empty = f"No {status} delivery." if status else "No delivery yet: trigger an event above."
        if not rows:
            rows = f'<tr class="empty"><td colspan="7" class="muted">{escape(empty)}</td></tr>'
        body = (
            "<h1>Deliveries</h1>"
            f'<div class="bar"><ul class="counts">{_counts(counts, status)}</ul>'
            f'<span class="muted" id="queue">{self.app.pool.queued} queued, '
            f"{self.app.pool.retrying()} waiting to retry, "
            f"{self.app.pool.in_flight} in flight</span></div>"
            f"{_trigger_form()}{_subscriptions(self.app)}"
            f"<h2>{'Newest ' + escape(status) if status else 'Newest'} deliveries "
            f'<span class="muted" id="shown">{len(page.records)} of {page.total}</span></h2>'
            f'<table id="deliveries" data-testid="deliveries" data-limit="{ROWS}" '
            f'data-filter="{escape(status or "")}" data-empty="{escape(empty)}"><thead><tr>'
            '<th class="fit">Id</th><th class="fit">Status</th><th>Event</th><th>Target</th>'
            '<th class="fit num">Attempts</th><th class="fit num">Last answer</th>'
            f'<th class="fit">Created</th></tr></thead><tbody>{rows}</tbody></table>'
        )
        return _page("Deliveries", body, page="index")

    def delivery(self, request: Request, id: str) -> Response:
        record = self.app.store.get(id)
        if record is None:
            body = (
                f"<h1>No such delivery</h1><p>No delivery has id <code>{escape(id)}</code>. "
                'It may belong to another --state. <a href="/">Back to the deliveries</a>.</p>'
            )
            return _page("Not found", body, page="missing", status=404)
        return _page(f"Delivery {id[:8]}", self._delivery_body(record), page="delivery")

    def schemas(self, request: Request) -> Response:
        return _page("Schemas", render_schemas(), page="schemas")

    def _delivery_body(self, record: Record) -> str:
        attempts = "".join(_attempt_rows(attempt) for attempt in record.attempts)
        if not attempts:
            attempts = '<tr class="empty"><td colspan="5" class="muted">No attempt yet.</td></tr>'
        outcome = ": ".join(text for text in (record.reason, record.detail) if text) or _DASH
        facts = [
            ("Status", f'<span id="status">{_state_badge(record.status)}</span>'),
            ("Event", escape(record.event) + _changes(record.changes)),
            ("Subscription", escape(record.subscription)),
            ("URL", f'<span class="mono url">{escape(record.url)}</span>'),
            ("Retry policy", escape(record.policy or _DASH)),
            ("Outcome", f'<span id="outcome">{escape(outcome)}</span>'),
            ("Created", escape(_time(record.created_at))),
            ("Updated", f'<span id="updated">{escape(_time(record.updated_at))}</span>'),
        ]
        if record.due_at is not None:
            facts.append(("Next attempt", escape(_time(record.due_at))))
        if record.redelivery_of:
            facts.append(("Redelivery of", _delivery_link(record.redelivery_of, "redelivery-of")))
        redeliveries = self.app.store.redeliveries_of(record.id)
        if redeliveries:
            links = ", ".join(
                f"{_delivery_link(r.id)} {_state_badge(r.status)}" for r in redeliveries
            )
            facts.append(("Redeliveries", links))
        payload = json.dumps(record.payload, indent=2, ensure_ascii=False, sort_keys=False)
        return (
            f'<div id="delivery" data-testid="delivery" data-id="{escape(record.id)}" '
            f'data-status="{escape(record.status)}">'
            f'<h1>Delivery <span class="mono">{escape(record.id)}</span></h1>'
            f'<dl class="facts">{"".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)}</dl>'
            '<div class="bar"><button id="redeliver" type="button" data-testid="redeliver">'
            'Redeliver</button><span id="redeliver-result" role="status"></span></div>'
            f'<h2>Attempts <span class="muted" id="attempt-count">{len(record.attempts)}</span>'
            '</h2><table id="attempts" data-testid="attempts"><thead><tr><th class="fit num">#</th>'
            '<th class="fit">Started</th><th class="fit">Answer</th>'
            '<th class="fit num">Duration</th><th>Notes</th></tr></thead>'
            f"<tbody>{attempts}</tbody></table>"
            f'<h2>Payload</h2><pre class="json" id="payload">{escape(payload)}</pre></div>'
        )


# -- pieces ------------------------------------------------------------------------------------


def _page(title: str, body: str, *, page: str, status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(16)
    nav = (
        '<header><span class="brand">r360-webhooks mock server</span>'
        '<a href="/">Deliveries</a><a href="/schemas">Schemas</a>'
        '<a href="/openapi.json">OpenAPI</a><a href="/v1/deliveries">JSON</a>'
        '<span id="live" class="live"></span></header>'
    )
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no /favicon.ico request, no 404 in the console
        f"<title>{escape(title)} \u00b7 r360-webhooks</title>"
        f'<style nonce="{nonce}">{CSS}</style></head>'
        f'<body data-page="{escape(page)}">{nav}<main>{body}</main>'
        f'<script nonce="{nonce}">{SCRIPT}</script></body></html>'
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return Response(
        document, status=status, headers=headers, content_type="text/html; charset=utf-8"
    )


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def _duration(seconds: float) -> str:
    """As the script writes it (``fmtDuration``): 14 ms, 2.5 s, 3.0 min, 75.0 h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _token(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c == "-")


def _state_badge(status: str) -> str:
    return f'<span class="badge s-{_token(status)}" data-testid="status">{escape(status)}</span>'


def _code_badge(code: int) -> str:
    return f'<span class="badge c-{str(code)[:1]}xx">{code}</span>'


def _delivery_link(delivery_id: str, element_id: str | None = None) -> str:
    attribute = f' id="{element_id}"' if element_id else ""
    return (
        f'<a class="mono"{attribute} href="/deliveries/{escape(quote(delivery_id, safe=""))}">'
        f"{escape(delivery_id[:8])}</a>"
    )


def _changes(changes: tuple[str, ...]) -> str:
    if not changes:
        return ""
    return f' <span class="tag" title="{escape(", ".join(changes))}">evolved</span>'


def _counts(counts: dict[str, int], current: str | None) -> str:
    items: list[tuple[str | None, str, int]] = [(None, "all", sum(counts.values()))]
    items += [(state, state, counts.get(state, 0)) for state in STATES]
    html = []
    for state, label, n in items:
        href = "/" if state is None else f"/?status={quote(state)}"
        attrs = f' data-state="{escape(state)}"' if state else ""
        current_class = ' class="current"' if state == current else ""
        badge = _state_badge(label) if state else '<span class="badge s-pending">all</span>'
        html.append(
            f'<li><a href="{escape(href)}"{current_class} data-testid="count"{attrs}>'
            f'{badge}<span class="n">{n}</span></a></li>'
        )
    return "".join(html)


def _trigger_form() -> str:
    options = "".join(
        f'<option value="{escape(spec.name)}">{escape(spec.name)}</option>'
        for spec in schemas.known_events()
    )
    return (
        '<form id="trigger-form" class="trigger" data-testid="trigger-form">'
        "<strong>Trigger an event</strong>"
        f'<label>Event <select id="event" name="event">{options}'
        '<option value="any">any (random)</option></select></label>'
        '<label>Count <input id="count" name="count" type="number" min="1" max="100" '
        'value="1"></label>'
        '<label><input id="evolved" name="evolved" type="checkbox"> evolved body</label>'
        '<button id="trigger" type="submit" data-testid="trigger">Send</button>'
        '<span id="trigger-result" role="status"></span></form>'
    )


def _subscriptions(app: App) -> str:
    subscriptions = app.subscriptions()
    if not subscriptions:
        return (
            '<p class="err">No subscription: triggering queues nothing. Add one in the config '
            "file or with <code>POST /v1/subscriptions</code>.</p>"
        )
    items = "".join(
        f"<li><strong>{escape(s.id)}</strong> "
        f'<span class="mono url">{escape(str(shown["url"]))}</span> '
        f'<span class="muted">({escape(", ".join(s.events))}; retry {escape(s.retry.name)})'
        "</span></li>"
        for s in subscriptions
        for shown in [s.to_json()]
    )
    return f'<p class="muted">Subscriptions ({len(subscriptions)}):</p><ul>{items}</ul>'


def _delivery_row(record: Record) -> str:
    summary: dict[str, Any] = record.summary()
    status = _state_badge(record.status)
    if record.reason and record.status != "delivered":
        status += f' <span class="muted">{escape(record.reason)}</span>'
    event = f'<span class="event">{escape(record.event)}</span>'
    if record.redelivery_of:
        event += ' <span class="tag">redelivery</span>'
    event += _changes(record.changes)
    last = summary["last_status"]
    return (
        f'<tr data-testid="delivery-row" data-id="{escape(record.id)}" '
        f'data-status="{escape(record.status)}" data-event="{escape(record.event)}">'
        f'<td><a href="/deliveries/{escape(quote(record.id, safe=""))}" class="mono" '
        f'data-testid="delivery-link">{escape(record.id[:8])}</a></td>'
        f"<td>{status}</td><td>{event}</td>"
        f'<td><div>{escape(record.subscription)}</div><div class="url mono">'
        f"{escape(record.url)}</div></td>"
        f'<td class="num">{record.attempt_count}</td>'
        f'<td class="num">{_DASH if last is None else _code_badge(last)}</td>'
        f'<td class="mono" title="{_iso(record.created_at)}">{_time(record.created_at)}</td></tr>'
    )


def _headers(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items()) or "(none)"


def _attempt_rows(attempt: Attempt) -> str:
    if attempt.status is not None:
        outcome = _code_badge(attempt.status)
    else:
        outcome = f'<span class="badge c-err">{escape(attempt.error_kind or "error")}</span>'
    notes = []
    if attempt.error_message:
        notes.append(attempt.error_message)
    if attempt.tls_failure:
        notes.append(f"TLS check failed: {attempt.tls_failure}")
    if attempt.retry_after_s is not None:
        notes.append(f"Retry-After {_duration(attempt.retry_after_s)}")
    if attempt.delay_s is not None:
        notes.append(f"next attempt {_duration(attempt.delay_s)} later")
    marker = attempt.status if attempt.status is not None else attempt.error_kind
    body_title = "Response body (truncated)" if attempt.body_truncated else "Response body"
    blocks = [
        ("Request headers (redacted)", _headers(attempt.request_headers)),
        ("Response headers", _headers(attempt.response_headers)),
        (body_title, attempt.body_excerpt or "(empty)"),
    ]
    detail = "".join(f"<div><h4>{t}</h4><pre>{escape(text)}</pre></div>" for t, text in blocks)
    return (
        f'<tr data-testid="attempt-row" data-number="{attempt.number}" '
        f'data-status="{escape(str(marker))}"><td class="num">{attempt.number}</td>'
        f'<td class="mono">{_time(attempt.started_at)}</td><td>{outcome}</td>'
        f'<td class="num">{_duration(attempt.duration_s)}</td>'
        f"<td>{escape('; '.join(notes)) or _DASH}</td></tr>"
        f'<tr class="attempt-detail"><td colspan="5"><div class="grid3">{detail}</div></td></tr>'
    )
