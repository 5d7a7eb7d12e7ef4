"""One bulk run, whichever engine moves the bytes: the engine protocol and the run's rules.

Load runs send up to millions of events, so no engine keeps them: each finished delivery is
counted in a :class:`~mockserver.delivery.summary.SummaryBuilder`, written to the
:class:`~mockserver.delivery.delivery_log.DeliveryLog`, handed to ``on_done`` (one at a time, in
the order they finish) and dropped. A failure on the sender's side (the auth source raising, the
log's disk full, ``on_done`` raising) is kept and stops the run: :meth:`BulkRun.next_item` hands
out no more input, the deliveries in flight finish, and :meth:`BulkRun.summary` raises the first
failure. Consumer failures never raise: they are attempts.

An engine (:class:`BulkEngine`: threads on httpx, one event loop on aiohttp) only moves bytes:
it asks the run for the next item whenever it has room, and reports what finished or failed.
So ordering, ``on_done``, the summary, the log and the stop-on-first-error rule live here once,
and the two engines cannot disagree on any of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from mockserver.delivery.clock import Clock
from mockserver.delivery.delivery_log import DeliveryLog
from mockserver.delivery.pacing import Pacer
from mockserver.delivery.records import Delivery
from mockserver.delivery.summary import Summary, SummaryBuilder

__all__ = ["BulkEngine", "BulkRun"]


class BulkRun:
    """One bulk run of ``items`` (``(event, payload)`` pairs, pulled lazily): what it has done
    so far, and whether it goes on; thread-safe."""

    def __init__(
        self,
        items: Iterable[tuple[str, Any]],
        *,
        clock: Clock,
        on_done: Callable[[Delivery], None] | None = None,
        log: DeliveryLog | None = None,
        builder: SummaryBuilder | None = None,
    ) -> None:
        self._items = iter(items)
        self._clock = clock
        self._on_done = on_done
        self._log = log
        self._builder = builder if builder is not None else SummaryBuilder()
        self._lock = threading.Lock()
        self._failures: list[BaseException] = []
        self._started = clock.now()

    def next_item(self) -> tuple[str, Any] | None:
        """The next ``(event, payload)`` to start, or ``None``: the input is done, or a
        sender-side failure stopped the run. An engine asks each time it has room for one more,
        from one thread (or loop) at a time; an error of the input passes through."""
        if self._failures:
            return None
        return next(self._items, None)

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self._failures.append(error)

    def finish(self, delivery: Delivery) -> None:
        """Count, log and hand over a finished delivery; a failure doing so stops the run."""
        with self._lock:
            try:
                self._builder.add(delivery)
                if self._log is not None:
                    self._log.write(delivery)
                if self._on_done is not None:
                    self._on_done(delivery)
            except Exception as exc:
                self._failures.append(exc)

    def summary(self) -> Summary:
        """The totals; raises the first sender-side failure instead, if there was one."""
        if self._failures:
            raise self._failures[0]
        return self._builder.build(elapsed_s=self._clock.now() - self._started)


class BulkEngine(Protocol):
    """What moves a bulk run's bytes (:class:`~mockserver.delivery.httpx_engine.HttpxEngine`,
    :class:`~mockserver.delivery.aiohttp_engine.AioEngine`)."""

    def run(self, run: BulkRun, *, concurrency: int, pacer: Pacer | None) -> None:
        """Deliver every item of ``run`` with at most ``concurrency`` in flight, each start
        booked with ``pacer``; report each finished delivery (:meth:`BulkRun.finish`) and each
        sender-side failure (:meth:`BulkRun.fail`); return when nothing is left in flight."""
        ...
