"""The mock Record360 sender: one delivery core, two byte movers, every attempt recorded.

Floor 2 (DESIGN.md, "Layers"). The pieces, each with one job:

* :mod:`~mockserver.delivery.core` starts a delivery, builds each attempt's headers and *settles*
  an attempt (delivered, retried after a delay, or dead-lettered): the whole delivery semantics;
* :mod:`~mockserver.delivery.retry` the retry policies (the only owner of a wait), and
  :mod:`~mockserver.delivery.throttle` the verifier's (a 429 waited out within the run's time);
* :mod:`~mockserver.delivery.recorder` turns what happened on the wire into an
  :class:`~mockserver.delivery.records.Attempt`, the same way for both engines;
* :mod:`~mockserver.delivery.bulk` the one bulk run (input, summary, log, ``on_done``, the
  first failure stops it) and the :class:`~mockserver.delivery.bulk.BulkEngine` protocol;
* :mod:`~mockserver.delivery.headers` the one assembly of a request's headers;
* :mod:`~mockserver.delivery.httpx_engine` and :mod:`~mockserver.delivery.aiohttp_engine` only
  move bytes (each also says what it needs: TLS context, when it can run);
* :mod:`~mockserver.delivery.sender`: :class:`Sender`, the face that chooses an engine and
  delegates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import lazy_names

if TYPE_CHECKING:
    from mockserver.delivery.clock import Clock, FakeClock, SystemClock
    from mockserver.delivery.delivery_log import DeliveryLog, read_log
    from mockserver.delivery.records import Attempt, Delivery
    from mockserver.delivery.retry import PRESETS, RetryPolicy, parse_retry
    from mockserver.delivery.sender import Engine, HeaderSource, Sender
    from mockserver.delivery.summary import Summary
    from mockserver.delivery.tls import InsecureTLSWarning

#: Where each public name lives. The package imports a module only when one of its names is
#: asked for (PEP 562), so ``from mockserver.delivery.retry import PRESETS`` (the CLI's help)
#: does not load httpx, aiohttp and Rich with the sender.
_HOMES = {
    "Clock": "clock", "FakeClock": "clock", "SystemClock": "clock",
    "DeliveryLog": "delivery_log", "read_log": "delivery_log",
    "Attempt": "records", "Delivery": "records",
    "PRESETS": "retry", "RetryPolicy": "retry", "parse_retry": "retry",
    "Engine": "sender", "HeaderSource": "sender", "Sender": "sender",
    "Summary": "summary",
    "InsecureTLSWarning": "tls",
}  # fmt: skip


__getattr__ = lazy_names(__name__, _HOMES, globals())


__all__ = [
    "PRESETS",
    "Attempt",
    "Clock",
    "Delivery",
    "DeliveryLog",
    "Engine",
    "FakeClock",
    "HeaderSource",
    "InsecureTLSWarning",
    "RetryPolicy",
    "Sender",
    "Summary",
    "SystemClock",
    "parse_retry",
    "read_log",
]
