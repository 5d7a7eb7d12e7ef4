"""The schedule of ``serve``: which delivery is due when, claimed and settled in transactions.

A delivery waiting for an attempt is a row with a due time (``deliveries.due_at``, indexed per
subscription); nothing else remembers it, so it holds no thread and survives any kill. The
scheduler (:mod:`~mockserver.server.worker`) runs each step in one transaction:

* :meth:`Schedule.claim` takes a subscription's earliest due delivery and marks it *on the wire*
  (``due_at`` NULL, status ``delivering``);
* :meth:`Schedule.settle` records the attempt and, in the same transaction, either gives the
  delivery its next due time or makes it final (``delivered``, ``dead-lettered``);
* :meth:`Schedule.recover`, at start, makes every delivery a killed run left on the wire due now:
  its attempt may have reached the consumer, and it is made again (at-least-once; consumers
  dedupe, as Record360's and every webhook sender's do).

A final state is final: no update here touches a row that is no longer ``pending`` or
``delivering``, so a late writer (an attempt that outlived a shutdown) cannot undo an outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass

from mockserver.delivery.records import Attempt
from mockserver.server.database import Database
from mockserver.server.store import ATTEMPT_COLUMNS, attempt_from_row, attempt_values

__all__ = ["Claim", "Schedule"]

_UNFINISHED = "status IN ('pending', 'delivering')"
_INSERT_ATTEMPT = (
    f"INSERT INTO attempts (delivery, {ATTEMPT_COLUMNS}) "
    f"VALUES ({', '.join('?' * (1 + len(ATTEMPT_COLUMNS.split(','))))})"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken for one attempt: what the worker needs to make it."""

    seq: int
    id: str
    subscription: str
    event: str
    #: The body, byte for byte as every attempt sends it.
    body: bytes
    #: Attempts already recorded; this one is number ``attempt_count + 1``.
    attempt_count: int
    #: It had no attempt yet (it counted against the queue's capacity).
    was_pending: bool


