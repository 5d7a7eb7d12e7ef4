"""The schedule of ``serve``: which delivery is due when, taken and settled by the scheduler.

A delivery waiting for an attempt is a row with a due time (``deliveries.due_at``, indexed per
subscription); nothing else remembers it, so it holds no thread and survives any kill. The
scheduler (:mod:`~mockserver.server.worker`) reads a subscription's earliest due delivery
(:meth:`Schedule.claim`, a read: the pool remembers what it has on the wire), makes one attempt,
and records it in *one* transaction (:meth:`Schedule.settle`) with the delivery's next due time,
or its final state (``delivered``, ``dead-lettered``).

So a kill at any moment leaves each delivery either as it was before an attempt (its due time,
now past: it is made again at the next start, at-least-once, as Record360 and every webhook
sender promise; consumers dedupe), or with that attempt recorded. Nothing in between exists.

A final state is final: no update here touches a row that is no longer ``pending`` or
``delivering``, so a late writer (an attempt that outlived a shutdown) cannot undo an outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mockserver.delivery.records import Attempt
from mockserver.server.database import Database
from mockserver.server.store import ATTEMPT_COLUMNS, attempt_from_row, attempt_values

__all__ = ["Claim", "Schedule"]

_UNFINISHED = "status IN ('pending', 'delivering')"
_ATTEMPT_FIELDS = [name.strip() for name in ATTEMPT_COLUMNS.split(",")]
# The scheduler's statements take their rows as one JSON array, so that a batch is one SQLite
# call whatever its size: each call gives up the GIL, and getting it back from four busy workers
# costs far more than the call itself.
_CLAIM = (
    "SELECT json_group_array(json_array(seq, id, event, status, attempt_count, due_at)) "
    "FROM (SELECT seq, id, event, status, attempt_count, due_at FROM deliveries "
    "WHERE subscription = ? AND due_at IS NOT NULL "
    "AND seq NOT IN (SELECT value FROM json_each(?)) ORDER BY due_at, seq LIMIT ?)"
)
#: A settlement row: [seq, status, due_at, policy, reason, detail, attempt_count, last_status,
#: attempt (its ATTEMPT_COLUMNS values) or null]. Attempts are inserted first, for deliveries not
#: final yet; then the deliveries are updated, in the same transaction.
_SETTLE_ATTEMPTS = (
    f"INSERT INTO attempts (delivery, {ATTEMPT_COLUMNS}) SELECT d.seq, "
    + ", ".join(f"json_extract(j.value, '$[8][{n}]')" for n in range(len(_ATTEMPT_FIELDS)))
    + " FROM json_each(?) AS j CROSS JOIN deliveries AS d ON d.seq = json_extract(j.value, '$[0]') "
    f"WHERE json_extract(j.value, '$[8]') IS NOT NULL AND +d.{_UNFINISHED}"
)
_SETTLE = (
    "UPDATE deliveries SET status = json_extract(j.value, '$[1]'), "
    "due_at = json_extract(j.value, '$[2]'), "
    "policy = COALESCE(json_extract(j.value, '$[3]'), policy), "
    "reason = json_extract(j.value, '$[4]'), detail = json_extract(j.value, '$[5]'), "
    "attempt_count = json_extract(j.value, '$[6]'), "
    "last_status = CASE WHEN json_extract(j.value, '$[8]') IS NOT NULL "
    "THEN json_extract(j.value, '$[7]') ELSE last_status END, updated_at = ? "
    "FROM json_each(?) AS j WHERE deliveries.seq = json_extract(j.value, '$[0]') "
    f"AND +deliveries.{_UNFINISHED}"  # "+": look rows up by seq, not by state
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken for one attempt (by the pool, in memory): what the worker needs."""

    seq: int
    id: str
    subscription: str
    event: str
    #: Attempts already recorded; this one is number ``attempt_count + 1``.
    attempt_count: int
    #: It had no attempt yet (it counted against the queue's capacity).
    was_pending: bool


@dataclass(slots=True)
class Settlement:
    """What one attempt came to, for :meth:`Schedule.settle_many`; ``status`` ``None``: nothing
    to record (the state closed while it was on the wire)."""

    claim: Claim
    attempt: Attempt | None
    status: str | None
    #: The next attempt's due time (``status == "delivering"``).
    due_at: float | None = None
    policy: str | None = None
    reason: str | None = None
    detail: str | None = None

    def row(self) -> str:
        """This settlement as a JSON row of :meth:`Schedule.settle_many`'s batch (made by the
        worker that made the attempt, so the dispatcher only joins rows)."""
        attempt = self.attempt
        return json.dumps(
            [
                self.claim.seq, self.status, self.due_at, self.policy, self.reason, self.detail,
                self.claim.attempt_count + (attempt is not None),
                attempt.status if attempt is not None else None,
                list(attempt_values(attempt)) if attempt is not None else None,
            ],
            ensure_ascii=False,
        )  # fmt: skip


