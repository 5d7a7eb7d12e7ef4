"""One bulk run's bookkeeping, whichever engine moves the bytes.

Load runs send up to millions of events, so no engine keeps them: each finished delivery is
counted in a :class:`~mockserver.delivery.summary.SummaryBuilder`, written to the
:class:`~mockserver.delivery.delivery_log.DeliveryLog`, handed to ``on_done`` (one at a time, in
the order they finish) and dropped. A failure on the sender's side (the auth source raising, the
log's disk full, ``on_done`` raising) is kept; the engine stops taking input when
:attr:`BulkRun.failed`, lets the deliveries in flight finish, and :meth:`BulkRun.summary` raises
the first one. Consumer failures never raise: they are attempts.

Both engines (threads on httpx, one event loop on aiohttp) report to the same :class:`BulkRun`,
so they cannot disagree on any of these rules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mockserver.delivery.clock import Clock
from mockserver.delivery.delivery_log import DeliveryLog
from mockserver.delivery.records import Delivery
from mockserver.delivery.summary import Summary, SummaryBuilder

__all__ = ["BulkRun"]


class BulkRun:
    """What a bulk run has done so far; thread-safe."""

    def __init__(
        self,
        *,
        clock: Clock,
        on_done: Callable[[Delivery], None] | None = None,
        log: DeliveryLog | None = None,
        builder: SummaryBuilder | None = None,
    ) -> None:
        self._clock = clock
        self._on_done = on_done
        self._log = log
        self._builder = builder if builder is not None else SummaryBuilder()
        self._lock = threading.Lock()
        self._failures: list[BaseException] = []
        self._started = clock.now()

    @property
    def failed(self) -> bool:
        """A sender-side failure happened: take no more input."""
        return bool(self._failures)

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