class Schedule:
    """The scheduler's reads and writes of a :class:`Database`; see the module docstring."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def recover(self) -> int:
        """Make every delivery left on the wire by a killed run due now; returns how many."""
        with self.database.write() as db:
            cursor = db.execute(
                f"UPDATE deliveries SET due_at = ? WHERE due_at IS NULL AND {_UNFINISHED}",
                (time.time(),),
            )
        return cursor.rowcount

    def interrupt_orphans(self, known: Collection[str]) -> int:
        """Interrupt the waiting deliveries of subscriptions this run does not have."""
        with self.database.write() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status = 'interrupted', reason = 'interrupted', "
                "due_at = NULL, updated_at = ?, detail = 'subscription ' || quote(subscription) "
                "|| ' is not in this run''s config nor made through the API; create it again "
                "and redeliver' WHERE due_at IS NOT NULL "
                "AND subscription NOT IN (SELECT value FROM json_each(?))",
                (time.time(), json.dumps(list(known))),
            )
        return cursor.rowcount

    def head(self, subscription: str) -> float | None:
        """When ``subscription``'s earliest waiting delivery is due (``None``: none waits)."""
        with self.database.read() as db:
            row = db.execute(
                "SELECT MIN(due_at) FROM deliveries WHERE subscription = ? AND due_at IS NOT NULL",
                (subscription,),
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def pending(self) -> int:
        """Deliveries waiting for their first attempt."""
        with self.database.read() as db:
            row = db.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()
        return int(row[0])

    def retrying(self) -> int:
        """Deliveries waiting for a retry (attempted, not final, not on the wire)."""
        with self.database.read() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status = 'delivering' AND due_at IS NOT NULL"
            ).fetchone()
        return int(row[0])

    def claim(self, subscription: str, now: float) -> tuple[Claim | None, float | None]:
        """Take ``subscription``'s earliest delivery if it is due by ``now``; returns it (or
        ``None``) and the due time of the earliest one still waiting after it."""
        with self.database.write() as db:
            rows = db.execute(
                "SELECT seq, id, event, payload, status, attempt_count, due_at FROM deliveries "
                "WHERE subscription = ? AND due_at IS NOT NULL ORDER BY due_at, seq LIMIT 2",
                (subscription,),
            ).fetchall()
            if not rows or rows[0][6] > now:
                return None, (float(rows[0][6]) if rows else None)
            seq, id_, event, payload, status, count, _ = rows[0]
            db.execute(
                "UPDATE deliveries SET due_at = NULL, status = 'delivering', updated_at = ? "
                "WHERE seq = ?",
                (now, seq),
            )
        following = float(rows[1][6]) if len(rows) > 1 else None
        claim = Claim(seq, id_, subscription, event, payload.encode(), count, status == "pending")
        return claim, following

    def history(self, claim: Claim) -> list[Attempt]:
        """The attempts already recorded for ``claim``, in order."""
        with self.database.read() as db:
            rows = db.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery = ? ORDER BY number",
                (claim.seq,),
            ).fetchall()
        return [attempt_from_row(row) for row in rows]

    def settle(
        self,
        claim: Claim,
        attempt: Attempt | None,
        *,
        status: str,
        due_at: float | None = None,
        policy: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record ``attempt`` (if any) and the delivery's new state in one transaction;
        ``False`` when the delivery was already final (nothing is written)."""
        with self.database.write() as db:
            count = claim.attempt_count + (attempt is not None)
            last = attempt.status if attempt is not None else None
            updated = db.execute(
                "UPDATE deliveries SET status = ?, due_at = ?, policy = COALESCE(?, policy), "
                "reason = ?, detail = ?, updated_at = ?, attempt_count = ?, "
                f"last_status = CASE WHEN ? THEN ? ELSE last_status END WHERE seq = ? "
                f"AND {_UNFINISHED}",
                (status, due_at, policy, reason, detail, time.time(), count,
                 attempt is not None, last, claim.seq),
            ).rowcount  # fmt: skip
            if updated and attempt is not None:
                db.execute(_INSERT_ATTEMPT, (claim.seq, *attempt_values(attempt)))
        return bool(updated)

    def cancel(self, subscription: str, detail: str) -> tuple[int, int]:
        """Dead-letter (``cancelled``) every waiting delivery of a deleted subscription; returns
        how many, and how many of those had no attempt yet."""
        with self.database.write() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE subscription = ? AND status = 'pending' "
                "AND due_at IS NOT NULL",
                (subscription,),
            ).fetchone()
            cursor = db.execute(
                "UPDATE deliveries SET status = 'dead-lettered', reason = 'cancelled', "
                "detail = ?, due_at = NULL, updated_at = ? "
                "WHERE subscription = ? AND due_at IS NOT NULL",
                (detail, time.time(), subscription),
            )
        return cursor.rowcount, int(row[0])

    def interrupt_unfinished(self, stop_timeout: float) -> int:
        """Record every unfinished delivery ``interrupted`` (an in-memory state at shutdown:
        nothing will continue it); returns how many."""
        wire = (
            f"an attempt was still on the wire {stop_timeout:g} s after the server stopped "
            "(without --state, nothing outlives the server)"
        )
        with self.database.write() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status = 'interrupted', reason = 'interrupted', "
                "updated_at = ?, detail = CASE "
                "WHEN due_at IS NULL THEN ? "
                "WHEN attempt_count = 0 THEN 'the server stopped before this delivery started' "
                "ELSE 'the server stopped after ' || attempt_count || ' failed attempt' || "
                "CASE WHEN attempt_count = 1 THEN '' ELSE 's' END || ', while waiting to retry '"
                "|| '(without --state, nothing outlives the server)' END, "
                f"due_at = NULL WHERE {_UNFINISHED}",
                (time.time(), wire),
            )
        return cursor.rowcount
