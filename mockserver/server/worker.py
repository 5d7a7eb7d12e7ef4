"""Background delivery for ``serve``: a bounded schedule of accepted deliveries and N workers.

Each accepted delivery is booked on its subscription's token bucket when it is accepted
(GCRA, :class:`mockserver.delivery.pacing.TokenBucket`), which gives it a start time; workers take
whichever delivery is due first. So a subscription limited to 1/s delays only its own
deliveries, never another subscription's (no head-of-line blocking), and the queue has a fixed
capacity: beyond it :class:`QueueFull` is raised and the API answers 429.

A worker runs the delivery through :class:`mockserver.delivery.Sender` (retries, ``Retry-After``,
dead letters, redaction). Retry waits sleep on a clock that wakes at shutdown: :meth:`DeliveryPool.
stop` lets an attempt already on the wire finish (it is bounded by the sender's timeouts), and
records a delivery that would now wait for a retry, or was still queued, as ``interrupted``. A
long retry schedule holds its worker while it waits (``Sender.deliver`` sleeps in its thread),
which is why the server's default schedule is ``quick``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from mockserver.delivery.clock import SystemClock
from mockserver.delivery.pacing import TokenBucket
from mockserver.errors import R360Error
from mockserver.server.store import DeliveryStore, Record
from mockserver.server.subscriptions import Subscription

__all__ = ["DeliveryPool", "Endpoint", "QueueFull", "ShuttingDown", "Stopped"]

logger = logging.getLogger("mockserver.server.worker")

#: How long :meth:`DeliveryPool.stop` waits for attempts on the wire: the sender's connect (5 s)
#: and read (10 s) timeouts, plus a margin.
STOP_TIMEOUT = 20.0


class QueueFull(R360Error):
    """The schedule holds ``capacity`` deliveries already; try again later."""


class ShuttingDown(R360Error):
    """The pool is stopping and accepts nothing more."""


class Stopped(Exception):
    """Raised inside a retry wait when the pool stops: ends the delivery as interrupted."""

    def __init__(self, waited_for: float, attempts: int) -> None:
        super().__init__(f"stopped while waiting {waited_for:g} s")
        self.waited_for = waited_for
        self.attempts = attempts


class _StopClock(SystemClock):
    """The real clock, except that a wait ends in :class:`Stopped` once ``stop`` is set."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._local = threading.local()

    def begin(self) -> None:
        self._local.waits = 0

    def sleep(self, seconds: float) -> None:
        waits: int = getattr(self._local, "waits", 0) + 1
        self._local.waits = waits
        if self._stop.is_set() or self._stop.wait(max(0.0, seconds)):
            raise Stopped(seconds, attempts=waits)


