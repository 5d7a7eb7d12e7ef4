"""The httpx engine: moves a delivery's bytes through one :class:`httpx.Client` (STYLE.md §11).

Every single delivery and every bulk run on an injected client or transport (a WSGI app, a mock,
``serve``'s sink) goes through here: any transport, any clock. It decides nothing: headers come
from the :class:`~mockserver.delivery.core.DeliveryCore`, attempts are recorded by the
:mod:`~mockserver.delivery.recorder`, and the core settles them.

What is left is moving bytes: no redirects followed, no cookies kept, and memory bounded: the
answer is streamed and only the first ``body_limit`` bytes are read, *raw* (the sender asks for
``identity``, and a consumer that compresses anyway is not inflated: a 200 KB gzip body can
inflate to 200 MB). On the network each attempt also gets a deadline
(:mod:`~mockserver.delivery.deadline`).

A bulk run uses a thread per delivery in flight, sharing the one client (its pool grown to the
concurrency); a retry sleeps in its thread. For bulk sends to the real network the aiohttp engine
is faster (:mod:`~mockserver.delivery.aiohttp_engine`).
"""

from __future__ import annotations

import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from mockserver.delivery.bulk import BulkEngine, BulkRun
from mockserver.delivery.core import DeliveryCore
from mockserver.delivery.deadline import AttemptDeadline, attempt_deadline
from mockserver.delivery.httpx_deadline import ConnectGuard, deadline_transport
from mockserver.delivery.pacing import Pacer
from mockserver.delivery.recorder import AttemptRecorder
from mockserver.delivery.records import Attempt, Delivery
from mockserver.delivery.retry import Verdict
from mockserver.delivery.tls import classify_transport_error
from mockserver.errors import DeliveryError

__all__ = ["HttpxEngine"]


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: each attempt is stateless, as Record360's sender is."""
    return CookieJar(DefaultCookiePolicy(allowed_domains=[]))


