"""A small Flask consumer of Record360 webhooks that does the right things (README example)."""

from __future__ import annotations

import hmac
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
TOKEN = os.environ.get("WEBHOOK_TOKEN", "change-me-please")
processed: dict[tuple[str, str], int] = {}


@app.post("/webhooks")
def receive():  # type: ignore[no-untyped-def]
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {TOKEN}".encode()):
        return jsonify(error="unauthorized"), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="expected a JSON object"), 400
    event = body.get("event")
    resource = body.get("transaction") or body.get("task")
    if event not in ("create", "completed") or not isinstance(resource, dict):
        return jsonify(status="ignored"), 202  # Record360 may add event types: acknowledge them
    key = (str(event), str(resource.get("id")))  # IDs are opaque strings: never int() them
    if key in processed:
        return jsonify(status="duplicate"), 200
    processed[key] = 1
    return jsonify(status="accepted"), 202


@app.get("/ledger")
def ledger():  # type: ignore[no-untyped-def]
    return jsonify(processed=[{"event": e, "id": i, "count": n} for (e, i), n in processed.items()])
