"""The scheduler of ``serve``: one dispatcher owns the schedule, N workers make attempts.

A worker never waits for a retry. The dispatcher thread takes due deliveries from the state
(:meth:`Schedule.claim_many`) and hands them to idle workers; a worker makes *one* attempt
(:func:`~mockserver.server.endpoint.attempt_once`) and hands the outcome back; the dispatcher
records each attempt with the delivery's next due time, or its final state, in one transaction
(:meth:`Schedule.settle_many`: what finished within 10 ms is committed together). So a delivery that
waits hours for its next attempt on the ``standard`` schedule is a row, and the workers keep
delivering to everyone else (issue 13).

Which delivery comes next: among the subscriptions whose earliest delivery is due and that are
under their concurrency limit, the one with the fewest attempts on the wire, then the one due
first. A subscription may have at most ``concurrency`` attempts on the wire (default: half the
workers), so a slow endpoint (each attempt held up to the 15 s timeouts) leaves workers to the
others, and a dead one (connection refused) costs a millisecond per attempt and nothing between
attempts. ``rate`` books each accepted delivery on the subscription's token bucket (GCRA,
:class:`mockserver.delivery.pacing.TokenBucket`): the booking *is* its due time, so pacing
survives a restart too. Retries are not paced: they follow their schedule.

The dispatcher alone reads and changes the scheduling state (each subscription's earliest due
time, a cache of the index :meth:`Schedule.claim_many` reads, and what is on the wire); other
threads talk to it through a queue, so there is no lock to contend for. Memory holds only what
is on the wire, whatever the schedule's length. :meth:`DeliveryPool.stop` lets attempts on the
wire finish and be recorded; with ``--state`` every other delivery simply continues at the next
start, and in memory (no ``--state``) every unfinished one is recorded ``interrupted``.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from mockserver.errors import R360Error
from mockserver.server.database import StoreClosed
from mockserver.server.endpoint import Endpoint, attempt_once
from mockserver.server.schedule import Claim, Schedule, Settlement
from mockserver.server.store import DeliveryStore, Record
from mockserver.server.subscriptions import Subscription

__all__ = [
    "STOP_TIMEOUT",
    "DeliveryPool",
    "Endpoint",
    "QueueFull",
    "ShuttingDown",
    "default_concurrency",
]

logger = logging.getLogger("mockserver.server.worker")

#: How long :meth:`DeliveryPool.stop` waits for attempts on the wire: the sender's connect (5 s)
#: and read (10 s) timeouts, plus a margin.
STOP_TIMEOUT = 20.0
#: The longest the dispatcher sleeps before it looks at the clock again (the wall clock may
#: jump; a due time is wall-clock time, because it outlives the process).
MAX_NAP_S = 1.0
#: Outcomes are recorded together (one transaction) once the oldest has waited this long, once
#: there are this many, or at once when no attempt is on the wire: fewer commits, and attempts
#: never wait for one. A kill before the commit only makes those attempts again.
GROUP_COMMIT_S = 0.01
GROUP_COMMIT_MAX = 128


class QueueFull(R360Error):
    """``capacity`` deliveries wait for their first attempt already; try again later."""


class ShuttingDown(R360Error):
    """The pool is stopping and accepts nothing more."""


def default_concurrency(workers: int) -> int:
    """A subscription's limit of attempts on the wire when it sets none: half the workers."""
    return max(1, workers // 2)


class DeliveryPool:
    """A dispatcher and N worker threads delivering from the schedule; see the module docstring.

    :param store: where deliveries live (its database holds the schedule).
    :param workers: attempts on the wire at once.
    :param capacity: accepted deliveries that may wait for their first attempt.
    :param transport: carries every delivery instead of the network (tests, dry runs).
    """

    def __init__(
        self,
        store: DeliveryStore,
        *,
        workers: int = 4,
        capacity: int = 1000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._store = store
        self.schedule = Schedule(store.database)
        self._workers = workers
        self._capacity = capacity
        self._transport = transport
        # Shared with the API's threads, under _lock:
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}
        self._pending = self.schedule.pending()
        self._submitting = 0
        self._closed = False
        # The dispatcher's own (others only read the counts):
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[tuple[Claim, Endpoint] | None] = queue.SimpleQueue()
        self._scheduled: dict[str, Endpoint] = {}
        self._heads: dict[str, float] = {}
        self._in_flight: dict[int, Claim] = {}
        self._retries_on_wire = 0
        self._unrecorded = 0
        #: Attempts on the wire for failing subscriptions (seqs), and the most they may have.
        self._sick: set[int] = set()
        self._sick_cap = max(1, workers // 4)
        self._leftovers: list[int] = []
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="r360-dispatch", daemon=True
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"r360-delivery-{n}", daemon=True)
            for n in range(workers)
        ]
        self._dispatcher.start()
        for thread in self._threads:
            thread.start()

    # -- subscriptions -----------------------------------------------------------------------

    def add(self, subscription: Subscription) -> Endpoint:
        """Deliver to ``subscription`` (its waiting deliveries too, after a restart)."""
        limit = subscription.concurrency or default_concurrency(self._workers)
        endpoint = Endpoint(subscription, transport=self._transport, limit=limit)
        with self._lock:
            self._endpoints[subscription.id] = endpoint
        self._inbox.put(("add", (endpoint, self.schedule.head(subscription.id))))
        return endpoint

    def remove(self, subscription_id: str) -> Endpoint | None:
        """Stop delivering to a subscription: its waiting deliveries are dead-lettered
        (``cancelled``) before this returns, and an attempt on the wire finishes; returns the
        endpoint, ``None`` when there was none."""
        with self._lock:
            endpoint = self._endpoints.pop(subscription_id, None)
            closed = self._closed
        if endpoint is None:
            return None
        endpoint.deleted = True
        done = threading.Event()
        self._inbox.put(("remove", (endpoint, done)))
        if closed or not done.wait(STOP_TIMEOUT):
            self._cancel(endpoint)  # no dispatcher to do it
        return endpoint

    def endpoints(self) -> list[Endpoint]:
        """Every live endpoint, in the order they were added."""
        with self._lock:
            return list(self._endpoints.values())

    def get(self, subscription_id: str) -> Endpoint | None:
        with self._lock:
            return self._endpoints.get(subscription_id)

    # -- accepting ---------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Deliveries waiting for their first attempt."""
        with self._lock:
            return self._pending

    @property
    def in_flight(self) -> int:
        """Attempts on the wire, or made and not recorded yet."""
        return len(self._in_flight) + self._unrecorded

    def retrying(self) -> int:
        """Deliveries attempted, not final and not on the wire: waiting for their next attempt."""
        return max(0, self.schedule.retrying() - self._retries_on_wire)

    def submit(self, jobs: Sequence[tuple[Endpoint, Record]]) -> None:
        """Store each delivery, due now (or at its pacing slot); all or none (:class:`QueueFull`).

        The transaction is committed (``synchronous=FULL``) before this returns."""
        with self._lock:
            if self._closed:
                raise ShuttingDown("the server is shutting down and accepts no new deliveries")
            if self._pending + len(jobs) > self._capacity:
                raise QueueFull(
                    f"the delivery queue is full ({self._pending} of {self._capacity} waiting); "
                    "try again when it has drained"
                )
            self._pending += len(jobs)
            self._submitting += 1
        heads: dict[str, tuple[Endpoint, float]] = {}
        try:
            now = time.time()
            for endpoint, record in jobs:
                wait = endpoint.bucket.reserve() if endpoint.bucket is not None else 0.0
                record.due_at = due = now + wait
                if endpoint.id not in heads or due < heads[endpoint.id][1]:
                    heads[endpoint.id] = (endpoint, due)
            self._store.add([record for _, record in jobs])
        except BaseException:
            with self._lock:
                self._pending -= len(jobs)
            raise
        finally:
            with self._lock:
                self._submitting -= 1
        self._inbox.put(("due", list(heads.values())))

    # -- the workers -------------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            claim, endpoint = job
            settlement = attempt_once(claim, endpoint, self.schedule)
            row = settlement.row() if settlement.status is not None else None
            self._inbox.put(("done", (settlement, endpoint, row)))

    # -- the dispatcher ----------------------------------------------------------------------

    def _dispatch(self) -> None:
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
                messages = [self._inbox.get(timeout=max(0.0, timeout))]
            except queue.Empty:
                messages = []
            while True:  # everything that arrived meanwhile, in one pass
                try:
                    messages.append(self._inbox.get_nowait())
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
            except Exception:  # a bug, or the disk: log it, keep scheduling
                logger.exception("the delivery dispatcher failed; it continues in a moment")
                wake = time.time() + MAX_NAP_S
        if finished:
            self._record(finished)
        self._leftovers = list(self._in_flight)

    def _apply(self, kind: str, body: Any) -> None:
        if kind == "add":
            endpoint, head = body
            self._scheduled[endpoint.id] = endpoint
            self._place(endpoint, head)
        elif kind == "remove":
            gone: Endpoint = body[0]
            if self._scheduled.get(gone.id) is gone:
                del self._scheduled[gone.id]
                self._heads.pop(gone.id, None)
            self._cancel(gone)
            if not gone.on_wire and not gone.closed:
                gone.close()
            body[1].set()
        elif kind == "due":
            for endpoint, due in body:
                live = self._scheduled.get(endpoint.id)
                if live is not None:
                    self._place(live, due)
                else:
                    self._cancel(endpoint)  # deleted while the request was being accepted

    def _free(self, settlement: Settlement, endpoint: Endpoint) -> None:
        """A worker is done: its slot is free (the row stays skipped until it is recorded)."""
        claim = settlement.claim
        self._unrecorded += 1
        self._in_flight.pop(claim.seq, None)
        endpoint.busy -= 1
        self._sick.discard(claim.seq)
        attempt = settlement.attempt
        if attempt is not None:
            endpoint.failing = not (attempt.status is not None and 200 <= attempt.status < 300)
        self._retries_on_wire -= not claim.was_pending

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
            self._place(endpoint)
            if not claims:
                continue
            with self._lock:
                self._pending -= sum(claim.was_pending for claim in claims)
            for claim in claims:
                endpoint.on_wire.add(claim.seq)
                endpoint.busy += 1
                if endpoint.failing:
                    self._sick.add(claim.seq)
                self._in_flight[claim.seq] = claim
                self._retries_on_wire += not claim.was_pending
                self._jobs.put((claim, endpoint))

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

        Healthy subscriptions first (a *failing* one's last attempt got no 2xx), then the one
        with the fewest attempts on the wire, then the one due first. Failing subscriptions
        together hold at most half the workers: a healthy subscription always finds one free,
        whatever the number of dead endpoints beside it."""
        best: Endpoint | None = None
        best_key = (True, 0, 0.0)
        wake = math.inf
        sick_room = self._sick_cap - len(self._sick)
        scheduled = self._scheduled
        for sub, head in self._heads.items():
            endpoint = scheduled[sub]
            if endpoint.busy >= endpoint.limit or (endpoint.failing and sick_room <= 0):
                continue
            if head > now:
                if head < wake:
                    wake = head
                continue
            key = (endpoint.failing, endpoint.busy, head)
            if best is None or key < best_key:
                best, best_key = endpoint, key
        if best is None:
            return None, wake
        room = best.limit - best.busy
        return (best, min(room, sick_room) if best.failing else room), wake

    def _record(self, finished: list[tuple[Settlement, Endpoint, str | None]]) -> None:
        try:
            self.schedule.settle_many([row for _, _, row in finished if row is not None])
        except StoreClosed:
            pass  # stopping: these attempts are made again at the next start
        finally:
            self._unrecorded -= len(finished)
        for settlement, endpoint, _ in finished:
            endpoint.on_wire.discard(settlement.claim.seq)
            due = settlement.due_at if settlement.status is not None else time.time()
            if due is None:
                continue
            if self._scheduled.get(endpoint.id) is endpoint:
                self._place(endpoint, due)
            elif endpoint.deleted:
                self._cancel(endpoint)  # deleted while this attempt was on the wire
        for _, endpoint, _ in finished:
            if endpoint.deleted and not endpoint.on_wire and not endpoint.closed:
                endpoint.close()

    def _cancel(self, endpoint: Endpoint) -> None:
        """Dead-letter a deleted subscription's waiting deliveries (not those on the wire: their
        attempt finishes, and one that would be retried is cancelled then)."""
        detail = f"subscription {endpoint.id!r} was deleted before it was sent"
        try:
            _, pending = self.schedule.cancel(endpoint.id, detail, tuple(endpoint.on_wire))
        except StoreClosed:
            return
        with self._lock:
            self._pending -= pending

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop: nothing new is accepted or started; attempts on the wire finish and are recorded
        (up to ``timeout`` in all). Returns how many deliveries were recorded ``interrupted``:
        with ``--state`` none (they continue at the next start), in memory every unfinished one.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return 0
            self._closed = True
        while self._submitting and time.monotonic() < deadline:
            time.sleep(0.005)  # a request being accepted: let its transaction end
        self._inbox.put(("stop", deadline))
        self._dispatcher.join(max(0.0, deadline - time.monotonic()))
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        leftovers = self._leftovers if not self._dispatcher.is_alive() else list(self._in_flight)
        interrupted = 0
        if not self._store.database.durable:
            interrupted = self.schedule.interrupt_unfinished(leftovers, timeout)
        elif leftovers:
            logger.warning(
                "%d attempt(s) still on the wire %g s after the stop; they are made again at "
                "the next start",
                len(leftovers), timeout,
            )  # fmt: skip
        for endpoint in self._all_endpoints():
            if not endpoint.on_wire and not endpoint.closed:
                endpoint.close()
        return interrupted

    def _all_endpoints(self) -> list[Endpoint]:
        with self._lock:
            live = list(self._endpoints.values())
        return [*live, *(e for e in self._scheduled.values() if e not in live)]
