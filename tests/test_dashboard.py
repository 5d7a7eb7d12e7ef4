"""The dashboard's pages in-process (``werkzeug.test.Client``): content, escaping, 404, schemas.

The browser test (``test_dashboard_browser.py``) proves the script works; these prove what the
server renders, including that attacker-controlled text (payloads, URLs, consumer answers)
reaches the page only escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.test import Client

from contracts import schemas
from mockserver.server import create_app
from mockserver.server._dashboard_assets import SCRIPT
from mockserver.server.config import ServerConfig
from mockserver.server.store import FINAL_STATES, STATES
from tests._server import Sink, running_app, subscription, wait_for_status

TOKEN = "dashboard-bearer-token-0123"
XSS = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


@pytest.fixture
def client() -> Iterator[Client]:
    hook = subscription(id="hook", auth=f"bearer:{TOKEN}")
    with running_app(hook, sink=Sink()) as app:
        yield Client(app)


def deliver(client: Client, **body: Any) -> list[dict[str, Any]]:
    response = client.post("/v1/events", json=body)
    assert response.status_code == 202, response.json
    accepted: list[dict[str, Any]] = response.json["deliveries"]
    return [wait_for_status(client, item["id"]) for item in accepted]


def page(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    # Only the page's own nonce-tagged blocks may run (a slipped-through injection would not).
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", response.headers["Content-Security-Policy"])
    assert nonce is not None
    text = response.get_data(as_text=True)
    assert text.count("<script") == 1 and f'<script nonce="{nonce[1]}">' in text
    return text


def rows(text: str, testid: str) -> list[dict[str, str]]:
    """The data-* attributes of every element with this data-testid, in document order."""
    found = []
    for match in re.finditer(rf'<\w+(?= )([^>]*\sdata-testid="{testid}"[^>]*)>', text):
        found.append(dict(re.findall(r'data-([\w-]+)="([^"]*)"', match[1])))
    return found


def test_every_page_renders_as_html(client: Client) -> None:
    [delivery] = deliver(client, event="transaction.create")

    index = page(client, "/")
    detail = page(client, f"/deliveries/{delivery['id']}")
    reference = page(client, "/schemas")

    assert 'href="/openapi.json"' in index and 'id="trigger-form"' in index
    assert '<option value="transaction.create">' in index
    assert 'id="redeliver"' in detail and 'id="payload"' in detail
    assert "Schema reference" in reference


def test_the_list_shows_deliveries_newest_first_with_counts(client: Client) -> None:
    first, second = deliver(client, event="task.completed", count=2)

    text = page(client, "/")

    listed = rows(text, "delivery-row")
    api = client.get("/v1/deliveries").json["deliveries"]
    assert [row["id"] for row in listed] == [d["id"] for d in api]
    assert {row["id"] for row in listed} == {first["id"], second["id"]}
    assert {row["status"] for row in listed} == {"delivered"}
    counts = dict(re.findall(r'data-state="([\w-]+)">.*?<span class="n">(\d+)</span>', text))
    assert counts == {state: "2" if state == "delivered" else "0" for state in STATES}
    assert "http://127.0.0.1:9/webhooks" in text and "hook" in text
    assert '<span class="badge c-2xx">202</span>' in text


def test_the_list_filters_by_state_and_ignores_an_unknown_one(client: Client) -> None:
    deliver(client, event="task.completed")

    assert rows(page(client, "/?status=dead-lettered"), "delivery-row") == []
    assert len(rows(page(client, "/?status=delivered"), "delivery-row")) == 1
    assert len(rows(page(client, "/?status=%3Cb%3E"), "delivery-row")) == 1


def test_the_detail_page_shows_attempts_redacted_and_the_payload(client: Client) -> None:
    [delivery] = deliver(client, event="transaction.create", seed=3)

    text = page(client, f"/deliveries/{delivery['id']}")

    assert rows(text, "attempt-row") == [{"testid": "attempt-row", "number": "1", "status": "202"}]
    assert 'data-status="delivered"' in text
    assert "authorization: [REDACTED]" in text and TOKEN not in text
    pretty = json.dumps(delivery["payload"], indent=2, ensure_ascii=False)
    assert pretty.replace('"', "&quot;") in text


def test_a_redelivery_links_both_ways(client: Client) -> None:
    [original] = deliver(client, event="task.completed")
    redo = client.post(f"/v1/deliveries/{original['id']}/redeliver", json={}).json["deliveries"][0]
    wait_for_status(client, redo["id"])

    assert f'href="/deliveries/{redo["id"]}"' in page(client, f"/deliveries/{original['id']}")
    again = page(client, f"/deliveries/{redo['id']}")
    assert f'id="redelivery-of" href="/deliveries/{original["id"]}"' in again
    assert '<span class="tag">redelivery</span>' in page(client, "/")


def test_attacker_controlled_text_is_escaped_everywhere() -> None:
    payload = schemas.example("transaction.create")
    payload["transaction"]["notations"] = {"Simple": {XSS: f'<img src=x onerror="{XSS}">'}}

    def consumer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, headers={"X-Echo": XSS}, text=f"rejected {XSS}")

    evil = subscription(id="evil", url=f"http://127.0.0.1:9/hook?q={XSS}", retry="none")
    app = create_app(ServerConfig(subscriptions=(evil,), transport=httpx.MockTransport(consumer)))
    try:
        client = Client(app)
        [delivery] = deliver(client, payload=payload)
        assert delivery["status"] == "dead-lettered"
        for path in ("/", f"/deliveries/{delivery['id']}"):
            text = page(client, path)
            assert XSS not in text and "<img" not in text
            assert ESCAPED in text
        detail = page(client, f"/deliveries/{delivery['id']}")
        assert f"x-echo: {ESCAPED}" in detail.lower() and f"rejected {ESCAPED}" in detail
    finally:
        app.close(timeout=5)


def test_an_unknown_delivery_is_an_html_404(client: Client) -> None:
    text = page(client, "/deliveries/0123456789abcdef0123456789abcdef", 404)
    assert "No such delivery" in text and "0123456789abcdef0123456789abcdef" in text

    hostile = page(client, "/deliveries/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", 404)
    assert "<img" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile


def test_the_schema_page_lists_every_schema_file(client: Client) -> None:
    text = page(client, "/schemas")

    sections = [row["name"] for row in rows(text, "schema")]
    assert sorted(sections) == sorted(schemas.schema_names())
    for name in schemas.schema_names():
        assert f"<code>{name}.json</code>" in text
    transaction = text.split('data-testid="fields-transaction"', 1)[1].split("</table>", 1)[0]
    fields = re.findall(r'data-field="([^"]+)"', transaction)
    assert fields == list(schemas.load_schema("transaction")["properties"])
    check_in = transaction.split('data-field="check_in"', 1)[1].split("</tr>", 1)[0]
    assert "boolean or null" in check_in and "yes" in check_in and "documented" in check_in
    assert '<a href="#schema-asset">asset</a>' in transaction


def test_the_script_writes_data_only_as_text() -> None:
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in SCRIPT
    final = json.loads(re.search(r"const FINAL = (\[.*?\]);", SCRIPT)[1])  # type: ignore[index]
    assert set(final) == FINAL_STATES
