"""Import the JSON Lines state of earlier versions (``STATE/deliveries.jsonl``) into SQLite, once.

Earlier ``serve`` versions appended the whole record at every change of state, one JSON object
per line, the last line of an id winning. The first start on such a folder reads it line by line
(constant memory: each line is an upsert, so the last one wins here too), in one transaction, and
renames the file ``deliveries.jsonl.imported`` (kept, for the user to delete). A delivery the old
file left ``pending`` or ``delivering`` (the old server was killed) is due now: at-least-once, as
after any crash. A line that cannot be read (torn by a kill, or junk) is skipped and counted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.delivery.records import Attempt, encode_payload
from mockserver.server.store import ATTEMPT_COLUMNS, STATES, attempt_values

if TYPE_CHECKING:
    from mockserver.server.database import Database

__all__ = ["LEGACY_NAME", "import_json_lines"]

logger = logging.getLogger("mockserver.server.legacy")

LEGACY_NAME = "deliveries.jsonl"
_DONE_KEY = "imported_json_lines"


def import_json_lines(database: Database, folder: Path) -> int:
    """Import ``folder/deliveries.jsonl`` if it is there and not imported yet; returns how many
    lines were read."""
    source = folder / LEGACY_NAME
    if not source.exists():
        return 0
    with database.read() as db:
        done = db.execute("SELECT value FROM meta WHERE key = ?", (_DONE_KEY,)).fetchone()
    lines = skipped = 0
    if done is None:
        now = time.time()
        with (
            database.write(durable=True) as db,
            open(source, encoding="utf-8", errors="replace") as stream,
        ):
            for line in stream:
                if not line.strip():
                    continue
                try:
                    _upsert(db, json.loads(line), now)
                except (ValueError, KeyError, TypeError, RecursionError, sqlite3.IntegrityError):
                    skipped += 1
                    continue
                lines += 1
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_DONE_KEY, str(source)))
        logger.warning(
            "%s: imported %d line(s) of the earlier JSON Lines state%s", source, lines,
            f", skipped {skipped} unreadable line(s)" if skipped else "",
        )  # fmt: skip
    source.rename(source.with_name(LEGACY_NAME + ".imported"))
    return lines


def _upsert(db: sqlite3.Connection, data: dict[str, Any], now: float) -> None:
    status = data["status"]
    if status not in STATES:
        raise ValueError(f"unknown state {status!r}")
    attempts = [Attempt.from_json(a) for a in data.get("attempts") or ()]
    due = now if status in ("pending", "delivering") else None
    seq = int(data.get("seq") or 0) or None
    last = attempts[-1].status if attempts else None
    values = (
        seq, str(data["id"]), str(data["subscription"]), str(data["event"]), status, due,
        str(data["url"]), encode_payload(data.get("payload")).decode(),
        json.dumps(list(data.get("changes") or ())), data.get("policy"), data.get("reason"),
        data.get("detail"), data.get("redelivery_of"), float(data["created_at"]),
        float(data["updated_at"]), len(attempts), last,
    )  # fmt: skip
    row = db.execute(
        "INSERT INTO deliveries (seq, id, subscription, event, status, due_at, url, payload, "
        "changes, policy, reason, detail, redelivery_of, created_at, updated_at, attempt_count, "
        "last_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET status = excluded.status, due_at = excluded.due_at, "
        "policy = excluded.policy, reason = excluded.reason, detail = excluded.detail, "
        "updated_at = excluded.updated_at, attempt_count = excluded.attempt_count, "
        "last_status = excluded.last_status RETURNING seq",
        values,
    ).fetchone()
    db.execute("DELETE FROM attempts WHERE delivery = ?", (row[0],))
    marks = ", ".join("?" * (1 + len(ATTEMPT_COLUMNS.split(","))))
    db.executemany(
        f"INSERT INTO attempts (delivery, {ATTEMPT_COLUMNS}) VALUES ({marks})",
        [(row[0], *attempt_values(attempt)) for attempt in attempts],
    )
