"""The mock Record360 sender: POST an event, retry as large senders do, record every attempt.

:class:`Sender` is the face of the delivery package: it holds one
:class:`~mockserver.delivery.core.DeliveryCore` (what a delivery *means*: headers, retries, dead
letters), chooses the engine that moves its bytes and delegates: an
:class:`~mockserver.delivery.httpx_engine.HttpxEngine` for single deliveries and any injected
client or transport, and for bulk sends to the real network an
:class:`~mockserver.delivery.aiohttp_engine.AioEngine`. Both implement
:class:`~mockserver.delivery.bulk.BulkEngine`, record through the same recorder and take their
input from the same :class:`~mockserver.delivery.bulk.BulkRun` (``tests/test_fast_delivery.py``
runs the same assertions on both).

The sender talks to exactly one seam per engine (STYLE.md §11): an :class:`httpx.Client` you
pass, a transport (``httpx.WSGITransport``, ``httpx.MockTransport``), or nothing for the real
network. Time comes from an injected :class:`~mockserver.delivery.clock.Clock`, randomness from
an injected :class:`random.Random`, so a 75-hour schedule runs in milliseconds in a test.

User input (a URL with credentials in it, an ``--auth`` SPEC, ``env:`` header values) reaches a
sender through :func:`mockserver.settings.delivery_settings`, the one place that turns it into
credentials and a redactor. A library caller who passes a URL with user info gets the same
treatment, through the same function (:meth:`mockserver.urls.WebhookUrl.delivery_auth`): Basic
credentials whose secrets the redactor knows, never a header the HTTP client adds behind the
redactor's back.
"""

from __future__ import annotations

import os
import random
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from mockserver.delivery.bulk import BulkEngine, BulkRun
from mockserver.delivery.clock import Clock, SystemClock
from mockserver.delivery.core import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DeliveryCore,
    HeaderSource,
    Timeouts,
)
from mockserver.delivery.delivery_log import DeliveryLog
from mockserver.delivery.headers import USER_AGENT
from mockserver.delivery.pacing import Pacer, TokenBucket
from mockserver.delivery.records import Delivery
from mockserver.delivery.retry import Policy, parse_retry
from mockserver.delivery.summary import Summary, SummaryBuilder
from mockserver.delivery.tls import verify_setting
from mockserver.errors import UsageError
from mockserver.redaction import Redactor
from mockserver.urls import parse_webhook_url

if TYPE_CHECKING:
    from mockserver.delivery.aiohttp_engine import AioEngine
    from mockserver.delivery.httpx_deadline import ConnectGuard
    from mockserver.delivery.httpx_engine import HttpxEngine

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "ENGINES",
    "MAX_CONCURRENCY",
    "MAX_TIMEOUT_S",
    "USER_AGENT",
    "Engine",
    "HeaderSource",
    "Sender",
    "check_concurrency",
]

#: How much of each answer is kept; the rest is never read (a consumer may answer 10 MB).
DEFAULT_BODY_LIMIT = 2048

#: Which engine runs :meth:`Sender.deliver_many`: ``httpx`` (threads on the sender's client, any
#: transport, any clock), ``aiohttp`` (the real network only) or ``auto`` (aiohttp whenever it
#: may be used, see :meth:`Sender.engine_for`).
Engine = Literal["auto", "httpx", "aiohttp"]
ENGINES: tuple[Engine, ...] = ("auto", "httpx", "aiohttp")


#: The longest per-attempt timeout (ten minutes: far past any sender's 5-15 s), and the most
#: deliveries in flight at once (a thread each on the httpx engine).
MAX_TIMEOUT_S = 600.0
MAX_CONCURRENCY = 4096


def _positive(name: str, value: float) -> float:
    if not 0 < value <= MAX_TIMEOUT_S:  # also refuses NaN and infinities
        raise UsageError(f"{name} {value!r} must be a number of seconds > 0 and <= 600")
    return float(value)


def check_concurrency(value: int, option: str = "concurrency") -> int:
    """``value`` deliveries in flight, from 1 to :data:`MAX_CONCURRENCY`."""
    if not 1 <= value <= MAX_CONCURRENCY:
        raise UsageError(f"{option} {value!r} must be from 1 to {MAX_CONCURRENCY}")
    return value


