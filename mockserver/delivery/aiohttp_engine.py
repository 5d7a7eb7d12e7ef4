"""The bulk engine for network targets: the sender's deliveries on asyncio and aiohttp.

Why a second engine: measured against nginx on loopback (``bench/send.py``), the httpx thread
pool peaks near 2,800 deliveries/s at one connection and *drops* as connections are added (the
pool's O(n^2) scan, encode/httpx#3215), while one aiohttp event loop sends five times that.

Why the semantics cannot drift: this module decides nothing. The :class:`~mockserver.delivery.
Sender` starts each delivery, builds its headers per attempt (the auth source is called every
time) and settles each attempt (:meth:`~mockserver.delivery.Sender._settle`: classification,
schedule, ``Retry-After`` and its cap, dead-letter reasons); results are the same
:class:`~mockserver.delivery.records.Attempt` records, redacted by the same
:class:`~mockserver.redaction.Redactor`, counted by the same
:class:`~mockserver.delivery.summary.SummaryBuilder` and logged by the same
:class:`~mockserver.delivery.delivery_log.DeliveryLog`. What is left here is moving bytes the way
:mod:`mockserver.delivery.httpx_engine` does: the same headers on the wire, no redirects, no cookies, the
connect and read timeouts, TLS from the same :class:`ssl.SSLContext` httpx would use, only
the first ``body_limit`` bytes of an answer read, and read raw (no ``Content-Encoding`` undone),
error texts cut alike (:func:`~mockserver.delivery.tls.clip`), and a ``101 Switching Protocols`` nobody
asked for refused as the protocol error h11 makes of it on httpx.

Scheduling: ``concurrency`` workers pull the input lazily and run first attempts; an attempt
holds one of ``concurrency`` slots (and so one connection) only while it is on the wire. A retry
is handed to its own task that waits with :func:`asyncio.sleep` holding nothing, so one slow
consumer's schedule never stalls the rest; at most ``PENDING_PER_SLOT * concurrency`` deliveries
are unfinished at once (memory stays flat when every attempt fails), then the input waits.
"""

from __future__ import annotations

import asyncio
import importlib
import ssl
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from mockserver.delivery.clock import Clock
from mockserver.delivery.deadline import deadline_message
from mockserver.delivery.delivery_log import DeliveryLog
from mockserver.delivery.pacing import Pacer
from mockserver.delivery.records import Attempt, Delivery
from mockserver.delivery.retry import Verdict, classify_status, parse_retry_after
from mockserver.delivery.summary import Summary, SummaryBuilder
from mockserver.delivery.tls import TransportFailure, clip, tls_failure_of
from mockserver.redaction import Redactor

__all__ = [
    "PENDING_PER_SLOT",
    "AioTarget",
    "classify_aiohttp_error",
    "deliver_many_aio",
    "loop_factory",
    "loop_name",
]

#: Unfinished deliveries (most of them waiting to retry) allowed per unit of concurrency.
PENDING_PER_SLOT = 16

_T = TypeVar("_T")
#: What is sent (shared by the attempts that send the same headers) and its redacted record.
_Wire = tuple[dict[str, str], dict[str, str]]
#: Distinct request header sets remembered (body lengths mostly); the cache starts over beyond.
_HEADER_CACHE_SIZE = 4096
_PRESET = frozenset({"host", "accept", "connection", "content-length"})


@dataclass(frozen=True, slots=True)
class AioTarget:
    """What the engine needs from a :class:`~mockserver.delivery.Sender` (its ``_aio_target``)."""

    url: str
    #: The ``Host`` header as httpx sends it (``host`` or ``host:port``).
    host: str
    ssl: ssl.SSLContext
    connect_timeout: float
    read_timeout: float
    #: Seconds the whole attempt may take (see :mod:`mockserver.delivery.deadline`).
    deadline: float
    body_limit: int
    redactor: Redactor
    clock: Clock
    #: ``(payload, event) -> Delivery``: encodes the body once, assigns the id.
    start: Callable[[Any, str], Delivery]
    #: The sender's headers plus fresh credentials, for one attempt.
    headers: Callable[[Delivery], dict[str, str]]
    #: Records an attempt; returns the delay before the next one, or ``None`` when finished.
    settle: Callable[[Delivery, Attempt, Verdict], float | None]


def deliver_many_aio(
    target: AioTarget,
    payloads: Iterable[tuple[str, Any]],
    *,
    concurrency: int,
    bucket: Pacer | None,
    on_done: Callable[[Delivery], None] | None = None,
    log: DeliveryLog | None = None,
) -> Summary:
    """Run the deliveries on a fresh event loop; blocks like the thread engine does.

    Called from a thread that already runs a loop (async code), the run gets a thread of its
    own, since a loop cannot be nested.
    """
    run = _Run(target, iter(payloads), concurrency, bucket, on_done, log)
    return _run_sync(run.main)


