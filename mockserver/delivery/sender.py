"""The mock Record360 sender: POST an event, retry as large senders do, record every attempt.

Behaviour follows DESIGN.md "Delivery semantics" and the Standard Webhooks spec:

* ``POST`` with ``Content-Type: application/json``; the payload is serialised once, so every
  attempt sends identical bytes; credentials come from a :class:`HeaderSource` *per attempt*
  (a JWT must be minted fresh, or a retry hours later would carry an expired token).
* Any 2xx is success. Connection errors, timeouts, 5xx and 429 are retried on the
  :class:`~mockserver.delivery.retry.RetryPolicy` schedule with jitter, honouring ``Retry-After`` on 429
  and 503 (RFC 9110 §10.2.3, capped as Svix does). 410 Gone stops at once; 3xx is a failure and
  is never followed; other statuses are not retried (the consumer answered on purpose).
* Nothing is dropped: every delivery ends ``delivered`` or ``dead-lettered`` with a reason and all
  its attempts. Consumer behaviour never raises; only bad configuration raises
  :class:`~mockserver.errors.UsageError`.

The sender talks to exactly one seam, an :class:`httpx.Client` (STYLE.md §11): pass one, or a
transport (``httpx.WSGITransport``, ``httpx.MockTransport``), or nothing for the real network.
Time comes from an injected :class:`~mockserver.delivery.clock.Clock`, randomness from an injected
:class:`random.Random`, so a 75-hour schedule runs in milliseconds in a test.

Bulk sends to the real network may run on a second engine, :mod:`mockserver.delivery.aiohttp_engine` (asyncio and
aiohttp), because httpx's pool caps a load run far below what a consumer can take
(``bench/send.py``; encode/httpx#3215). It is the same sender, not a second one: each delivery
is started, given its per-attempt headers and settled by this class (:meth:`Sender._settle` holds
the whole retry policy), and the engine only moves bytes. ``tests/test_fast_delivery.py`` runs
the same assertions on both engines.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import os
import random
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from mockserver.delivery.bulk import run_bulk
from mockserver.delivery.clock import Clock, FakeClock, SystemClock
from mockserver.delivery.deadline import deadline_transport
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.delivery.httpx_engine import exchange
from mockserver.delivery.pacing import Pacer, TokenBucket
from mockserver.delivery.records import Attempt, Delivery, Reason, encode_payload
from mockserver.delivery.retry import (
    PRESETS,
    RETRY_AFTER_STATUSES,
    RetryPolicy,
    Verdict,
    next_delay,
    parse_retry,
)
from mockserver.delivery.summary import Summary
from mockserver.delivery.tls import InsecureTLSWarning, verify_setting
from mockserver.errors import DeliveryError, UsageError
from mockserver.redaction import Redactor

if TYPE_CHECKING:
    from mockserver.delivery.aiohttp_engine import AioTarget

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

#: Per-attempt timeouts, in the 5-15 s band of Shopify (5 s), GitHub (10 s) and Svix (15 s).
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
#: How much of each answer is kept; the rest is never read (a consumer may answer 10 MB).
DEFAULT_BODY_LIMIT = 2048


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("r360-webhooks")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"r360-webhooks/{version}"


USER_AGENT = _user_agent()

#: Which engine runs :meth:`Sender.deliver_many`: ``httpx`` (threads on the sender's client, any
#: transport, any clock), ``aiohttp`` (:mod:`mockserver.delivery.aiohttp_engine`, the real network only) or
#: ``auto`` (aiohttp whenever it may be used, see :meth:`Sender.engine_for`).
Engine = Literal["auto", "httpx", "aiohttp"]
ENGINES: tuple[Engine, ...] = ("auto", "httpx", "aiohttp")


class HeaderSource(Protocol):
    """Credential headers for one attempt (``mockserver.auth`` provides these)."""

    def headers(self) -> dict[str, str]: ...


def _positive(name: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} {value!r} must be a number of seconds > 0")
    return float(value)


def _merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> None:
    """``headers.update(extra)`` with case-insensitive names, so an override replaces."""
    for name, value in extra.items():
        for existing in [k for k in headers if k.lower() == name.lower() and k != name]:
            del headers[existing]
        headers[name] = value


#: The version (4) and variant (RFC 4122) bits of a uuid4, and the bits they replace.
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def _new_id() -> str:
    """``uuid.uuid4().hex``, made the same way (16 bytes of ``os.urandom``) without the
    :class:`uuid.UUID` object: half the cost, on every delivery of a bulk run."""
    value = int.from_bytes(os.urandom(16), "big") & _UUID4_MASK | _UUID4_BITS
    return f"{value:032x}"


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: each attempt is stateless, as Record360's sender is."""
    return CookieJar(DefaultCookiePolicy(allowed_domains=[]))


