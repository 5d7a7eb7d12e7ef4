"""One subscription as the scheduler sees it, and one attempt of one of its deliveries.

:class:`Endpoint` holds what a subscription's deliveries share: a sender (its credentials, TLS and
retry policy), its pacing and its concurrency limit. :func:`attempt_once` is what a worker thread
does with a claimed delivery: the delivery core's step (:meth:`mockserver.delivery.Sender.attempt`:
headers, ``Retry-After``, dead letters and redaction as everywhere) and nothing else; its
:class:`~mockserver.server.schedule.Settlement` goes back to the dispatcher
(:mod:`~mockserver.server.worker`), which records it.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time

import httpx

from mockserver.delivery.clock import SystemClock
from mockserver.delivery.pacing import TokenBucket
from mockserver.errors import R360Error
from mockserver.server.database import StoreClosed
from mockserver.server.egress import Resolver, connect_guard
from mockserver.server.schedule import Claim, Schedule, Settlement
from mockserver.server.subscriptions import Subscription

__all__ = ["DATABASE_RETRY_S", "Endpoint", "attempt_once"]

logger = logging.getLogger("mockserver.server.worker")


class Endpoint:
    """A subscription with its own sender, pacing and limit; closed once deleted and idle.

    Without an injected ``transport``, the sender's is the network's, guarded
    (:func:`~mockserver.server.egress.connect_guard`: no link-local or metadata address,
    however a name resolves) unless ``allow_link_local``; ``resolver`` replaces DNS in tests.
    """

    def __init__(
        self,
        subscription: Subscription,
        *,
        transport: httpx.BaseTransport | None,
        limit: int,
        allow_link_local: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self.subscription = subscription
        settings = subscription.settings
        assert settings is not None  # made by parse_subscription
        # Attempts on the network go through the egress guard, which sits under the sender's
        # per-attempt deadline; an injected transport (tests) brings its own TLS settings.
        guard = None if transport is not None or allow_link_local else connect_guard(resolver)
        self.sender = settings.sender(
            transport=transport, retry=subscription.retry, connect_guard=guard,
            max_connections=limit,
        )  # fmt: skip
        self.sender.prepare()  # now, not in a worker while other subscriptions wait
        #: The URL as deliveries record it (credentials redacted).
        self.shown_url = subscription.redactor.text(subscription.url)
        rate = subscription.rate
        self.bucket = TokenBucket(rate, SystemClock()) if rate is not None else None
        #: With ``rate``, the least time between two attempts' starts, as the consumer sees
        #: them: the bucket books due times that far apart, but a server running late would
        #: otherwise make two overdue ones back to back.
        self.spacing = 1.0 / rate if rate is not None else 0.0
        #: The dispatcher's: no attempt of this subscription is handed out before this time.
        self.not_before = 0.0
        self._pace_lock = threading.Lock()
        self._last_start = -math.inf
        self.limit = limit
        # The dispatcher's (others only read them): the seqs of its deliveries taken and not
        # recorded yet, how many are being attempted, whether it is failing (see the
        # dispatcher), its failed attempts in a row, and whether it ever answered (a 2xx).
        self.on_wire: set[int] = set()
        self.busy = 0
        self.failing = False
        self.failures = 0
        self.answered = False
        self.proven = False
        #: When its earliest waiting delivery is due, as far as the dispatcher knows.
        self.head: float | None = None
        self.deleted = False
        #: Deleted through the API and made through it: its saved settings go with its
        #: waiting deliveries, in one transaction (:meth:`Schedule.cancel`).
        self.forget = False
        self.closed = False

    @property
    def id(self) -> str:
        return self.subscription.id

    def close(self) -> None:
        self.closed = True
        self.sender.close()

    def pace(self) -> None:
        """With ``rate``: wait until ``spacing`` after the last attempt's start.

        The dispatcher hands attempts out ``spacing`` apart already; this absorbs a worker
        that took the previous one late (a wait of milliseconds, never the spacing itself).
        """
        if not self.spacing:
            return
        with self._pace_lock:
            wait = self._last_start + self.spacing - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_start = time.monotonic()


def attempt_once(claim: Claim, endpoint: Endpoint, schedule: Schedule) -> Settlement:
    """Make attempt ``claim.attempt_count + 1`` of ``claim``; never raises."""
    try:
        return _attempt(claim, endpoint, schedule)
    except StoreClosed:  # stopped while it was on the wire: it is made again at the next start
        return Settlement(claim, None, None)
    except sqlite3.OperationalError as exc:  # the file is busy (the sqlite3 shell): not a bug
        _database_busy(claim, exc)
        return Settlement(claim, None, None, due_at=time.time() + DATABASE_RETRY_S)
    except Exception:  # a bug: keep the worker alive, and the delivery final
        logger.exception("delivery %s: unexpected error in the worker", claim.id)
        detail = "internal error in the server; see its log"
        return Settlement(claim, None, "dead-lettered", reason="error", detail=detail)


#: How long a delivery whose row could not be read (``database is locked``) waits to be tried.
DATABASE_RETRY_S = 1.0
_busy_logged = threading.Event()


def _database_busy(claim: Claim, exc: sqlite3.OperationalError) -> None:
    """Say it once while it lasts, without a traceback (a shell holding a lock for minutes would
    otherwise fill the log): the delivery stays due, untried, and is tried again in a moment."""
    if _busy_logged.is_set():
        logger.debug("delivery %s: the state database: %s; tried again", claim.id, exc)
        return
    _busy_logged.set()
    logger.warning(
        "delivery %s: the state database: %s; it is tried again in %g s (said once while it lasts)",
        claim.id, exc, DATABASE_RETRY_S,
    )  # fmt: skip


def _attempt(claim: Claim, endpoint: Endpoint, schedule: Schedule) -> Settlement:
    sender = endpoint.sender
    body, earlier = schedule.load(claim)
    if _busy_logged.is_set():  # the episode is over: the next one is said again
        _busy_logged.clear()
        logger.info("the state database answers again")
    delivery = sender.start(body, event=claim.event, key=claim.id)
    delivery.attempts = earlier
    endpoint.pace()
    try:
        delay = sender.attempt(delivery, claim.attempt_count + 1)
    except R360Error as exc:  # the sender's own failure (its auth source), not the consumer's
        detail = endpoint.subscription.redactor.text(str(exc))
        return Settlement(claim, None, "dead-lettered", reason="error", detail=detail)
    attempt = delivery.attempts[-1]
    if delay is None:
        logger.info(
            "delivery %s (%s to %s): %s after %d attempt(s)", claim.id, claim.event,
            claim.subscription, delivery.status, attempt.number,
        )  # fmt: skip
        return Settlement(
            claim, attempt, delivery.status, policy=delivery.policy,
            reason=delivery.reason, detail=delivery.detail,
        )  # fmt: skip
    if endpoint.deleted:
        detail = f"subscription {claim.subscription!r} was deleted before its next attempt"
        return Settlement(
            claim, attempt, "dead-lettered", policy=delivery.policy,
            reason="cancelled", detail=detail,
        )  # fmt: skip
    return Settlement(
        claim, attempt, "delivering", due_at=time.time() + delay,
        policy=delivery.policy,
    )  # fmt: skip