def _run_sync(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(main)
    with ThreadPoolExecutor(1, thread_name_prefix="r360-aio") as pool:
        return pool.submit(_run, main).result()


def _run(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main())


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (about 10 % more deliveries/s), else asyncio's."""
    try:
        uvloop = importlib.import_module("uvloop")  # optional: no stubs needed when absent
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: the event loop the engine runs on here (for reports)."""
    return "asyncio" if loop_factory() is None else "uvloop"


class _Run:
    def __init__(
        self,
        target: AioTarget,
        items: Iterator[tuple[str, Any]],
        concurrency: int,
        bucket: Pacer | None,
        on_done: Callable[[Delivery], None] | None,
        log: DeliveryLog | None,
    ) -> None:
        self._target = target
        self._items = items
        self._concurrency = concurrency
        self._bucket = bucket
        self._on_done = on_done
        self._log = log
        self._builder = SummaryBuilder()
        self._failures: list[Exception] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._pending = asyncio.Semaphore(concurrency * PENDING_PER_SLOT)
        self._session: aiohttp.ClientSession
        # Redacted header records, reused while the redactor's generation holds (see _headers).
        self._generation = -1
        self._request_cache: dict[tuple[tuple[tuple[str, str], ...], int], _Wire] = {}
        self._response_cache: tuple[Any, dict[str, str]] | None = None

    async def main(self) -> Summary:
        target = self._target
        connector = aiohttp.TCPConnector(limit=self._concurrency, ssl=target.ssl)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,  # waiting for a pooled connection is not the consumer's fault
            sock_connect=target.connect_timeout,
            sock_read=target.read_timeout,
        )
        started = target.clock.now()
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            auto_decompress=False,  # the sender asks for identity; a compressed answer stays so
        ) as session:
            self._session = session
            await asyncio.gather(*(self._worker() for _ in range(self._concurrency)))
            while self._retries:
                await asyncio.gather(*self._retries)
        if self._failures:
            raise self._failures[0]
        return self._builder.build(elapsed_s=target.clock.now() - started)

    async def _worker(self) -> None:
        while not self._failures:
            await self._pending.acquire()
            try:
                item = next(self._items, None)
                if item is not None:
                    if self._bucket is not None and (wait := self._bucket.reserve()) > 0:
                        await asyncio.sleep(wait)
                    event, payload = item
                    delivery = self._target.start(payload, event)
            except Exception as exc:
                self._fail(exc)
                item = None
            if item is None:
                self._pending.release()
                return
            await self._attempts(delivery, 1)

    async def _attempts(self, delivery: Delivery, number: int) -> None:
        """Attempt ``number``; settle it; finish, or leave the retry to a task of its own."""
        try:
            async with self._slots:
                attempt, verdict = await self._exchange(delivery, number)
            delay = self._target.settle(delivery, attempt, verdict)
        except Exception as exc:  # the sender's side failed (the auth source raised)
            self._fail(exc)
            self._pending.release()
            return
        if delay is None:
            self._finish(delivery)
            return
        task = asyncio.create_task(self._retry(delivery, number + 1, delay))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, delivery: Delivery, number: int, delay: float) -> None:
        await asyncio.sleep(delay)  # holds no slot and no connection
        await self._attempts(delivery, number)

    def _finish(self, delivery: Delivery) -> None:
        try:
            self._builder.add(delivery)
            if self._log is not None:
                self._log.write(delivery)
            if self._on_done is not None:
                self._on_done(delivery)
        except Exception as exc:
            self._fail(exc)
        finally:
            self._pending.release()

    def _fail(self, exc: Exception) -> None:
        self._failures.append(exc)

    async def _exchange(self, delivery: Delivery, number: int) -> tuple[Attempt, Verdict]:
        """One POST, recorded like :func:`mockserver.delivery.httpx_engine.exchange` records it."""
        target = self._target
        redactor = target.redactor
        wire, recorded = self._request_headers(target.headers(delivery), len(delivery.body))
        attempt = Attempt(
            number=number,
            started_at=target.clock.now(),
            duration_s=0.0,
            request_headers=recorded,
        )
        began = time.perf_counter()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + target.deadline  # the whole attempt (mockserver.delivery.deadline)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._session.post(
                    target.url, data=delivery.body, headers=wire, allow_redirects=False
                )
        except Exception as exc:  # consumer behaviour is recorded, never raised
            if isinstance(exc, TimeoutError) and loop.time() >= deadline:
                _cut_off(attempt, target.deadline)
            else:
                _record_error(attempt, exc, redactor)
            attempt.duration_s = time.perf_counter() - began
            return attempt, "retry"
        if response.status == 101:  # aiohttp hands over the upgraded connection; httpx refuses
            response.close()
            attempt.error_kind = "protocol"
            attempt.error_message = _UNASKED_UPGRADE
            attempt.duration_s = time.perf_counter() - began
            return attempt, "retry"
        try:
            attempt.status = response.status
            attempt.response_headers = self._response_headers(response)
            retry_after = response.headers.get("Retry-After")
            if retry_after is not None:
                attempt.retry_after_s = parse_retry_after(retry_after, target.clock.now())
            if not response.content.at_eof():  # a 204 or an empty body needs no read
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._read_excerpt(attempt, response)
                except TimeoutError:  # the status line decided; the body was cut off
                    _cut_off(attempt, target.deadline)
        finally:
            response.release()  # closes the connection instead when the body was not read out
            attempt.duration_s = time.perf_counter() - began
        return attempt, classify_status(response.status)

    def _fresh_cache(self) -> None:
        """Drop the cached header records when the redactor learnt a secret or header name."""
        generation = self._target.redactor.generation
        if generation != self._generation:
            self._generation = generation
            self._request_cache.clear()
            self._response_cache = None

    def _request_headers(self, headers: dict[str, str], length: int) -> _Wire:
        """The wire headers and their redacted record (a copy of its own for each attempt).

        Both depend only on ``headers``, ``length`` and the redactor's secrets, so a header set
        seen before (static credentials, none at all) is not rebuilt; a fresh JWT, which makes
        the redactor learn a secret, starts over.
        """
        self._fresh_cache()
        key = (tuple(headers.items()), length)
        cached = self._request_cache.get(key)
        if cached is None:
            wire = self._wire_headers(headers, length)
            record = self._target.redactor.headers({k.lower(): v for k, v in wire.items()})
            if len(self._request_cache) >= _HEADER_CACHE_SIZE:
                self._request_cache.clear()
            cached = self._request_cache[key] = (wire, record)
        wire, record = cached
        return wire, dict(record)

    def _response_headers(self, response: aiohttp.ClientResponse) -> dict[str, str]:
        """The answer's headers, joined and redacted; the last answer's record is reused when
        the raw headers are the same (they are parsed from them, so the record is too)."""
        self._fresh_cache()
        raw = response.raw_headers
        cached = self._response_cache
        if cached is None or cached[0] != raw:
            cached = self._response_cache = (
                raw,
                self._target.redactor.headers(_joined(response.headers)),
            )
        return dict(cached[1])

    def _wire_headers(self, headers: dict[str, str], length: int) -> dict[str, str]:
        """The request headers in httpx's order and spelling, so both engines record the same."""
        wire = {"Host": self._target.host, "Accept": "*/*", "Connection": "keep-alive"}
        for name, value in headers.items():
            lowered = name.lower()
            if lowered in _PRESET:  # the sender's own value replaces the preset one
                for existing in [k for k in wire if k.lower() == lowered]:
                    del wire[existing]
            wire[name] = value
        wire["Content-Length"] = str(length)
        return wire

    async def _read_excerpt(self, attempt: Attempt, response: aiohttp.ClientResponse) -> None:
        """Keep the first ``body_limit`` bytes and read at most one byte more (to know)."""
        limit = self._target.body_limit
        excerpt = bytearray()
        try:
            while len(excerpt) < limit:
                chunk = await response.content.read(limit - len(excerpt))
                if not chunk:
                    break
                excerpt += chunk
            else:
                attempt.body_truncated = bool(await response.content.read(1))
        except Exception as exc:  # a consumer that breaks mid-answer is recorded, never raised
            _record_error(attempt, exc, self._target.redactor)
        finally:  # also when the attempt's deadline cancels the read
            text = excerpt.decode("utf-8", errors="replace")
            attempt.body_excerpt = self._target.redactor.text(text)


def _joined(headers: Any) -> dict[str, str]:
    """Lower-cased names, repeated headers joined with ``, `` (as ``httpx.Headers.items()``)."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


_UNASKED_UPGRADE = (
    "RemoteProtocolError: 101 Switching Protocols answered a request that asked for no upgrade"
)


def _cut_off(attempt: Attempt, seconds: float) -> None:
    attempt.error_kind = "timeout"
    attempt.error_message = deadline_message(seconds)
    attempt.tls_failure = None


def _record_error(attempt: Attempt, exc: BaseException, redactor: Redactor) -> None:
    failure = classify_aiohttp_error(exc)
    attempt.error_kind = failure.kind
    attempt.error_message = clip(redactor.text(failure.message))
    attempt.tls_failure = failure.tls_failure


def classify_aiohttp_error(exc: BaseException) -> TransportFailure:
    """aiohttp's exceptions in the kinds of :func:`mockserver.delivery.tls.classify_transport_error`."""
    tls = tls_failure_of(exc)
    if tls is not None:
        return tls
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TransportFailure("timeout", f"connect timeout: {text}")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return TransportFailure("timeout", f"read timeout: {text}")
    if isinstance(exc, TimeoutError):
        return TransportFailure("timeout", f"request timeout: {text}")
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
        return TransportFailure("connect", f"connection failed: {text}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return TransportFailure("protocol", f"{type(exc).__name__}: {text}")
    return TransportFailure("error", f"{type(exc).__name__}: {text}")
