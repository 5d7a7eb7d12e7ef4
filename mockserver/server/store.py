"""The deliveries of ``serve`` as the control API and the dashboard read them, from SQLite.

States follow one path, and none is skipped or lost::

    pending --> delivering --> delivered | dead-lettered
       \\              \\
        +--------------+--> interrupted   (it cannot continue: see docs/serve.md)

``pending``: accepted, no attempt started yet. ``delivering``: attempts have started; between two
of them the delivery is a row with a due time (``next_attempt_at``), holding no thread. Every
change is one transaction of :class:`~mockserver.server.database.Database`; the scheduler's own
writes (claim an attempt, record it) live in :mod:`~mockserver.server.schedule`.

Listing, filtering, paging and counting are SQL over indexes, so a server with a million past
deliveries answers ``GET /v1/deliveries`` as fast as one with ten.

What comes back from the file is read defensively: the file outlives versions and may be edited
by hand. A payload nested deeper than :data:`MAX_SHOWN_DEPTH` (no JSON encoder of the API or the
dashboard would get through it) or not JSON at all is shown as :data:`UNREADABLE_PAYLOAD` and
cannot be redelivered; a saved subscription whose settings cannot be read is not restored.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from mockserver.delivery.records import Attempt, encode_payload
from mockserver.server.database import Database

__all__ = [
    "FINAL_STATES",
    "MAX_SHOWN_DEPTH",
    "STATES",
    "UNREADABLE_PAYLOAD",
    "DeliveryStore",
    "Page",
    "Record",
    "State",
    "attempt_from_row",
    "attempt_values",
]

State = Literal["pending", "delivering", "delivered", "dead-lettered", "interrupted"]
STATES: tuple[State, ...] = get_args(State)
FINAL_STATES: frozenset[State] = frozenset({"delivered", "dead-lettered", "interrupted"})

#: The deepest payload the API and the dashboard show (their JSON encoders recurse).
MAX_SHOWN_DEPTH = 500
#: What a delivery shows for a payload it cannot read back (see the module docstring).
UNREADABLE_PAYLOAD = (
    f"[not shown: the stored body is nested deeper than {MAX_SHOWN_DEPTH} levels or is not "
    "JSON; it is in the state database]"
)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")

#: The columns of a listing (no payload, no attempts), in :meth:`Record.from_row` order.
SUMMARY_COLUMNS = (
    "seq, id, subscription, event, status, due_at, url, changes, policy, reason, detail, "
    "redelivery_of, created_at, updated_at, attempt_count, last_status"
)
ATTEMPT_COLUMNS = (
    "number, started_at, duration_s, status, error_kind, error_message, tls_failure, "
    "retry_after_s, delay_s, request_headers, response_headers, body_excerpt, body_truncated"
)


@dataclass(slots=True)
class Record:
    """One delivery of one event to one subscription, as the server tracks it."""

    id: str
    subscription: str
    event: str
    #: The body (parsed); ``None`` in a listing, which does not read it.
    payload: Any
    #: The target URL, already redacted.
    url: str
    status: State = "pending"
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    redelivery_of: str | None = None
    #: Names of the evolution changes applied to a generated body (empty for a valid one).
    changes: tuple[str, ...] = ()
    policy: str | None = None
    reason: str | None = None
    #: One line on why it was dead-lettered or interrupted (redacted).
    detail: str | None = None
    #: Every attempt, in order (read by :meth:`DeliveryStore.get`; empty in a listing).
    attempts: list[Attempt] = field(default_factory=list)
    #: Creation order, kept across restarts: listing and cursors use it.
    seq: int = 0
    attempt_count: int = 0
    last_status: int | None = None
    #: When the next attempt is due (Unix time); ``None`` when final or on the wire.
    due_at: float | None = None
    #: ``False`` when :attr:`payload` is :data:`UNREADABLE_PAYLOAD` (see the module docstring).
    payload_readable: bool = True

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    def summary(self) -> dict[str, Any]:
        """The list view: everything but the payload and the attempts."""
        return {
            "id": self.id,
            "subscription": self.subscription,
            "event": self.event,
            "status": self.status,
            "url": self.url,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "redelivery_of": self.redelivery_of,
            "changes": list(self.changes),
            "attempt_count": self.attempt_count,
            "last_status": self.last_status,
            "next_attempt_at": self.due_at,
            "reason": self.reason,
            "detail": self.detail,
        }

    def to_json(self) -> dict[str, Any]:
        """The full view: the summary, the retry policy, the payload and every attempt."""
        return {
            **self.summary(),
            "policy": self.policy,
            "payload": self.payload,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }

    @classmethod
    def from_row(cls, row: Sequence[Any], payload: Any = None) -> Record:
        """A record from the :data:`SUMMARY_COLUMNS` of a row."""
        (seq, id_, subscription, event, status, due_at, url, changes, policy, reason, detail,
         redelivery_of, created_at, updated_at, attempt_count, last_status) = row  # fmt: skip
        return cls(
            id=id_, subscription=subscription, event=event, payload=payload, url=url,
            status=cast("State", status), created_at=created_at, updated_at=updated_at,
            redelivery_of=redelivery_of, changes=tuple(json.loads(changes)), policy=policy,
            reason=reason, detail=detail, seq=seq, attempt_count=attempt_count,
            last_status=last_status, due_at=due_at,
        )  # fmt: skip


def _nesting(text: str) -> int:
    """How deep the arrays and objects of the JSON ``text`` nest, without recursing."""
    if text.count("[") + text.count("{") <= MAX_SHOWN_DEPTH:
        return 0  # cannot be too deep: skip the scan
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def read_payload(text: str) -> tuple[Any, bool]:
    """A stored payload and whether it could be read (else :data:`UNREADABLE_PAYLOAD`)."""
    if _nesting(text) > MAX_SHOWN_DEPTH:
        return UNREADABLE_PAYLOAD, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return UNREADABLE_PAYLOAD, False


def attempt_values(attempt: Attempt) -> tuple[Any, ...]:
    """An attempt as the values of :data:`ATTEMPT_COLUMNS` (already redacted by the sender)."""
    return (
        attempt.number, attempt.started_at, attempt.duration_s, attempt.status,
        attempt.error_kind, attempt.error_message, attempt.tls_failure, attempt.retry_after_s,
        attempt.delay_s, json.dumps(attempt.request_headers, ensure_ascii=False),
        json.dumps(attempt.response_headers, ensure_ascii=False), attempt.body_excerpt,
        int(attempt.body_truncated),
    )  # fmt: skip


def attempt_from_row(row: Sequence[Any]) -> Attempt:
    keys = [name.strip() for name in ATTEMPT_COLUMNS.split(",")]
    data = dict(zip(keys, row, strict=True))
    data["request_headers"] = json.loads(data["request_headers"])
    data["response_headers"] = json.loads(data["response_headers"])
    return Attempt.from_json(data)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, newest first; ``next_cursor`` is ``None`` on the last page."""

    records: list[Record]
    total: int
    next_cursor: str | None


