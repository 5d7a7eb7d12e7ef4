"""The aiohttp engine: bulk sends to the network on one asyncio event loop.

Why a second engine: measured against nginx on loopback (``bench/send.py``), the httpx thread
pool peaks near 2,800 deliveries/s at one connection and *drops* as connections are added (the
pool's O(n^2) scan, encode/httpx#3215), while one aiohttp event loop sends five times that.

Why the semantics cannot drift: this module decides nothing. The
:class:`~mockserver.delivery.core.DeliveryCore` starts each delivery, builds its headers per
attempt and settles each attempt; the :mod:`~mockserver.delivery.recorder` records it; the
:class:`~mockserver.delivery.bulk.BulkRun` hands out the input (none once the run stopped),
counts, logs and hands each delivery over. What is left here is moving bytes the way
:mod:`~mockserver.delivery.httpx_engine` does: the same headers on the wire (in httpx's order and
spelling), no redirects, no cookies, the connect and read timeouts and the attempt deadline, TLS
from the same :class:`ssl.SSLContext` httpx would use, only the first ``body_limit`` bytes of an
answer read, raw, and a ``101 Switching Protocols`` nobody asked for refused as the protocol
error h11 makes of it on httpx. Besides, this module says when the engine can be used at all
(:func:`unavailable`) and makes its TLS context, so the sender only chooses.

Scheduling: ``concurrency`` workers take items from the run lazily and run first attempts; an
attempt holds one of ``concurrency`` slots (and so one connection) only while it is on the wire.
A retry is handed to its own task that waits with :func:`asyncio.sleep` holding nothing, so one
slow consumer's schedule never stalls the rest; at most ``PENDING_PER_SLOT * concurrency``
deliveries are unfinished at once (memory stays flat when every attempt fails), then the input
waits.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import re
import ssl
import urllib.request
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from mockserver.delivery.bulk import BulkEngine, BulkRun
from mockserver.delivery.clock import Clock, SystemClock
from mockserver.delivery.core import DeliveryCore
from mockserver.delivery.headers import merge_headers
from mockserver.delivery.pacing import Pacer
from mockserver.delivery.recorder import AttemptRecorder
from mockserver.delivery.records import Attempt, Delivery
from mockserver.delivery.retry import Verdict
from mockserver.delivery.tls import TransportFailure, tls_failure_of

if TYPE_CHECKING:  # imported when a run starts: this module must load without it, to say so
    import aiohttp

__all__ = [
    "PENDING_PER_SLOT",
    "AioEngine",
    "classify_aiohttp_error",
    "loop_factory",
    "loop_name",
    "unavailable",
]

#: Unfinished deliveries (most of them waiting to retry) allowed per unit of concurrency.
PENDING_PER_SLOT = 16

_T = TypeVar("_T")
#: Distinct request header sets remembered (body lengths mostly); the cache starts over beyond.
_HEADER_CACHE_SIZE = 4096


def unavailable(url: str, clock: Clock) -> str | None:
    """Why this engine cannot send to ``url`` on ``clock``, or ``None`` when it can.

    It waits in real time, cannot go through a proxy (httpx honours the environment's), and is
    an optional install. (A client or transport injected into a sender ties it to httpx too;
    the sender, which holds them, says so before asking here.)
    """
    if type(clock) is not SystemClock:
        return "the sender runs on an injected clock, and aiohttp waits in real time"
    parsed = httpx.URL(url)
    proxies = urllib.request.getproxies_environment()
    if parsed.scheme in proxies and not urllib.request.proxy_bypass(parsed.host):
        return f"a {parsed.scheme} proxy is set in the environment"
    if importlib.util.find_spec("aiohttp") is None:
        return "aiohttp is not installed (pip install aiohttp)"
    return None


class AioEngine(BulkEngine):
    """Runs a core's bulk deliveries on aiohttp; see the module docstring.

    ``verify`` is the sender's TLS setting; the engine verifies with the very context httpx
    would use (certifi, ``SSL_CERT_FILE``), made at the first ``https`` run and kept (making
    one loads the CA bundle, 20 ms that plain http never uses).
    """

    name = "aiohttp"

    def __init__(self, core: DeliveryCore, *, verify: ssl.SSLContext | bool) -> None:
        self._core = core
        url = httpx.URL(core.url)
        self._host = url.netloc.decode("ascii")  # the Host header as httpx sends it
        self._https = url.scheme == "https"
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self._https:
            return None
        if self._ssl is None:
            verify = self._verify
            self._ssl = (
                verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
            )
        return self._ssl

    def run(self, run: BulkRun, *, concurrency: int, pacer: Pacer | None) -> None:
        """Run the deliveries on a fresh event loop; blocks like the thread engine does.

        Called from a thread that already runs a loop (async code), the run gets a thread of its
        own, since a loop cannot be nested. ``pacer`` must wait on the real clock.
        """
        state = _Run(self._core, self._host, self._ssl_context(), concurrency, pacer, run)
        _run_sync(state.main)


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
        core: DeliveryCore,
        host: str,
        ssl_context: ssl.SSLContext | None,
        concurrency: int,
        pacer: Pacer | None,
        run: BulkRun,
    ) -> None:
        self._core = core
        self._host = host
        self._ssl = ssl_context
        self._concurrency = concurrency
        self._pacer = pacer
        self._book = run
        self._retries: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._pending = asyncio.Semaphore(concurrency * PENDING_PER_SLOT)
        self._session: aiohttp.ClientSession
        self._wire_cache: dict[tuple[tuple[tuple[str, str], ...], int], dict[str, str]] = {}

    async def main(self) -> None:
        import aiohttp

        timeouts = self._core.timeouts
        connector = aiohttp.TCPConnector(
            limit=self._concurrency, ssl=self._ssl if self._ssl is not None else True
        )
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,  # waiting for a pooled connection is not the consumer's fault
            sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )
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

    async def _worker(self) -> None:
        book = self._book
        while True:
            await self._pending.acquire()
            try:
                item = book.next_item()
                if item is not None:
                    if self._pacer is not None and (wait := self._pacer.reserve()) > 0:
                        await asyncio.sleep(wait)
                    event, payload = item
                    delivery = self._core.start(payload, event)
            except Exception as exc:
                book.fail(exc)
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
            delay = self._core.settle(delivery, attempt, verdict)
        except Exception as exc:  # the sender's side failed (the auth source raised)
            self._book.fail(exc)
            self._pending.release()
            return
        if delay is None:
            self._book.finish(delivery)
            self._pending.release()
            return
        task = asyncio.create_task(self._retry(delivery, number + 1, delay))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, delivery: Delivery, number: int, delay: float) -> None:
        await asyncio.sleep(delay)  # holds no slot and no connection
        await self._attempts(delivery, number)

    async def _exchange(self, delivery: Delivery, number: int) -> tuple[Attempt, Verdict]:
        """One POST, recorded by the same recorder as the httpx engine's."""
        core = self._core
        wire = self._wire_headers(core.attempt_headers(delivery), len(delivery.body))
        recorder = core.recording.begin(number, wire)
        loop = asyncio.get_running_loop()
        seconds = core.timeouts.attempt
        deadline = loop.time() + seconds  # the whole attempt (mockserver.delivery.deadline)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._session.post(
                    core.url, data=delivery.body, headers=wire, allow_redirects=False
                )
        except Exception as exc:  # consumer behaviour is recorded, never raised
            if isinstance(exc, TimeoutError) and loop.time() >= deadline:
                recorder.cut_off(seconds)
            else:
                recorder.failed(classify_aiohttp_error(exc))
            return recorder.finish()
        if response.status == 101:  # aiohttp hands over the upgraded connection; httpx refuses
            response.close()
            recorder.failed(TransportFailure("protocol", _UNASKED_UPGRADE))
            return recorder.finish()
        try:
            headers = response.headers
            recorder.answered(response.status, lambda: _joined(headers), key=response.raw_headers)
            if not response.content.at_eof():  # a 204 or an empty body needs no read
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._read_excerpt(recorder, response)
                except TimeoutError:  # the status line decided; the body was cut off
                    recorder.cut_off(seconds)
        finally:
            response.release()  # closes the connection instead when the body was not read out
        return recorder.finish()

    def _wire_headers(self, headers: dict[str, str], length: int) -> dict[str, str]:
        """The request headers in httpx's order and spelling, so both engines record the same.

        They depend only on ``headers`` and ``length``, so a header set seen before (static
        credentials, none at all) is not rebuilt.
        """
        key = (tuple(headers.items()), length)
        wire = self._wire_cache.get(key)
        if wire is None:
            # httpx's own: its client's defaults under the sender's headers (one merge rule).
            wire = merge_headers(
                {"Host": self._host, "Accept": "*/*", "Connection": "keep-alive"},
                headers,
                {"Content-Length": str(length)},
            )
            if len(self._wire_cache) >= _HEADER_CACHE_SIZE:
                self._wire_cache.clear()
            self._wire_cache[key] = wire
        return wire

    async def _read_excerpt(
        self, recorder: AttemptRecorder, response: aiohttp.ClientResponse
    ) -> None:
        """Keep the first ``body_limit`` bytes and read at most one byte more (to know)."""
        limit = self._core.recording.body_limit
        excerpt = bytearray()
        truncated = False
        try:
            while len(excerpt) < limit:
                chunk = await response.content.read(limit - len(excerpt))
                if not chunk:
                    break
                excerpt += chunk
            else:
                truncated = bool(await response.content.read(1))
        except Exception as exc:  # a consumer that breaks mid-answer is recorded, never raised
            recorder.failed(classify_aiohttp_error(exc))
        finally:  # also when the attempt's deadline cancels the read
            recorder.excerpt(excerpt, truncated=truncated)


def _joined(headers: Any) -> dict[str, str]:
    """Lower-cased names, repeated headers joined with ``, `` (as ``httpx.Headers.items()``)."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


_SSL_NOTE = re.compile(r" ssl:\S+")
_UNASKED_UPGRADE = (
    "RemoteProtocolError: 101 Switching Protocols answered a request that asked for no upgrade"
)


def classify_aiohttp_error(exc: BaseException) -> TransportFailure:
    """aiohttp's exceptions in the kinds of :func:`~mockserver.delivery.tls.
    classify_transport_error`."""
    import aiohttp  # loaded already: a run imported it

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
        # aiohttp names its TLS setting even for plain http ("ssl:default"): noise, dropped.
        return TransportFailure("connect", f"connection failed: {_SSL_NOTE.sub('', text)}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return TransportFailure("protocol", f"{type(exc).__name__}: {text}")
    return TransportFailure("error", f"{type(exc).__name__}: {text}")