class HttpxEngine(BulkEngine):
    """Sends a core's deliveries with httpx; owns its client unless one was injected.

    Besides a bulk run (:class:`~mockserver.delivery.bulk.BulkEngine`), it is the engine of
    single deliveries and of ``serve``'s scheduler (:meth:`exchange`): any transport, any clock.
    """

    name = "httpx"

    def __init__(
        self,
        core: DeliveryCore,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 10,
        connect_guard: ConnectGuard | None = None,
    ) -> None:
        self._core = core
        self._connect_guard = connect_guard
        timeouts = core.timeouts
        self._timeout = httpx.Timeout(
            connect=timeouts.connect,
            read=timeouts.read,
            write=timeouts.read,
            pool=None,  # waiting for a pooled connection is the sender's business, not a failure
        )
        self._transport = transport
        self._verify = verify
        self._owns_client = client is None
        self._lock = threading.Lock()
        self._retired: list[httpx.Client] = []
        self._connections = max_connections
        self._client = client if client is not None else self._new_client(max_connections)

    @property
    def on_network(self) -> bool:
        """The engine owns its client and talks to the network (no injected transport)."""
        return self._owns_client and self._transport is None

    def _new_client(self, connections: int) -> httpx.Client:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = self._transport
        if transport is None:  # the network: each attempt gets a deadline
            transport = deadline_transport(
                verify=self._verify, limits=limits, guard=self._connect_guard
            )
        return httpx.Client(
            transport=transport,
            verify=self._verify,
            timeout=self._timeout,
            limits=limits,
            follow_redirects=False,
            cookies=_no_cookies(),
        )

    def close(self) -> None:
        """Close the client if the engine created it (and any it retired)."""
        if self._owns_client:
            with self._lock:
                clients, self._retired = [*self._retired, self._client], []
            for client in clients:
                client.close()

    # -- one attempt, one delivery -------------------------------------------------------------

    def exchange(self, delivery: Delivery, number: int) -> tuple[Attempt, Verdict]:
        """Send attempt ``number`` of ``delivery`` once and record it (never raises for the
        consumer's behaviour; raises :class:`DeliveryError` for the sender's own failures)."""
        core = self._core
        headers = core.attempt_headers(delivery)
        client = self._client
        if client.is_closed:
            raise DeliveryError(f"delivery {delivery.id}: the sender's HTTP client is closed")
        request = client.build_request(
            "POST", core.url, content=delivery.body, headers=headers, timeout=self._timeout
        )
        recorder = core.recording.begin(number, request.headers.items())
        with ExitStack() as stack:
            limit = None
            if self.on_network:
                limit = stack.enter_context(attempt_deadline(core.timeouts.attempt))
            try:
                response = client.send(request, stream=True, follow_redirects=False)
            except Exception as exc:  # consumer behaviour is recorded, never raised
                _failed(recorder, exc, limit)
                return recorder.finish()
            try:
                recorder.answered(response.status_code, response.headers.items())
                _read_excerpt(recorder, response, core.recording.body_limit, limit)
            finally:
                response.close()
        return recorder.finish()

    def deliver(self, payload: Any, *, event: str, key: str | None = None) -> Delivery:
        """Send one event, retrying as the policy says (sleeping on the core's clock)."""
        core = self._core
        delivery = core.start(payload, event, key)
        number = 1
        while (delay := core.settle(delivery, *self.exchange(delivery, number))) is not None:
            core.clock.sleep(delay)
            number += 1
        return delivery

    # -- many deliveries -----------------------------------------------------------------------

    def run(self, run: BulkRun, *, concurrency: int, pacer: Pacer | None) -> None:
        """Deliver ``run``'s items with at most ``concurrency`` in flight (threads).

        A semaphore is the window: an item is taken from the run only when there is room for
        it, so memory stays flat and a stopped run hands out nothing more.
        """
        self._ensure_connections(concurrency)
        window = threading.Semaphore(concurrency)

        def one(event: str, payload: Any) -> None:
            try:
                run.finish(self.deliver(payload, event=event))
            except Exception as exc:
                run.fail(exc)
            finally:
                window.release()

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="r360-deliver") as pool:
            while True:
                window.acquire()
                item = run.next_item()
                if item is None:
                    window.release()
                    break
                if pacer is not None:
                    pacer.acquire()
                pool.submit(one, *item)

    def _ensure_connections(self, concurrency: int) -> None:
        """Size the pool of an owned client to the concurrency (one shared client, new pool).

        The old client is retired, not closed, so a delivery running on it in another thread
        finishes normally; :meth:`close` closes it with the rest.
        """
        with self._lock:
            if self._owns_client and concurrency > self._connections:
                self._retired.append(self._client)
                self._client = self._new_client(concurrency)
                self._connections = concurrency


def _failed(recorder: AttemptRecorder, exc: BaseException, limit: AttemptDeadline | None) -> None:
    failure = classify_transport_error(exc)
    if failure.kind == "timeout" and limit is not None and limit.expired:
        recorder.cut_off(limit.seconds)
    else:
        recorder.failed(failure)


def _read_excerpt(
    recorder: AttemptRecorder,
    response: httpx.Response,
    limit: int,
    deadline: AttemptDeadline | None,
) -> None:
    """Keep the first ``body_limit`` bytes; stop reading there so memory stays bounded.

    A broken body (reset, bad chunking, the deadline) is recorded as an error on the attempt,
    but the status line already decided the outcome: a 2xx that was received is delivered.
    """
    excerpt = bytearray()
    truncated = False
    # As sent: a Content-Encoding is not undone. (An in-process transport may hand over a
    # response whose body it already read; then there is nothing left to bound.)
    chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
    try:
        for chunk in chunks:
            room = limit - len(excerpt)
            if len(chunk) > room:
                excerpt += chunk[:room]
                truncated = True
                break
            excerpt += chunk
    except Exception as exc:  # a consumer that breaks mid-answer is recorded, never raised
        _failed(recorder, exc, deadline)
    recorder.excerpt(excerpt, truncated=truncated)