class DeliveryStore:
    """The deliveries and the API's subscriptions, in a :class:`Database`.

    :param state_dir: the ``--state`` folder, or ``None`` for an in-memory database.
    """

    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        self.database = Database(state_dir)

    @property
    def path(self) -> Path | None:
        """The database file, ``None`` in memory."""
        return self.database.path

    def close(self) -> None:
        self.database.close()

    # -- writing -------------------------------------------------------------------------------

    def add(self, records: Sequence[Record]) -> None:
        """Store new deliveries (each with its ``due_at``) in one durable transaction; each
        record gets its ``seq``. Committed before this returns: the API's 202 comes after."""
        bodies: dict[int, str] = {}  # count=100 sends one payload 100 times: encode it once
        encoded = []
        for record in records:
            body = bodies.get(id(record.payload))
            if body is None:
                body = bodies[id(record.payload)] = encode_payload(record.payload).decode()
            encoded.append(body)
        with self.database.write(durable=True) as db:
            # created_at never decreases as seq grows (a time range is a range of seq): a
            # request that read the clock first but commits second takes the later time.
            newest = db.execute("SELECT created_at FROM deliveries ORDER BY seq DESC LIMIT 1")
            floor: float = (newest.fetchone() or (-math.inf,))[0]
            rows = []
            for record, body in zip(records, encoded, strict=True):
                if record.created_at < floor:
                    record.created_at = floor
                    record.updated_at = max(record.updated_at, floor)
                floor = record.created_at
                rows.append((
                    record.id, record.subscription, record.event, record.status, record.due_at,
                    record.url, body, json.dumps(list(record.changes)), record.policy,
                    record.redelivery_of, record.created_at, record.updated_at,
                ))  # fmt: skip
            db.executemany(
                "INSERT INTO deliveries (id, subscription, event, status, due_at, url, payload, "
                "changes, policy, redelivery_of, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # One connection, one transaction: the rows took the next seqs, in order.
            last = int(db.execute("SELECT MAX(seq) FROM deliveries").fetchone()[0] or 0)
        for offset, record in enumerate(records):
            record.seq = last - len(records) + 1 + offset

    def save_subscription(self, subscription_id: str, settings: dict[str, Any]) -> None:
        """Keep an API subscription's settings (literal secrets included) for the next start."""
        with self.database.write(durable=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO subscriptions (id, settings, created_at) VALUES (?, ?, ?)",
                (subscription_id, json.dumps(settings, ensure_ascii=False), time.time()),
            )

    def forget_subscription(self, subscription_id: str) -> None:
        with self.database.write(durable=True) as db:
            db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))

    # -- reading -------------------------------------------------------------------------------

    def saved_subscriptions(self) -> list[tuple[str, dict[str, Any] | str]]:
        """``(id, settings)`` of every subscription made through the API, oldest first; the
        settings are a problem (``str``) when they cannot be read back."""
        with self.database.read() as db:
            rows = db.execute(
                "SELECT id, settings FROM subscriptions ORDER BY created_at, id"
            ).fetchall()
        saved: list[tuple[str, dict[str, Any] | str]] = []
        for id_, text in rows:
            settings, readable = read_payload(text) if isinstance(text, str) else (None, False)
            if not readable or not isinstance(settings, dict):
                settings = f"{self.path}: its saved settings are not a readable JSON object"
            saved.append((str(id_), settings))
        return saved

    def get(self, delivery_id: str) -> Record | None:
        """The delivery with its payload and every attempt, or ``None``."""
        with self.database.read() as db:
            row = db.execute(
                f"SELECT {SUMMARY_COLUMNS}, payload FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
            if row is None:
                return None
            attempts = db.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery = ? ORDER BY number",
                (row[0],),
            ).fetchall()
        payload, record_readable = read_payload(row[-1])
        record = Record.from_row(row[:-1], payload)
        record.payload_readable = record_readable
        record.attempts = [attempt_from_row(attempt) for attempt in attempts]
        return record

    def query(
        self,
        *,
        status: str | None = None,
        event: str | None = None,
        subscription: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
        cursor: int | None = None,
        offset: int = 0,
    ) -> Page:
        """Matching deliveries, newest first (``since <= created_at < until``); ``cursor`` is a
        previous page's ``next_cursor``. Records carry no payload and no attempts."""
        clauses, params = _filters(status, event, subscription, since, until)
        # Both equalities in one index range (the planner, with no statistics, may pick the
        # subscription's whole range and filter it by state).
        both = status is not None and subscription is not None
        source = "deliveries INDEXED BY deliveries_by_subscription_status" if both else "deliveries"
        where = " AND ".join(clauses) or "1"
        page_where, page_params = where, list(params)
        if cursor is not None:
            page_where += " AND seq < ?"
            page_params.append(cursor)
        if not clauses or clauses == ["status = ?"]:  # kept by triggers: no count over the rows
            count = "SELECT SUM(n) FROM status_counts WHERE " + ("status = ?" if clauses else "1")
        else:
            count = f"SELECT COUNT(*) FROM {source} WHERE {where}"
        with self.database.read() as db:
            total = db.execute(count, params).fetchone()
            rows = db.execute(
                f"SELECT {SUMMARY_COLUMNS} FROM {source} WHERE {page_where} "
                "ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*page_params, limit + 1, offset],
            ).fetchall()
        records = [Record.from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(records, int(total[0]), str(records[-1].seq) if more else None)

    def redeliveries_of(self, delivery_id: str) -> list[Record]:
        """The redeliveries of ``delivery_id``, oldest first."""
        with self.database.read() as db:
            rows = db.execute(
                f"SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE redelivery_of = ? ORDER BY seq",
                (delivery_id,),
            ).fetchall()
        return [Record.from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state (every state listed)."""
        with self.database.read() as db:
            found = dict(db.execute("SELECT status, n FROM status_counts").fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}

    def unfinished(self) -> int:
        """Deliveries not final yet: they continue at the next start (with ``--state``)."""
        with self.database.read() as db:
            row = db.execute(
                "SELECT SUM(n) FROM status_counts WHERE status IN ('pending', 'delivering')"
            ).fetchone()
        return int(row[0])

    def __len__(self) -> int:
        with self.database.read() as db:
            return int(db.execute("SELECT SUM(n) FROM status_counts").fetchone()[0])


def _filters(
    status: str | None,
    event: str | None,
    subscription: str | None,
    since: float | None,
    until: float | None,
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("event", event), ("subscription", subscription)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    # A time range is a range of seq (created_at never decreases as seq grows), found with one
    # lookup in deliveries_by_created for each end: the listing then walks an index in seq
    # order instead of sorting every row of the range. "+created_at": checked, not indexed.
    if since is not None:
        clauses.append(
            "seq >= COALESCE((SELECT seq FROM deliveries WHERE created_at >= ? "
            f"ORDER BY created_at, seq LIMIT 1), {_NO_SEQ}) AND +created_at >= ?"
        )
        params += [since, since]
    if until is not None:
        clauses.append(
            "seq <= COALESCE((SELECT seq FROM deliveries WHERE created_at < ? "
            "ORDER BY created_at DESC, seq DESC LIMIT 1), -1) AND +created_at < ?"
        )
        params += [until, until]
    return clauses, params


#: Beyond every seq: no delivery was created at or after ``since``.
_NO_SEQ = 2**63 - 1