class Sender:
    """Delivers webhook events to one consumer URL.

    :param url: the consumer endpoint (``http://`` or ``https://``); user info becomes ``auth``.
    :param client: an :class:`httpx.Client` to send with; the caller keeps ownership. Configure
        TLS on it yourself (``ca_bundle``/``insecure``/``verify`` are refused alongside it).
    :param transport: a transport for the sender's own client (WSGI app, mock, real network).
    :param connect_guard: wraps the network backend of the sender's own client (it may refuse a
        connection); the sender's network still, with its per-attempt deadline.
    :param auth: a :class:`HeaderSource`; called once per attempt.
    :param headers: extra headers sent on every attempt.
    :param retry: a retry policy (:class:`~mockserver.delivery.retry.RetryPolicy`, the verifier's
        :class:`~mockserver.delivery.throttle.ThrottleRetry`) or a ``--retry`` string.
    :param connect_timeout: seconds to connect; ``read_timeout``: seconds any read may wait. On
        the network, a whole attempt is also cut off after both together.
    :param ca_bundle: PEM file of CA certificates to trust instead of the default store.
    :param insecure: skip certificate verification (warns once).
    :param verify: an already loaded TLS setting (what the settings factory hands over; it warns
        about ``insecure`` itself, once per entry point), instead of ``ca_bundle``/``insecure``.
    :param clock: where time comes from (:class:`~mockserver.delivery.clock.FakeClock` in tests).
    :param rng: randomness for jitter (seed it in tests).
    :param redactor: secrets to hide in records; the auth headers' values are added to it.
    :param body_limit: bytes of each answer kept in ``Attempt.body_excerpt``.
    :param max_connections: connection pool size; :meth:`deliver_many` grows it to its
        concurrency when the sender owns its client.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        auth: HeaderSource | None = None,
        headers: Mapping[str, str] | None = None,
        retry: Policy | str = "standard",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        ca_bundle: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        verify: ssl.SSLContext | bool | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        redactor: Redactor | None = None,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_connections: int = 10,
        connect_guard: ConnectGuard | None = None,
    ) -> None:
        checked = parse_webhook_url(url, option="target URL")
        redactor = redactor if redactor is not None else Redactor()
        auth = checked.delivery_auth(auth, redactor, option="target URL", auth_option="auth")
        if body_limit < 0:
            raise UsageError(f"body_limit {body_limit!r} must be a number of bytes >= 0")
        if max_connections < 1:
            raise UsageError(f"max_connections {max_connections!r} must be at least 1")
        tls_given = ca_bundle is not None or insecure or verify is not None
        if client is not None and (transport is not None or tls_given):
            raise UsageError(
                "a client was passed together with a transport or TLS settings; "
                "configure those on the client, or pass them without a client"
            )
        if transport is not None and tls_given:
            raise UsageError(
                "ca_bundle, insecure and verify apply to the default network transport only; "
                "configure TLS on the transport you pass"
            )
        if verify is not None and (ca_bundle is not None or insecure):
            raise UsageError("pass verify, or ca_bundle/insecure, not both")
        self._url = checked.url
        self._core = DeliveryCore(
            checked.url,
            auth=auth,
            headers=headers or {},
            policy=parse_retry(retry) if isinstance(retry, str) else retry,
            clock=clock if clock is not None else SystemClock(),
            rng=rng if rng is not None else random.Random(),
            redactor=redactor,
            body_limit=body_limit,
            timeouts=Timeouts(
                _positive("connect timeout", connect_timeout),
                _positive("read timeout", read_timeout),
            ),
        )
        if verify is None:
            verify = verify_setting(ca_bundle, insecure) if client is None else True
        self._verify = verify
        self._aiohttp_engine: AioEngine | None = None
        self._client = client
        self._transport = transport
        if connect_guard is not None and (client is not None or transport is not None):
            raise UsageError(
                "connect_guard guards the sender's own network; pass no client or transport"
            )
        #: Wraps the network backend of the sender's own httpx client (``serve``'s egress
        #: guard): it stays the sender's network, with its deadline and its wording.
        self._connect_guard = connect_guard
        self._max_connections = max_connections
        self._httpx_engine: HttpxEngine | None = None
        self._engine_lock = threading.Lock()
        self._closed = False

    @property
    def _httpx(self) -> HttpxEngine:
        """The httpx engine, made on first use: a bulk run on aiohttp never needs it, and making
        it (its client, its TLS context, httpcore) costs a command's start 0.1 s."""
        engine = self._httpx_engine
        if engine is None:
            with self._engine_lock:
                if self._httpx_engine is None:
                    from mockserver.delivery.httpx_engine import HttpxEngine

                    self._httpx_engine = HttpxEngine(
                        self._core,
                        client=self._client,
                        transport=self._transport,
                        verify=self._verify,
                        max_connections=self._max_connections,
                        connect_guard=self._connect_guard,
                    )
                    if self._closed:  # made after close(): closed too, so it refuses as one
                        self._httpx_engine.close()
                engine = self._httpx_engine
        return engine

    def prepare(self) -> None:
        """Make the httpx engine now rather than at the first attempt.

        Its client and TLS context cost about 30 ms of CPU. A command pays that once, but
        ``serve`` holds a sender per subscription: made lazily, 50 of them cost 1.5 s of the
        first attempts, under the GIL, while a healthy subscription waits (``make bench``'s
        isolation row went from 1.9x to 300x).
        """
        _ = self._httpx

    @property
    def url(self) -> str:
        return self._url

    @property
    def policy(self) -> Policy:
        return self._core.policy

    @property
    def redactor(self) -> Redactor:
        return self._core.redactor

    @property
    def clock(self) -> Clock:
        return self._core.clock

    def close(self) -> None:
        """Close the client if the sender created it."""
        with self._engine_lock:
            self._closed = True
            engine = self._httpx_engine
        if engine is not None:
            engine.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- one delivery ------------------------------------------------------------------------

    def deliver(self, payload: Any, *, event: str, key: str | None = None) -> Delivery:
        """Send one event, retrying on the policy's schedule (sleeping on the clock).

        ``key`` becomes the delivery id (for a redelivery, pass the original id); otherwise a
        fresh uuid4 hex. Returns the finished record, ``delivered`` or ``dead-lettered``.
        """
        return self._httpx.deliver(payload, event=event, key=key)

    def start(self, payload: Any, *, event: str, key: str | None = None) -> Delivery:
        """A delivery not yet attempted, for a driver that schedules attempts itself."""
        return self._core.start(payload, event, key)

    def attempt(self, delivery: Delivery, number: int) -> float | None:
        """One attempt of ``delivery``, settled: ``None`` when it ended (see
        ``delivery.status``), else the seconds to wait before attempt ``number + 1``.

        The step ``serve``'s scheduler runs: a delivery waiting for its next attempt holds no
        thread, only a due time.
        """
        return self._core.settle(delivery, *self._httpx.exchange(delivery, number))

    # -- many deliveries ---------------------------------------------------------------------

    def deliver_many(
        self,
        payloads: Iterable[tuple[str, Any]],
        *,
        concurrency: int,
        rate: float | None = None,
        burst: int = 1,
        on_done: Callable[[Delivery], None] | None = None,
        log: DeliveryLog | None = None,
        engine: Engine = "auto",
        pacer: Pacer | None = None,
        builder: SummaryBuilder | None = None,
    ) -> Summary:
        """Deliver ``(event, payload)`` pairs concurrently; memory stays flat.

        At most ``concurrency`` attempts are in flight; ``rate`` paces delivery *starts* per
        second (``burst`` back to back); the input is consumed lazily; each finished delivery
        goes to ``log`` and ``on_done`` (called one at a time) and is then dropped. A failure on
        the sender's side (the auth source, the log, ``on_done``) stops taking input, lets the
        deliveries in flight finish, and is raised. Returns the :class:`Summary`.

        ``engine`` (see :meth:`engine_for`) picks how, never what. ``pacer`` replaces ``rate``
        and ``burst`` with pacing of the caller's (a load ramp); on the aiohttp engine it must
        wait on the real clock. ``builder`` counts into a summary of the caller's (a share of a
        run split over processes, :meth:`~mockserver.delivery.summary.SummaryBuilder.export`).
        """
        check_concurrency(concurrency)
        if pacer is not None and rate is not None:
            raise UsageError("pass either rate or pacer to deliver_many, not both")
        chosen = self._engine(self.engine_for(engine))
        clock = self._core.clock  # the real one whenever aiohttp was chosen (engine_for)
        if rate is not None:
            pacer = TokenBucket(rate, clock, burst=burst)
        run = BulkRun(payloads, clock=clock, on_done=on_done, log=log, builder=builder)
        chosen.run(run, concurrency=concurrency, pacer=pacer)
        return run.summary()

    def engine_for(self, engine: Engine = "auto") -> Literal["httpx", "aiohttp"]:
        """The engine :meth:`deliver_many` would use for ``engine``.

        ``auto`` means aiohttp when nothing ties this sender to httpx: it owns its client and
        sends to the real network (no client or transport was injected), and the aiohttp engine
        can run here (:func:`~mockserver.delivery.aiohttp_engine.unavailable`: the real clock,
        no proxy, aiohttp installed). Asking for ``aiohttp`` when one of those does not hold
        raises :class:`UsageError` naming it.
        """
        if engine not in ENGINES:
            raise UsageError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
        if engine == "httpx":
            return "httpx"
        if self._client is not None or self._transport is not None:
            blocker: str | None = (
                "a client or transport was injected, and only httpx can send through it"
            )
        elif self._connect_guard is not None:
            blocker = "a connect guard is set, and only the httpx engine applies it"
        else:  # only now: the aiohttp engine's module costs an import of asyncio
            from mockserver.delivery.aiohttp_engine import unavailable

            blocker = unavailable(self._url, self._core.clock)
        if blocker is None:
            return "aiohttp"
        if engine == "auto":
            return "httpx"
        raise UsageError(f"engine 'aiohttp' cannot be used: {blocker}; use engine='httpx'")

    def _engine(self, name: Literal["httpx", "aiohttp"]) -> BulkEngine:
        if name == "httpx":
            return self._httpx
        if self._aiohttp_engine is None:  # kept: it keeps its TLS context between runs
            from mockserver.delivery.aiohttp_engine import AioEngine

            self._aiohttp_engine = AioEngine(self._core, verify=self._verify)
        return self._aiohttp_engine