class Schedule:
    """The scheduler's reads and writes of a :class:`Database`; see the module docstring."""

    def __init__(self, database: Database) -> None:
        self.database = database

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
            row = db.execute("SELECT n FROM status_counts WHERE status = 'pending'").fetchone()
        return int(row[0])

    def retrying(self) -> int:
        """Deliveries attempted but not final (waiting for their next attempt, or making it)."""
        with self.database.read() as db:
            row = db.execute("SELECT n FROM status_counts WHERE status = 'delivering'").fetchone()
        return int(row[0])

    def claim(
        self, subscription: str, now: float, busy: Collection[int] = ()
    ) -> tuple[Claim | None, float | None]:
        """:meth:`claim_many` for one delivery."""
        claims, following = self.claim_many(subscription, now, busy, 1)
        return (claims[0] if claims else None), following

    def claim_many(
        self, subscription: str, now: float, busy: Collection[int], most: int
    ) -> tuple[list[Claim], float | None]:
        """Up to ``most`` of ``subscription``'s earliest deliveries due by ``now`` (skipping
        ``busy``: the seqs already taken), and the due time of the earliest one left."""
        with self.database.read() as db:
            found = db.execute(_CLAIM, (subscription, json.dumps(list(busy)), most + 1))
            rows = json.loads(found.fetchone()[0])
        claims = [
            Claim(seq, id_, subscription, event, count, status == "pending")
            for seq, id_, event, status, count, due in rows[:most]
            if due <= now
        ]
        left = rows[len(claims) :]
        return claims, (float(left[0][5]) if left else None)

    def load(self, claim: Claim) -> tuple[bytes, list[Attempt]]:
        """What an attempt of ``claim`` needs from the state: the body, byte for byte as every
        attempt sends it, and the attempts already recorded (read by the worker, not the
        dispatcher)."""
        with self.database.read() as db:
            row = db.execute("SELECT payload FROM deliveries WHERE seq = ?", (claim.seq,))
            payload = row.fetchone()
            if payload is None:
                raise LookupError(f"delivery {claim.id} is no longer in the state")
            rows = (
                db.execute(
                    f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery = ? ORDER BY number",
                    (claim.seq,),
                ).fetchall()
                if claim.attempt_count
                else []
            )
        return payload[0].encode(), [attempt_from_row(row) for row in rows]

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
        done = Settlement(claim, attempt, status, due_at, policy, reason, detail)
        return self.settle_many([done]) == 1

    def settle_many(self, settlements: Sequence[Settlement | str]) -> int:
        """Record each attempt with its delivery's new state, all in one transaction (a group
        commit: each delivery's change is whole, and one commit serves them all); returns how
        many were recorded (a delivery already final is left as it is). An item may be a
        :meth:`Settlement.row` made already."""
        rows = [
            done if isinstance(done, str) else done.row()
            for done in settlements
            if isinstance(done, str) or done.status is not None
        ]
        if not rows:
            return 0
        batch = "[" + ",".join(rows) + "]"
        with self.database.write() as db:
            db.execute(_SETTLE_ATTEMPTS, (batch,))
            return db.execute(_SETTLE, (time.time(), batch)).rowcount

    def cancel(
        self, subscription: str, detail: str, busy: Collection[int] = (), *, forget: bool = False
    ) -> tuple[int, int]:
        """Dead-letter (``cancelled``) every waiting delivery of a deleted subscription but those
        on the wire (``busy``); returns how many, and how many of those had no attempt yet.

        ``forget``: an API subscription's saved settings go in the same (durable) transaction,
        so that a kill never leaves it deleted with its deliveries waiting, or the reverse."""
        where = "subscription = ? AND due_at IS NOT NULL"
        if busy:
            where += f" AND seq NOT IN ({', '.join('?' * len(busy))})"
        with self.database.write(durable=forget) as db:
            if forget:
                db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription,))
            row = db.execute(
                f"SELECT COUNT(*) FROM deliveries WHERE {where} AND status = 'pending'",
                (subscription, *busy),
            ).fetchone()
            cursor = db.execute(
                "UPDATE deliveries SET status = 'dead-lettered', reason = 'cancelled', "
                f"detail = ?, due_at = NULL, updated_at = ? WHERE {where}",
                (detail, time.time(), subscription, *busy),
            )
        return cursor.rowcount, int(row[0])

    def interrupt_unfinished(self, on_the_wire: Collection[int], stop_timeout: float) -> int:
        """Record every unfinished delivery ``interrupted`` (an in-memory state at shutdown:
        nothing will continue it); ``on_the_wire``: the seqs whose attempt did not finish."""
        wire = (
            f"an attempt was still on the wire {stop_timeout:g} s after the server stopped "
            "(without --state, nothing outlives the server)"
        )
        with self.database.write() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status = 'interrupted', reason = 'interrupted', "
                "updated_at = ?, detail = CASE "
                "WHEN seq IN (SELECT value FROM json_each(?)) THEN ? "
                "WHEN attempt_count = 0 THEN 'the server stopped before this delivery started' "
                "ELSE 'the server stopped after ' || attempt_count || ' failed attempt' || "
                "CASE WHEN attempt_count = 1 THEN '' ELSE 's' END || ', while waiting to retry '"
                "|| '(without --state, nothing outlives the server)' END, "
                f"due_at = NULL WHERE {_UNFINISHED}",
                (time.time(), json.dumps(list(on_the_wire)), wire),
            )
        return cursor.rowcount
