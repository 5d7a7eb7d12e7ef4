"""Bulk delivery: a bounded window of deliveries on a thread pool, streamed to a log.

Load runs send up to millions of events, so the runner never materialises them: the input is
pulled one item at a time, at most ``concurrency`` deliveries are in flight (a semaphore is the
window), and each finished delivery is written to the :class:`~mockserver.delivery.delivery_log.DeliveryLog`,
counted in a :class:`~mockserver.delivery.summary.SummaryBuilder`, handed to ``on_done`` and dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from mockserver.delivery.clock import Clock
from mockserver.delivery.delivery_log import DeliveryLog
from mockserver.delivery.pacing import Pacer
from mockserver.delivery.records import Delivery
from mockserver.delivery.summary import Summary, SummaryBuilder

__all__ = ["DeliverFn", "run_bulk"]


class DeliverFn(Protocol):
    def __call__(self, payload: Any, *, event: str, key: str | None = None) -> Delivery: ...


def run_bulk(
    deliver: DeliverFn,
    payloads: Iterable[tuple[str, Any]],
    *,
    concurrency: int,
    bucket: Pacer | None,
    clock: Clock,
    on_done: Callable[[Delivery], None] | None = None,
    log: DeliveryLog | None = None,
) -> Summary:
    """Run ``deliver`` for each ``(event, payload)``; see ``Sender.deliver_many``.

    A sender-side failure (the auth source raising, the log's disk full) stops taking new input,
    lets the in-flight deliveries finish, and is re-raised; consumer failures never raise.
    """
    builder = SummaryBuilder()
    window = threading.Semaphore(concurrency)
    finish_lock = threading.Lock()
    failures: list[Exception] = []

    def run(event: str, payload: Any) -> None:
        try:
            delivery = deliver(payload, event=event)
            builder.add(delivery)
            with finish_lock:
                if log is not None:
                    log.write(delivery)
                if on_done is not None:
                    on_done(delivery)
        except Exception as exc:
            failures.append(exc)
        finally:
            window.release()

    started = clock.now()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="r360-deliver") as pool:
        for event, payload in payloads:
            window.acquire()
            if failures:
                window.release()
                break
            if bucket is not None:
                bucket.acquire()
            pool.submit(run, event, payload)
    if failures:
        raise failures[0]
    return builder.build(elapsed_s=clock.now() - started)