class Endpoint:
    """A subscription with its own sender and pacing; closed once deleted and idle."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        clock: _StopClock,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.subscription = subscription
        settings = subscription.settings
        assert settings is not None  # made by parse_subscription
        self.sender = settings.sender(
            transport=transport,  # an injected transport brings its own TLS settings
            retry=subscription.retry,
            clock=clock,
        )
        rate = subscription.rate
        self.bucket = TokenBucket(rate, SystemClock()) if rate is not None else None
        self._lock = threading.Lock()
        self._busy = 0
        self._deleted = False
        self.closed = False

    def acquire(self) -> bool:
        with self._lock:
            if self._deleted:
                return False
            self._busy += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._busy -= 1
            close = self._deleted and self._busy == 0
        if close:
            self.close()

    def retire(self) -> None:
        """The subscription was deleted: start nothing more; close when the last one ends."""
        with self._lock:
            self._deleted = True
            close = self._busy == 0
        if close:
            self.close()

    def close(self) -> None:
        self.closed = True
        self.sender.close()


@dataclass(order=True, slots=True)
class _Job:
    due: float
    seq: int
    record: Record = field(compare=False)
    endpoint: Endpoint = field(compare=False)


class DeliveryPool:
    """N worker threads delivering from a bounded schedule; see the module docstring.

    :param store: where every state change is recorded.
    :param workers: deliveries in flight at once.
    :param capacity: accepted deliveries that may wait for a worker.
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
        self._capacity = capacity
        self._transport = transport
        self._stop = threading.Event()
        self._clock = _StopClock(self._stop)
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._counter = itertools.count()
        self._closed = False
        self._in_flight: dict[str, Record] = {}
        self._stopped = 0
        self._endpoints: list[Endpoint] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"r360-delivery-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def endpoint(self, subscription: Subscription) -> Endpoint:
        """A sender and pacing for ``subscription``; the pool closes it at :meth:`stop`."""
        endpoint = Endpoint(subscription, clock=self._clock, transport=self._transport)
        with self._cond:
            self._endpoints = [e for e in self._endpoints if not e.closed] + [endpoint]
        return endpoint

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._heap)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return len(self._in_flight)

    def submit(self, jobs: Sequence[tuple[Endpoint, Record]]) -> None:
        """Record each delivery ``pending`` and schedule it; all or none (:class:`QueueFull`)."""
        with self._cond:
            if self._closed:
                raise ShuttingDown("the server is shutting down and accepts no new deliveries")
            if len(self._heap) + len(jobs) > self._capacity:
                raise QueueFull(
                    f"the delivery queue is full ({len(self._heap)} of {self._capacity} waiting); "
                    "try again when it has drained"
                )
            now = time.monotonic()
            for endpoint, record in jobs:
                self._store.add(record)
                wait = endpoint.bucket.reserve() if endpoint.bucket is not None else 0.0
                heapq.heappush(self._heap, _Job(now + wait, next(self._counter), record, endpoint))
            self._cond.notify(len(jobs))

    def _next(self) -> _Job | None:
        with self._cond:
            while not self._closed:
                if self._heap:
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        job = heapq.heappop(self._heap)
                        self._in_flight[job.record.id] = job.record
                        return job
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run(job.record, job.endpoint)
            except Exception:  # a bug: keep the worker alive, and the record final
                logger.exception("delivery %s: unexpected error in the worker", job.record.id)
                self._store.update(
                    job.record,
                    status="dead-lettered",
                    reason="error",
                    detail="internal error in the server; see its log",
                )
            finally:
                with self._cond:
                    self._in_flight.pop(job.record.id, None)

    def _run(self, record: Record, endpoint: Endpoint) -> None:
        if not endpoint.acquire():
            self._store.update(
                record,
                status="dead-lettered",
                reason="cancelled",
                detail=f"subscription {record.subscription!r} was deleted before it was sent",
            )
            return
        try:
            self._store.update(record, status="delivering")
            self._clock.begin()
            delivery = endpoint.sender.deliver(record.payload, event=record.event, key=record.id)
        except Stopped as stop:
            with self._cond:
                self._stopped += 1
            plural = "s" if stop.attempts != 1 else ""
            self._store.update(
                record,
                status="interrupted",
                reason="interrupted",
                detail=f"the server stopped after {stop.attempts} failed attempt{plural}, while "
                f"waiting {stop.waited_for:g} s to retry",
            )
        except R360Error as exc:
            detail = endpoint.subscription.redactor.text(str(exc))
            self._store.update(record, status="dead-lettered", reason="error", detail=detail)
        else:
            self._store.finish(record, delivery)
            logger.info(
                "delivery %s (%s to %s): %s after %d attempt(s)",
                record.id, record.event, record.subscription, record.status, len(record.attempts),
            )  # fmt: skip
        finally:
            endpoint.release()

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop: nothing new starts, retry waits end; returns how many were interrupted.

        Attempts on the wire finish (up to ``timeout`` in all); every delivery not finished by
        then is recorded ``interrupted``, so none is left ``pending`` or ``delivering``.
        """
        with self._cond:
            already = self._closed
            self._closed = True
            drained, self._heap = self._heap, []
            self._cond.notify_all()
        if already:
            return 0
        self._stop.set()
        interrupted = 0
        for job in sorted(drained):
            self._store.update(
                job.record,
                status="interrupted",
                reason="interrupted",
                detail="the server stopped before this delivery started",
            )
            interrupted += 1
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            leftovers = list(self._in_flight.values())
            endpoints, self._endpoints = self._endpoints, []
        for record in leftovers:
            logger.warning("delivery %s was still on the wire at shutdown", record.id)
            self._store.update(
                record,
                status="interrupted",
                reason="interrupted",
                detail=f"an attempt was still on the wire {timeout:g} s after the server stopped",
            )
        for endpoint in endpoints:
            endpoint.close()
        return interrupted + self._stopped + len(leftovers)
