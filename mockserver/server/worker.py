"""The delivery pool of ``serve``: what the app talks to, and the threads that deliver.

A worker never waits for a retry: the dispatcher (:mod:`~mockserver.server.dispatcher`) hands it a
due delivery, it makes *one* attempt (:func:`~mockserver.server.endpoint.attempt_once`) and
hands the outcome back, and the dispatcher records the attempt with the delivery's next due time,
or its final state, in one transaction. So a delivery that waits hours for its next attempt on
the ``standard`` schedule is a row, and the workers keep delivering to everyone else (issue 13).

:class:`DeliveryPool` is the face the app uses: subscriptions come and go (:meth:`add`,
:meth:`remove`), accepted events are committed (:meth:`submit`, all or none within a bounded
queue of first attempts), and :meth:`stop` drains. ``rate`` books each accepted delivery on the
subscription's token bucket (GCRA, :class:`mockserver.delivery.pacing.TokenBucket`): the booking
*is* its due time, so pacing survives a restart. Retries are not paced: they follow their schedule.
Memory holds only what is on the wire, whatever the schedule's length.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import httpx

from mockserver.errors import R360Error
from mockserver.server.dispatcher import Dispatcher
from mockserver.server.egress import Resolver
from mockserver.server.endpoint import Endpoint, attempt_once
from mockserver.server.schedule import Schedule
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
    :param allow_link_local: deliver to link-local and metadata addresses too
        (:mod:`~mockserver.server.egress`); ``resolver`` replaces DNS for the check (tests).
    """

    def __init__(
        self,
        store: DeliveryStore,
        *,
        workers: int = 4,
        capacity: int = 1000,
        transport: httpx.BaseTransport | None = None,
        allow_link_local: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self._store = store
        self.schedule = Schedule(store.database)
        self._workers = workers
        self._capacity = capacity
        self._transport = transport
        self._allow_link_local = allow_link_local
        self._resolver = resolver
        # Shared with the API's threads, under _lock:
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}
        self._pending = self.schedule.pending()
        self._submitting = 0
        self._closed = False
        self._dispatch = Dispatcher(self.schedule, workers, self._taken)
        self._inbox = self._dispatch.inbox
        self._dispatcher = threading.Thread(
            target=self._dispatch.run, name="r360-dispatch", daemon=True
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
        endpoint = Endpoint(
            subscription, transport=self._transport, limit=limit,
            allow_link_local=self._allow_link_local, resolver=self._resolver,
        )  # fmt: skip
        # The dispatcher hears of it before any request can see it (and send its due times).
        self._inbox.put(("add", (endpoint, self.schedule.head(subscription.id))))
        with self._lock:
            self._endpoints[subscription.id] = endpoint
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
        endpoint.forget = endpoint.subscription.source == "api"
        done = threading.Event()
        self._inbox.put(("remove", (endpoint, done)))
        if closed or not done.wait(STOP_TIMEOUT):
            self._dispatch.cancel(endpoint)  # no dispatcher to do it
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
        return self._dispatch.in_flight

    def retrying(self) -> int:
        """Deliveries attempted, not final and not on the wire: waiting for their next attempt."""
        return max(0, self.schedule.retrying() - self._dispatch.retries_on_wire)

    def _taken(self, count: int) -> None:
        with self._lock:
            self._pending -= count

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
        while (job := self._dispatch.jobs.get()) is not None:
            claim, endpoint = job
            settlement = attempt_once(claim, endpoint, self.schedule)
            row = settlement.row() if settlement.status is not None else None
            self._inbox.put(("done", (settlement, endpoint, row)))

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
            self._dispatch.jobs.put(None)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        done = not self._dispatcher.is_alive()
        leftovers = self._dispatch.leftovers if done else self._dispatch.on_the_wire()
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
        return [*live, *(e for e in self._dispatch.scheduled.values() if e not in live)]