def _check_url(url: str, redactor: Redactor) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(
            f"target URL {redactor.text(url)!r} is not an absolute http(s) URL; "
            "write it with a scheme and host, e.g. https://consumer.example/webhooks"
        )
    return parsed


class Sender:
    """Delivers webhook events to one consumer URL.

    :param url: the consumer endpoint (``http://`` or ``https://``).
    :param client: an :class:`httpx.Client` to send with; the caller keeps ownership. Configure
        TLS on it yourself (``ca_bundle``/``insecure`` are refused alongside it).
    :param transport: a transport for the sender's own client (WSGI app, mock, real network).
    :param auth: a :class:`HeaderSource`; called once per attempt.
    :param headers: extra headers sent on every attempt.
    :param retry: a :class:`RetryPolicy` or a ``--retry`` string (``standard``, ``custom:0,5``).
    :param connect_timeout: seconds to connect; ``read_timeout``: seconds any read may wait. On
        the network, a whole attempt is also cut off after both together (a consumer dripping
        its answer byte by byte cannot hold it longer; :mod:`mockserver.delivery.deadline`).
    :param ca_bundle: PEM file of CA certificates to trust instead of the default store.
    :param insecure: skip certificate verification (warns once).
    :param clock: where time comes from (:class:`FakeClock` in tests).
    :param rng: randomness for jitter (seed it in tests).
    :param redactor: secrets to hide in records; the auth headers' values are added to it.
    :param body_limit: bytes of each answer kept in :attr:`Attempt.body_excerpt`.
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
        retry: RetryPolicy | str = "standard",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        ca_bundle: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        redactor: Redactor | None = None,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_connections: int = 10,
    ) -> None:
        self._redactor = redactor if redactor is not None else Redactor()
        parsed = _check_url(url, self._redactor)
        if parsed.password:
            self._redactor.add_secret(parsed.password)
        self._url = url
        self._parsed = parsed
        self._policy = parse_retry(retry) if isinstance(retry, str) else retry
        self._timeout = httpx.Timeout(
            connect=_positive("connect timeout", connect_timeout),
            read=_positive("read timeout", read_timeout),
            write=read_timeout,
            pool=None,  # waiting for a pooled connection is the sender's business, not a failure
        )
        if body_limit < 0:
            raise UsageError(f"body_limit {body_limit!r} must be a number of bytes >= 0")
        if max_connections < 1:
            raise UsageError(f"max_connections {max_connections!r} must be at least 1")
        if client is not None and (transport is not None or ca_bundle is not None or insecure):
            raise UsageError(
                "a client was passed together with a transport, ca_bundle or insecure; "
                "configure those on the client, or pass them without a client"
            )
        if transport is not None and (ca_bundle is not None or insecure):
            raise UsageError(
                "ca_bundle and insecure apply to the default network transport only; "
                "configure TLS on the transport you pass"
            )
        self._body_limit = body_limit
        #: No attempt on the network outlasts its connect and read timeouts together, however
        #: slowly the consumer drips its answer (each read alone stays under the read timeout).
        self._deadline = connect_timeout + read_timeout
        self._auth = auth
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # We keep only an excerpt of the answer; a compressed one could expand without bound.
            "Accept-Encoding": "identity",
        }
        _merge_headers(self._headers, headers or {})
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._owns_client = client is None
        self._transport = transport
        self._verify = verify_setting(ca_bundle, insecure) if client is None else True
        self._aio_ssl: ssl.SSLContext | None = None
        self._connections = max_connections
        self._retired: list[httpx.Client] = []
        self._client = client if client is not None else self._new_client(max_connections)

    def _new_client(self, connections: int) -> httpx.Client:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = self._transport
        if (
            transport is None
        ):  # the network: each attempt gets a deadline (mockserver.delivery.deadline)
            transport = deadline_transport(verify=self._verify, limits=limits)
        return httpx.Client(
            transport=transport,
            verify=self._verify,
            timeout=self._timeout,
            limits=limits,
            follow_redirects=False,
            cookies=_no_cookies(),
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    @property
    def clock(self) -> Clock:
        return self._clock

    def close(self) -> None:
        """Close the client if the sender created it."""
        if self._owns_client:
            with self._lock:
                clients, self._retired = [*self._retired, self._client], []
            for client in clients:
                client.close()

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
        delivery = self._start(payload, event, key)
        number = 1
        while (delay := self._settle(delivery, *self._attempt(delivery, number))) is not None:
            self._clock.sleep(delay)
            number += 1
        return delivery

    def _start(self, payload: Any, event: str, key: str | None = None) -> Delivery:
        try:
            body = encode_payload(payload)
        except (TypeError, ValueError) as exc:
            message = f"payload for event {event!r} is not JSON-serialisable: {exc}"
            raise UsageError(message) from exc
        return Delivery(
            id=key or _new_id(),
            event=event,
            payload=payload,
            url=self._redactor.text(self._url),
            policy=self._policy.name,
            body=body,
        )

    def _settle(self, delivery: Delivery, attempt: Attempt, verdict: Verdict) -> float | None:
        """Record ``attempt``; end the delivery, or return the seconds to wait before the next.

        The whole retry policy lives here, and both engines call it, so they cannot disagree on
        what is retried, how long a ``Retry-After`` may stretch a delay, or why a delivery died.
        """
        delivery.attempts.append(attempt)
        if verdict == "delivered":
            delivery.status = "delivered"
            return None
        if verdict != "retry":
            self._dead_letter(delivery, verdict, _refusal(attempt, verdict))
            return None
        number = attempt.number
        if number >= self._policy.max_attempts:
            count = len(delivery.attempts)
            plural = "s" if count != 1 else ""
            detail = (
                f"{count} attempt{plural} failed, retry policy {self._policy.name!r} exhausted; "
                f"last: {_describe(attempt)}"
            )
            self._dead_letter(delivery, "exhausted", detail)
            return None
        honoured = attempt.retry_after_s if attempt.status in RETRY_AFTER_STATUSES else None
        attempt.delay_s = next_delay(self._policy, number, self._rng, honoured)
        return attempt.delay_s

    def _dead_letter(self, delivery: Delivery, reason: Reason, detail: str) -> Delivery:
        delivery.status = "dead-lettered"
        delivery.reason = reason
        delivery.detail = self._redactor.text(detail)
        return delivery

    def _request_headers(self, delivery: Delivery) -> dict[str, str]:
        headers = dict(self._headers)
        if self._auth is not None:
            try:
                credentials = self._auth.headers()
            except Exception as exc:
                raise DeliveryError(
                    f"delivery {delivery.id}: the auth header source failed: "
                    f"{self._redactor.text(str(exc))}"
                ) from exc
            for name, value in credentials.items():
                # Every credential value is a secret, also when a consumer echoes it back; a
                # minted JWT is new each attempt, so it is remembered only while it is recent.
                self._redactor.add_sensitive_header(name)
                self._redactor.add_secret(value, ephemeral=True)
                _scheme, _, token = value.partition(" ")
                if token:
                    self._redactor.add_secret(token, ephemeral=True)
            _merge_headers(headers, credentials)
        return headers

    def _attempt(self, delivery: Delivery, number: int) -> tuple[Attempt, Verdict]:
        headers = self._request_headers(delivery)
        client = self._client
        if client.is_closed:
            raise DeliveryError(f"delivery {delivery.id}: the sender's HTTP client is closed")
        request = client.build_request(
            "POST", self._url, content=delivery.body, headers=headers, timeout=self._timeout
        )
        return exchange(
            client,
            request,
            number=number,
            clock=self._clock,
            redactor=self._redactor,
            body_limit=self._body_limit,
            deadline=self._deadline,
        )

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
    ) -> Summary:
        """Deliver ``(event, payload)`` pairs concurrently; memory stays flat.

        At most ``concurrency`` attempts are in flight; ``rate`` paces delivery *starts* per
        second (``burst`` back to back); the input is consumed lazily; each finished delivery
        goes to ``log`` and ``on_done`` (called one at a time) and is then dropped. A failure on
        the sender's side (the auth source, the log, ``on_done``) stops taking input, lets the
        deliveries in flight finish, and is raised. Returns the :class:`Summary`.

        ``engine`` (see :meth:`engine_for`) picks how, never what: with ``httpx`` the workers
        are threads sharing this sender's client (its pool is grown to match) and a retry sleeps
        in its worker; with ``aiohttp`` one event loop runs the attempts, and a retry waits
        without a connection or a worker while other deliveries go on (up to
        ``16 * concurrency`` unfinished deliveries are held, then the input waits).

        ``pacer`` replaces ``rate`` and ``burst`` with pacing of the caller's (a load ramp, see
        :mod:`mockserver.load`); on the aiohttp engine it must wait on the real clock.
        """
        if concurrency < 1:
            raise UsageError(f"concurrency {concurrency!r} must be at least 1")
        if pacer is not None and rate is not None:
            raise UsageError("pass either rate or pacer to deliver_many, not both")
        chosen = self.engine_for(engine)
        if chosen == "aiohttp":
            from mockserver.delivery.aiohttp_engine import (
                deliver_many_aio,  # aiohttp is imported only when used
            )

            bucket: Pacer | None = pacer
            if rate is not None:
                bucket = TokenBucket(rate, SystemClock(), burst=burst)
            return deliver_many_aio(
                self._aio_target(),
                payloads,
                concurrency=concurrency,
                bucket=bucket,
                on_done=on_done,
                log=log,
            )
        bucket = TokenBucket(rate, self._clock, burst=burst) if rate is not None else pacer
        self._ensure_connections(concurrency)
        return run_bulk(
            self.deliver,
            payloads,
            concurrency=concurrency,
            bucket=bucket,
            clock=self._clock,
            on_done=on_done,
            log=log,
        )

    def engine_for(self, engine: Engine = "auto") -> Literal["httpx", "aiohttp"]:
        """The engine :meth:`deliver_many` would use for ``engine``.

        ``auto`` means aiohttp when nothing ties this sender to httpx: it owns its client and
        sends to the real network (no client or transport was injected), on the real clock, to
        a URL without credentials in it, with no proxy configured for it in the environment,
        and aiohttp is installed. Asking for ``aiohttp`` when one of those does not hold raises
        :class:`UsageError` naming it.
        """
        if engine not in ENGINES:
            raise UsageError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
        if engine == "httpx":
            return "httpx"
        blocker = self._aio_blocker()
        if blocker is None:
            return "aiohttp"
        if engine == "auto":
            return "httpx"
        raise UsageError(f"engine 'aiohttp' cannot be used: {blocker}; use engine='httpx'")

    def _aio_blocker(self) -> str | None:
        if not self._owns_client or self._transport is not None:
            return "a client or transport was injected, and only httpx can send through it"
        if type(self._clock) is not SystemClock:
            return "the sender runs on an injected clock, and aiohttp waits in real time"
        if self._parsed.userinfo:
            return "the URL carries credentials; pass them with auth= instead"
        proxies = urllib.request.getproxies_environment()
        host = self._parsed.host
        if self._parsed.scheme in proxies and not urllib.request.proxy_bypass(host):
            return f"a {self._parsed.scheme} proxy is set in the environment"
        if importlib.util.find_spec("aiohttp") is None:
            return "aiohttp is not installed (pip install aiohttp)"
        return None

    def _aio_target(self) -> AioTarget:
        from mockserver.delivery.aiohttp_engine import AioTarget

        if self._aio_ssl is None:
            verify = self._verify
            # The very context httpx would use (certifi, SSL_CERT_FILE), so both trust the same.
            self._aio_ssl = (
                verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
            )
        return AioTarget(
            url=self._url,
            host=self._parsed.netloc.decode("ascii"),
            ssl=self._aio_ssl,
            connect_timeout=float(self._timeout.connect or DEFAULT_CONNECT_TIMEOUT),
            read_timeout=float(self._timeout.read or DEFAULT_READ_TIMEOUT),
            deadline=self._deadline,
            body_limit=self._body_limit,
            redactor=self._redactor,
            clock=self._clock,
            start=self._start,
            headers=self._request_headers,
            settle=self._settle,
        )

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


def _refusal(attempt: Attempt, verdict: Verdict) -> str:
    status = attempt.status
    if verdict == "gone":
        return "410 Gone: the consumer asked to stop (Standard Webhooks: disable the endpoint)"
    if verdict == "redirect":
        location = attempt.response_headers.get("location")  # httpx lower-cases header names
        where = f" to {location}" if location else ""
        return f"status {status}{where}: redirects are not followed (3xx is a failure)"
    return f"status {status}: not retried (only 5xx, 429 and network errors are)"


def _describe(attempt: Attempt) -> str:
    if attempt.status is not None:
        return f"status {attempt.status}"
    return f"{attempt.error_kind}: {attempt.error_message}"
