"""The dispatcher of ``serve``: the one thread that reads and changes the scheduling state.

It takes due deliveries from the state (:meth:`Schedule.claim_many`) and hands them to idle
workers (:mod:`~mockserver.server.worker`), and records what the workers report, each attempt
with the delivery's next due time or its final state (:meth:`Schedule.settle_many`). Nothing else
touches each subscription's earliest due time (a cache of the index the claims read) or what is
on the wire, and other threads talk to it through a queue only: no lock to contend for, which
under the GIL costs more than the SQL (``bench/serve.py`` measured it).

Which delivery goes next (:meth:`Dispatcher._choose`): healthy subscriptions first (a *failing*
one's last attempt got no answer, or its last :data:`SICK_AFTER` answers were not 2xx: one 503
from a consumer that deploys is no reason to queue it behind dead endpoints), then the one with
the fewest attempts on the wire, then the one known to answer (a 2xx, then any answer, then none
yet: due times tie to the microsecond when an event fans out), then the one due first. A
subscription has at most ``concurrency`` attempts on the wire (default: half the workers), and one
until it has answered a 2xx, so a slow or hanging endpoint (an attempt may take the 15 s of the
timeouts) leaves workers to the others; failing subscriptions together have at most a quarter of
the workers (at least one), so a healthy subscription finds a worker free however many
endpoints are dead. A subscription with ``rate`` gets one attempt per ``1/rate``
(:attr:`Endpoint.not_before`), so a server running late never sends its overdue deliveries back
to back. And while a healthy attempt is on the wire, a failing subscription's next attempt waits
for it, up to :data:`SICK_YIELD_S` past its due time: attempts to 50 dead endpoints (hundreds a
second, each refused at once) would otherwise take the GIL from the healthy attempt at every
step, which ``make bench``'s isolation row measured at 1.9x the latency of a server with none.

Outcomes are recorded together: once the oldest has waited :data:`GROUP_COMMIT_S`, once there are
:data:`GROUP_COMMIT_MAX`, or at once when no attempt is on the wire. Fewer commits, and no attempt
waits for one; a kill before the commit only makes those attempts again (at-least-once).
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import time
from collections.abc import Callable
from typing import Any

from mockserver.server.database import StoreClosed
from mockserver.server.endpoint import Endpoint
from mockserver.server.schedule import Claim, Schedule, Settlement

__all__ = [
    "GROUP_COMMIT_MAX",
    "GROUP_COMMIT_S",
    "MAX_NAP_S",
    "SICK_AFTER",
    "SICK_YIELD_S",
    "Dispatcher",
]

logger = logging.getLogger("mockserver.server.worker")

#: The longest the dispatcher sleeps before it looks at the clock again (the wall clock may
#: jump; a due time is wall-clock time, because it outlives the process).
MAX_NAP_S = 1.0
GROUP_COMMIT_S = 0.01
#: How long past its due time a failing subscription's attempt may wait for the healthy ones
#: on the wire to finish (see :meth:`Dispatcher._choose`).
SICK_YIELD_S = 1.0
#: Non-2xx answers in a row that make a subscription *failing* (no answer at all: one).
SICK_AFTER = 3
GROUP_COMMIT_MAX = 128


class Dispatcher:
    """The scheduling state and the loop that runs it (:meth:`run`, in its own thread).

    :param schedule: the state's schedule.
    :param workers: how many worker threads take :attr:`jobs`.
    :param taken: called with how many deliveries left the queue of first attempts (claimed or
        cancelled), so that the pool's capacity count stays right.
    """

    def __init__(self, schedule: Schedule, workers: int, taken: Callable[[int], None]) -> None:
        self.schedule = schedule
        self._workers = workers
        self._taken = taken
        #: Messages from other threads: ("add" | "remove" | "due" | "done" | "stop", body).
        self.inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        #: Claims for the workers; ``None`` tells a worker to stop.
        self.jobs: queue.SimpleQueue[tuple[Claim, Endpoint] | None] = queue.SimpleQueue()
        self.scheduled: dict[str, Endpoint] = {}
        self._heads: dict[str, float] = {}
        self._in_flight: dict[int, Claim] = {}
        #: Counts other threads read (a plain int read is atomic).
        self.retries_on_wire = 0
        self.unrecorded = 0
        #: Attempts on the wire for failing subscriptions (seqs), and the most they may have.
        self._sick: set[int] = set()
        self._sick_cap = max(1, workers // 4)
        #: What was still on the wire when :meth:`run` ended.
        self.leftovers: list[int] = []

    @property
    def in_flight(self) -> int:
        """Attempts on the wire, or made and not recorded yet."""
        return len(self._in_flight) + self.unrecorded

    def on_the_wire(self) -> list[int]:
        """The seqs of the deliveries being attempted now."""
        return list(self._in_flight)

    def run(self) -> None:
        """Schedule until a ("stop", deadline) message, then until nothing is on the wire or
        the deadline passes."""
        deadline: float | None = None
        wake = 0.0
        finished: list[tuple[Settlement, Endpoint, str | None]] = []
        flush_at = math.inf
        while deadline is None or (self._in_flight and time.monotonic() < deadline):
            timeout = MAX_NAP_S if deadline is None else deadline - time.monotonic()
            if wake:
                timeout = min(timeout, wake - time.time())
            timeout = min(timeout, flush_at - time.monotonic())
            try:
                messages = [self.inbox.get(timeout=max(0.0, timeout))]
            except queue.Empty:
                messages = []
            while True:  # everything that arrived meanwhile, in one pass
                try:
                    messages.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            for kind, body in messages:
                if kind == "done":
                    if not finished:
                        flush_at = time.monotonic() + GROUP_COMMIT_S
                    finished.append(body)
                    self._free(body[0], body[1])
                elif kind == "stop":
                    deadline = body
            try:
                for kind, body in messages:
                    if kind not in ("done", "stop"):
                        self._apply(kind, body)
                wake = self._fill() if deadline is None else 0.0
                if finished and (
                    time.monotonic() >= flush_at
                    or len(finished) >= GROUP_COMMIT_MAX
                    or not self._in_flight
                ):
                    self._record(finished)
                    finished, flush_at = [], math.inf
            except Exception:  # a bug, or the disk: log it, try again in a moment
                logger.exception("the delivery dispatcher failed; it continues in a moment")
                wake = time.time() + MAX_NAP_S
                flush_at = time.monotonic() + MAX_NAP_S
        if finished:
            try:
                self._record(finished)
            except Exception:  # not recorded: made again at the next start
                logger.exception("the last outcomes could not be recorded")
        self.leftovers = list(self._in_flight)

    def _apply(self, kind: str, body: Any) -> None:
        if kind == "add":
            endpoint, head = body
            self.scheduled[endpoint.id] = endpoint
            self._place(endpoint, head)
        elif kind == "remove":
            gone: Endpoint = body[0]
            if self.scheduled.get(gone.id) is gone:
                del self.scheduled[gone.id]
                self._heads.pop(gone.id, None)
            self.cancel(gone)
            if not gone.on_wire and not gone.closed:
                gone.close()
            body[1].set()
        elif kind == "due":
            for endpoint, due in body:
                live = self.scheduled.get(endpoint.id)
                if live is not None:
                    self._place(live, due)
                else:
                    self.cancel(endpoint)  # deleted while the request was being accepted

    def _free(self, settlement: Settlement, endpoint: Endpoint) -> None:
        """A worker is done: its slot is free (the row stays skipped until it is recorded)."""
        claim = settlement.claim
        self.unrecorded += 1
        self._in_flight.pop(claim.seq, None)
        endpoint.busy -= 1
        self._sick.discard(claim.seq)
        attempt = settlement.attempt
        if attempt is not None:
            endpoint.answered = endpoint.answered or attempt.status is not None
            if attempt.status is not None and 200 <= attempt.status < 300:
                endpoint.proven, endpoint.failures = True, 0
            else:
                endpoint.failures += 1
            # No answer at all (refused, timed out) is failing at once; a consumer that answers
            # (a 503 while it deploys) is failing after SICK_AFTER in a row.
            endpoint.failing = endpoint.failures >= (1 if attempt.status is None else SICK_AFTER)
        self.retries_on_wire -= not claim.was_pending

    def _fill(self) -> float:
        """Give every idle worker a due delivery (see :meth:`_choose`); returns when the next
        delivery is due (0: none waits)."""
        while True:
            idle = self._workers - len(self._in_flight)
            now = time.time()
            chosen, wake = self._choose(now)
            if chosen is None or idle <= 0:
                return 0.0 if wake == math.inf else wake
            endpoint, most = chosen
            claims, endpoint.head = self.schedule.claim_many(
                endpoint.id, now, endpoint.on_wire, min(idle, most)
            )
            if claims and endpoint.spacing:
                endpoint.not_before = now + endpoint.spacing
            self._place(endpoint)
            if not claims:
                continue
            for claim in claims:
                endpoint.on_wire.add(claim.seq)
                endpoint.busy += 1
                if endpoint.failing:
                    self._sick.add(claim.seq)
                self._in_flight[claim.seq] = claim
                self.retries_on_wire += not claim.was_pending
                self.jobs.put((claim, endpoint))
            # Counted in flight before it leaves the queue: /healthz read in between must not
            # find a claimed delivery in neither (a waiter would think everything settled).
            self._taken(sum(claim.was_pending for claim in claims))

    def _place(self, endpoint: Endpoint, due: float | None = None) -> None:
        """Keep ``endpoint``'s place in :attr:`_heads` (its earliest waiting delivery), after
        ``due`` joined its schedule."""
        if due is not None:
            endpoint.head = due if endpoint.head is None else min(endpoint.head, due)
        if endpoint.head is not None:
            self._heads[endpoint.id] = endpoint.head
        else:
            self._heads.pop(endpoint.id, None)

    def _choose(self, now: float) -> tuple[tuple[Endpoint, int] | None, float]:
        """The subscription whose due delivery goes next, and how many it may take; and the
        earliest due time not reached yet.

        See the module docstring for the order and the limits."""
        best: Endpoint | None = None
        best_key = (True, 0, 0, 0.0)
        wake = math.inf
        sick_room = self._sick_cap - len(self._sick)
        # While a healthy attempt is on the wire, a failing subscription's next one waits
        # (up to SICK_YIELD_S past its due time): under the GIL it would slow the healthy one.
        healthy_busy = len(self._in_flight) > len(self._sick)
        overdue = now - SICK_YIELD_S
        scheduled = self.scheduled
        for sub, head in self._heads.items():
            endpoint = scheduled[sub]
            if endpoint.busy >= _cap(endpoint) or (endpoint.failing and sick_room <= 0):
                continue
            if endpoint.failing and healthy_busy and head > overdue:
                wake = min(wake, head + SICK_YIELD_S)  # unless a healthy one finishes first
                continue
            head = max(head, endpoint.not_before)  # with ``rate``: one per spacing
            if head > now:
                if head < wake:
                    wake = head
                continue
            known = 0 if endpoint.proven else 1 if endpoint.answered else 2
            key = (endpoint.failing, endpoint.busy, known, head)
            if best is None or key < best_key:
                best, best_key = endpoint, key
        if best is None:
            return None, wake
        room = 1 if best.spacing else _cap(best) - best.busy
        return (best, min(room, sick_room) if best.failing else room), wake

    def _record(self, finished: list[tuple[Settlement, Endpoint, str | None]]) -> None:
        with contextlib.suppress(StoreClosed):  # stopping: made again at the next start
            self.schedule.settle_many([row for _, _, row in finished if row is not None])
        self.unrecorded -= len(finished)  # (another error leaves them to the next try)
        for settlement, endpoint, _ in finished:
            endpoint.on_wire.discard(settlement.claim.seq)
            due = settlement.due_at
            if settlement.status is None:  # not made: due again now, or when the worker said
                if due is not None and settlement.claim.was_pending:
                    self._taken(-1)  # still waiting for its first attempt: claimed again later
                due = due if due is not None else time.time()
            if due is None:
                continue
            if self.scheduled.get(endpoint.id) is endpoint:
                self._place(endpoint, due)
            elif endpoint.deleted:
                self.cancel(endpoint)  # deleted while this attempt was on the wire
        for _, endpoint, _ in finished:
            if endpoint.deleted and not endpoint.on_wire and not endpoint.closed:
                endpoint.close()

    def cancel(self, endpoint: Endpoint) -> None:
        """Dead-letter a deleted subscription's waiting deliveries (not those on the wire: their
        attempt finishes, and one that would be retried is cancelled then)."""
        detail = f"subscription {endpoint.id!r} was deleted before it was sent"
        try:
            _, pending = self.schedule.cancel(
                endpoint.id, detail, tuple(endpoint.on_wire), forget=endpoint.forget
            )
        except StoreClosed:
            return
        self._taken(pending)


def _cap(endpoint: Endpoint) -> int:
    """Attempts ``endpoint`` may have on the wire: its ``limit``, once it has answered a 2xx;
    one before (an endpoint that accepts connections and never answers would otherwise hold
    ``limit`` workers for the whole read timeout before anyone knew)."""
    return endpoint.limit if endpoint.proven else 1
