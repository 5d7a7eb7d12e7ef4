"""The scheduler of ``serve``: N workers take due attempts, one at a time, fairly.

A worker never waits for a retry. It takes a due delivery (:meth:`Schedule.claim`), makes *one*
attempt (:meth:`mockserver.delivery.Sender.attempt`, the delivery core's step: headers, Retry-After,
dead letters and redaction as everywhere), and records the outcome with the next due time in one
transaction (:meth:`Schedule.settle`). So a delivery that waits hours for its next attempt on the
``standard`` schedule is a row, and the 4 workers keep delivering to everyone else (issue 13).

Which delivery comes next: among the subscriptions whose earliest delivery is due and that are
under their concurrency limit, the one with the fewest attempts on the wire, then the one due
first. A subscription may have at most ``concurrency`` attempts on the wire (default: half the
workers), so a slow endpoint (each attempt held up to the 15 s timeouts) leaves workers to the
others, and a dead one (connection refused) costs a millisecond per attempt and nothing between
attempts. ``rate`` books each accepted delivery on the subscription's token bucket (GCRA,
:class:`mockserver.delivery.pacing.TokenBucket`): the booking *is* its due time, so pacing
survives a restart too. Retries are not paced: they follow their schedule.

The pool keeps in memory only what is on the wire, and each subscription's earliest due time (a
cache of the index :meth:`Schedule.head` reads, refreshed by every claim), so memory does not
grow with the schedule. :meth:`DeliveryPool.stop` lets attempts on the wire finish and be
recorded; with ``--state`` every other delivery simply continues at the next start, and in
memory (no ``--state``) every unfinished one is recorded ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Sequence

import httpx

from mockserver.delivery.clock import SystemClock
from mockserver.delivery.pacing import TokenBucket
from mockserver.errors import R360Error
from mockserver.server.database import StoreClosed
from mockserver.server.schedule import Claim, Schedule
from mockserver.server.store import DeliveryStore, Record
from mockserver.server.subscriptions import Subscription

__all__ = ["STOP_TIMEOUT", "DeliveryPool", "Endpoint", "QueueFull", "ShuttingDown"]

logger = logging.getLogger("mockserver.server.worker")

#: How long :meth:`DeliveryPool.stop` waits for attempts on the wire: the sender's connect (5 s)
#: and read (10 s) timeouts, plus a margin.
STOP_TIMEOUT = 20.0
#: The longest a waiting worker sleeps before it looks at the clock again (the wall clock may
#: jump; a due time is wall-clock time, because it outlives the process).
MAX_NAP_S = 1.0


class QueueFull(R360Error):
    """``capacity`` deliveries wait for their first attempt already; try again later."""


class ShuttingDown(R360Error):
    """The pool is stopping and accepts nothing more."""


def default_concurrency(workers: int) -> int:
    """A subscription's limit of attempts on the wire when it sets none: half the workers."""
    return max(1, workers // 2)


class Endpoint:
    """A subscription with its own sender, pacing and limit; closed once deleted and idle."""

    def __init__(
        self, subscription: Subscription, *, transport: httpx.BaseTransport | None, limit: int
    ) -> None:
        self.subscription = subscription
        settings = subscription.settings
        assert settings is not None  # made by parse_subscription
        # An injected transport brings its own TLS settings; the clock is the real one.
        self.sender = settings.sender(transport=transport, retry=subscription.retry)
        rate = subscription.rate
        self.bucket = TokenBucket(rate, SystemClock()) if rate is not None else None
        self.limit = limit
        #: Attempts on the wire (guarded by the pool's lock).
        self.busy = 0
        self.deleted = False
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.sender.close()


class DeliveryPool:
    """N worker threads delivering from the schedule; see the module docstring.

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
        self._cond = threading.Condition()
        self._endpoints: dict[str, Endpoint] = {}
        self._retired: list[Endpoint] = []
        self._heads: dict[str, float] = {}
        self._pending = self.schedule.pending()
        self._in_flight: dict[int, Claim] = {}
        self._submitting = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"r360-delivery-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- subscriptions ---------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> Endpoint:
        """Deliver to ``subscription`` (its waiting deliveries too, after a restart)."""
        limit = subscription.concurrency or default_concurrency(self._workers)
        endpoint = Endpoint(subscription, transport=self._transport, limit=limit)
        head = self.schedule.head(subscription.id)
        with self._cond:
            self._endpoints[subscription.id] = endpoint
            if head is not None:
                self._heads[subscription.id] = head
            self._cond.notify_all()
        return endpoint

    def remove(self, subscription_id: str) -> Endpoint | None:
        """Stop delivering to a subscription: its waiting deliveries are cancelled (dead-lettered),
        an attempt on the wire finishes; returns the endpoint, ``None`` when there was none."""
        with self._cond:
            endpoint = self._endpoints.pop(subscription_id, None)
            if endpoint is None:
                return None
            endpoint.deleted = True
            self._heads.pop(subscription_id, None)
            idle = endpoint.busy == 0
            if not idle:
                self._retired.append(endpoint)
        self._cancel(endpoint)
        if idle:
            endpoint.close()
        return endpoint

    def endpoints(self) -> list[Endpoint]:
        """Every live endpoint, in the order they were added."""
        with self._cond:
            return list(self._endpoints.values())

    def get(self, subscription_id: str) -> Endpoint | None:
        with self._cond:
            return self._endpoints.get(subscription_id)

    def _cancel(self, endpoint: Endpoint) -> None:
        detail = f"subscription {endpoint.subscription.id!r} was deleted before it was sent"
        _, pending = self.schedule.cancel(endpoint.subscription.id, detail)
        with self._cond:
            self._pending -= pending

    # -- accepting -------------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Deliveries waiting for their first attempt."""
        with self._cond:
            return self._pending

    @property
    def in_flight(self) -> int:
        with self._cond:
            return len(self._in_flight)

    def submit(self, jobs: Sequence[tuple[Endpoint, Record]]) -> None:
        """Store each delivery, due now (or at its pacing slot); all or none (:class:`QueueFull`).

        The transaction is committed (``synchronous=FULL``) before this returns."""
        with self._cond:
            if self._closed:
                raise ShuttingDown("the server is shutting down and accepts no new deliveries")
            if self._pending + len(jobs) > self._capacity:
                raise QueueFull(
                    f"the delivery queue is full ({self._pending} of {self._capacity} waiting); "
                    "try again when it has drained"
                )
            self._pending += len(jobs)
            self._submitting += 1
        try:
            now = time.time()
            for endpoint, record in jobs:
                wait = endpoint.bucket.reserve() if endpoint.bucket is not None else 0.0
                record.due_at = now + wait
            self._store.add([record for _, record in jobs])
        except BaseException:
            with self._cond:
                self._pending -= len(jobs)
                self._submitting -= 1
                self._cond.notify_all()
            raise
        late: dict[str, Endpoint] = {}
        with self._cond:
            self._submitting -= 1
            for endpoint, record in jobs:
                sub = endpoint.subscription.id
                if self._endpoints.get(sub) is not endpoint:
                    late[sub] = endpoint  # deleted while this request was being accepted
                elif record.due_at is not None:
                    self._heads[sub] = min(self._heads.get(sub, math.inf), record.due_at)
            self._cond.notify_all()
        for endpoint in late.values():
            self._cancel(endpoint)

    # -- delivering ------------------------------------------------------------------------------

    def _take(self) -> tuple[Claim, Endpoint] | None:
        with self._cond:
            while not self._closed:
                now = time.time()
                best: tuple[int, float, str] | None = None
                wake = math.inf
                for sub, head in self._heads.items():
                    endpoint = self._endpoints[sub]
                    if endpoint.busy >= endpoint.limit:
                        continue
                    if head > now:
                        wake = min(wake, head)
                    elif best is None or (endpoint.busy, head) < best[:2]:
                        best = (endpoint.busy, head, sub)
                if best is None:
                    self._cond.wait(min(MAX_NAP_S, wake - now) if wake < math.inf else None)
                    continue
                sub = best[2]
                claim, following = self.schedule.claim(sub, now)
                if following is None:
                    del self._heads[sub]
                else:
                    self._heads[sub] = following
                if claim is None:
                    continue
                endpoint = self._endpoints[sub]
                endpoint.busy += 1
                self._in_flight[claim.seq] = claim
                if claim.was_pending:
                    self._pending -= 1
                return claim, endpoint
            return None

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            claim, endpoint = taken
            due: float | None = None
            try:
                due = self._attempt(claim, endpoint)
            except StoreClosed:
                pass  # the server stopped while this attempt was on the wire: recovered at start
            except Exception:  # a bug: keep the worker alive, and the delivery final
                logger.exception("delivery %s: unexpected error in the worker", claim.id)
                with contextlib.suppress(StoreClosed):
                    self.schedule.settle(
                        claim, None, status="dead-lettered", reason="error",
                        detail="internal error in the server; see its log",
                    )  # fmt: skip
            finally:
                self._release(claim, endpoint, due)

    def _release(self, claim: Claim, endpoint: Endpoint, due: float | None) -> None:
        with self._cond:
            endpoint.busy -= 1
            self._in_flight.pop(claim.seq, None)
            sub = endpoint.subscription.id
            if due is not None and self._endpoints.get(sub) is endpoint:
                self._heads[sub] = min(self._heads.get(sub, math.inf), due)
            close = endpoint.deleted and endpoint.busy == 0 and not endpoint.closed
            if close:
                self._retired = [e for e in self._retired if e is not endpoint]
            self._cond.notify()
        if close:
            endpoint.close()

    def _attempt(self, claim: Claim, endpoint: Endpoint) -> float | None:
        """One attempt of ``claim``, recorded; returns its next due time (``None``: final)."""
        sender = endpoint.sender
        delivery = sender.start(claim.body, event=claim.event, key=claim.id)
        if claim.attempt_count:
            delivery.attempts = self.schedule.history(claim)
        try:
            delay = sender.attempt(delivery, claim.attempt_count + 1)
        except R360Error as exc:  # the sender's own failure (its auth source), not the consumer's
            detail = endpoint.subscription.redactor.text(str(exc))
            self.schedule.settle(claim, None, status="dead-lettered", reason="error", detail=detail)
            return None
        attempt = delivery.attempts[-1]
        if delay is None:
            self.schedule.settle(
                claim, attempt, status=delivery.status, policy=delivery.policy,
                reason=delivery.reason, detail=delivery.detail,
            )  # fmt: skip
            logger.info(
                "delivery %s (%s to %s): %s after %d attempt(s)", claim.id, claim.event,
                claim.subscription, delivery.status, attempt.number,
            )  # fmt: skip
            return None
        if endpoint.deleted:
            detail = f"subscription {claim.subscription!r} was deleted before its next attempt"
            self.schedule.settle(
                claim, attempt, status="dead-lettered", policy=delivery.policy,
                reason="cancelled", detail=detail,
            )  # fmt: skip
            return None
        due = time.time() + delay
        self.schedule.settle(
            claim, attempt, status="delivering", due_at=due, policy=delivery.policy
        )
        return due

    # -- stopping --------------------------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop: nothing new is accepted or started; attempts on the wire finish and are recorded
        (up to ``timeout`` in all). Returns how many deliveries were recorded ``interrupted``:
        with ``--state`` none (they continue at the next start), in memory every unfinished one.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._closed:
                return 0
            self._closed = True
            self._cond.notify_all()
            while self._submitting and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            leftovers = list(self._in_flight.values())
            idle = [e for e in [*self._endpoints.values(), *self._retired] if e.busy == 0]
        interrupted = 0
        if not self._store.database.durable:
            interrupted = self.schedule.interrupt_unfinished(timeout)
        elif leftovers:
            logger.warning(
                "%d attempt(s) still on the wire %g s after the stop; they are made again at "
                "the next start",
                len(leftovers), timeout,
            )  # fmt: skip
        for endpoint in idle:
            if not endpoint.closed:
                endpoint.close()
        return interrupted
