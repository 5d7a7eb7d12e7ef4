"""Import the JSON Lines state of earlier versions (``STATE/deliveries.jsonl``) into SQLite, once.

Earlier ``serve`` versions appended the whole record at every change of state, one JSON object
per line, the last line of an id winning. The first start on such a folder reads it line by line
(constant memory: each line is an upsert, so the last one wins here too), in one transaction, and
renames the file ``deliveries.jsonl.imported`` (kept, for the user to delete). A delivery the old
file left ``pending`` or ``delivering`` (the old server was killed) is due now: at-least-once, as
after any crash. A line that cannot be read (torn by a kill, junk, a field of the wrong type or
a number SQLite cannot hold) is skipped, alone (a savepoint per line), and the count is logged
once: a bad line must not make every start fail, and the file is renamed whatever it held. Only a
failure of the database itself (a full disk) stops the import, in one line naming the file.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.delivery.records import Attempt, encode_payload
from mockserver.errors import UsageError
from mockserver.server.store import ATTEMPT_COLUMNS, STATES, attempt_values

if TYPE_CHECKING:
    from mockserver.server.database import Database

__all__ = ["LEGACY_NAME", "import_json_lines"]

logger = logging.getLogger("mockserver.server.legacy")

LEGACY_NAME = "deliveries.jsonl"
_DONE_KEY = "imported_json_lines"
#: SQLite's INTEGER is 64-bit signed.
_MAX_INTEGER = 2**63 - 1
#: What a line may be wrong in; each skips that line only (OperationalError is the database's).
_LINE_ERRORS = (
    ValueError, KeyError, TypeError, RecursionError, OverflowError, sqlite3.IntegrityError,
    sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.DataError,
)  # fmt: skip


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
        try:
            with (
                database.write(durable=True) as db,
                open(source, encoding="utf-8", errors="replace") as stream,
            ):
                for line in stream:
                    if not line.strip():
                        continue
                    db.execute("SAVEPOINT line")
                    try:
                        _upsert(db, json.loads(line), now)
                    except _LINE_ERRORS:
                        db.execute("ROLLBACK TO line")
                        skipped += 1
                    else:
                        lines += 1
                    db.execute("RELEASE line")
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_DONE_KEY, str(source)))
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"--state {folder}: cannot import {source} ({exc}); fix the cause, or move the "
                "file away to start without it"
            ) from None
        logger.warning(
            "%s: imported %d line(s) of the earlier JSON Lines state%s", source, lines,
            f", skipped {skipped} unreadable line(s)" if skipped else "",
        )  # fmt: skip
    imported = source.with_name(LEGACY_NAME + ".imported")
    source.rename(imported)
    imported.chmod(0o600)  # it holds the same bodies as the database
    return lines


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _time(data: dict[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number of seconds")
    return float(value)


def _seq(value: Any) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_INTEGER:
        raise ValueError("seq must be a positive integer")
    return value


def _bindable(values: Sequence[Any]) -> Sequence[Any]:
    """``values`` when SQLite can store each as it is (a list, or an integer past 64 bits,
    would fail the statement, after the delivery's row was written)."""
    for value in values:
        if isinstance(value, int) and not -_MAX_INTEGER - 1 <= value <= _MAX_INTEGER:
            raise OverflowError("integer too large for SQLite")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        if value is not None and not isinstance(value, int | float | str):
            raise TypeError(f"{type(value).__name__} is not a column value")
    return values


def _upsert(db: sqlite3.Connection, data: Any, now: float) -> None:
    if not isinstance(data, dict):
        raise ValueError("a line must be a JSON object")
    status = data["status"]
    if status not in STATES:
        raise ValueError(f"unknown state {status!r}")
    raw_attempts = data.get("attempts") or []
    changes = data.get("changes") or []
    if not isinstance(raw_attempts, list) or not all(isinstance(a, dict) for a in raw_attempts):
        raise ValueError("attempts must be a list of objects")
    if not isinstance(changes, list) or not all(isinstance(c, str) for c in changes):
        raise ValueError("changes must be a list of names")
    attempts = [Attempt.from_json(a) for a in raw_attempts]
    due = now if status in ("pending", "delivering") else None
    last = attempts[-1].status if attempts else None
    values = _bindable((
        _seq(data.get("seq")), _text(data, "id", required=True),
        _text(data, "subscription", required=True), _text(data, "event", required=True), status,
        due, _text(data, "url", required=True), encode_payload(data.get("payload")).decode(),
        json.dumps(changes), _text(data, "policy"), _text(data, "reason"), _text(data, "detail"),
        _text(data, "redelivery_of"), _time(data, "created_at"), _time(data, "updated_at"),
        len(attempts), last,
    ))  # fmt: skip
    rows = [_bindable(attempt_values(attempt)) for attempt in attempts]
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
        [(row[0], *values) for values in rows],
    )
