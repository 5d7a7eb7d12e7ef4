"""A hostile webhook consumer on loopback: seeded faults per request, and its own record.

A raw-socket HTTP/1.1 server (``127.0.0.1``, port 0, one thread per connection) that reads each
request completely and then answers it with a *fault* drawn at random: reproducibly, because the
draw for the n-th arrival of a body is ``random.Random(f"{seed}:{key}:{n}")``, whatever the
interleaving of concurrent requests. ``key`` is the body's resource id (:func:`resource_key`),
which :class:`contracts.bulk.BulkGenerator` makes unique per body. A fixed ``fault=`` answers
every request the same way instead.

It keeps its own record, independent of the sender's log. Each arrival ends in one of:

``accepted``   the consumer took the event and its 2xx status line and headers were written in
               full: the sender must see the 2xx and record the delivery ``delivered``;
``ambiguous``  the consumer took the event, but no answer the sender can read got out (it reset
               the connection, held the request past the sender's read timeout, or broke off
               inside the status line): the sender must record a transport error (``timeout`` or
               ``protocol``) and try again, so the event may reach the consumer twice;
``refused``    the consumer did not take the event (an error status, or a fault before
               processing): it must not count, and the sender must retry or dead-letter.

Faults (``processes``: the event is taken before the fault happens):

=================  ==========  ================================================================
fault              processes   what the consumer does
=================  ==========  ================================================================
``ok``             yes         2xx (200, 201, 202 or 204) at once
``slow``           yes         2xx after ``slow`` seconds (under the sender's read timeout)
``500`` ``503``    no          that status, with a small body
``400``            no          400: the sender must dead-letter at once (``rejected``)
``429``            no          429 without ``Retry-After``
``429-ra``         no          429 with ``Retry-After: 0`` or ``1``
``reset``          no          resets the connection (RST) without answering
``close``          no          closes the connection (FIN) without answering
``timeout``        no          holds the request until the sender gives up (read timeout)
``late-ok``        yes         takes it, holds past the sender's read timeout, then answers 2xx
``ok-then-reset``  yes         takes it, then resets the connection without answering
``half-status``    yes         takes it, writes part of a status line (``HTTP/1.1 20``), closes
``half-body``      yes         a complete 2xx head, then closes mid-body (the sender decides on
                               the status line, so this is ``accepted``; the attempt records
                               the broken body as a ``protocol`` error)
=================  ==========  ================================================================

Fixed faults for the "faults in our own tool" tests (not in the soak mix): ``garbage`` (bytes
that are not HTTP, then close), ``garbage-stream`` (endless non-HTTP bytes), ``garbage-echo`` (a
long non-HTTP line with the request's ``Authorization`` value 400 bytes in), ``redirect-loop``
(302 to the very same URL), ``huge-body`` (a 2xx with a ``huge_bytes`` body, streamed),
``huge-chunked`` (the same, chunked, no length), ``gzip-bomb`` (a 2xx whose gzip body inflates
to ``huge_bytes``, although the sender asked for ``identity``), ``upgrade`` (101 Switching
Protocols to a plain POST), ``never`` (never answers), ``trickle`` (a 2xx head dripped one byte
at a time, each under the read timeout).

Which outcome a held or slow answer has is decided by what the consumer observed, not assumed:
a ``late-ok`` is ``ambiguous`` only once it saw the sender close the connection; a 2xx whose
write failed, or whose sender was already gone, is ``ambiguous`` too. A write that succeeds
proves only that the bytes reached the sender's kernel, not that the sender was still reading:
each arrival notes when its answer began (``answered_at``) so that a check holding it against
the sender's log can tell an answer written after the sender could have given up.

Every wait is bounded (``hold_cap``, socket timeouts, an idle limit per connection) and
:meth:`Hostile.stop` ends every thread; exceptions in the server itself are re-raised on exit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import httpx

from contracts import schemas

__all__ = [
    "AMBIGUOUS_FAULTS",
    "FAULTS",
    "FIXED_FAULTS",
    "LOOPBACK",
    "SOAK_MIX",
    "Arrival",
    "Hostile",
    "PeakRss",
    "ShortTimeouts",
    "payload_key",
    "resource_key",
    "rss_mb",
]

LOOPBACK = "127.0.0.1"

Outcome = Literal["accepted", "ambiguous", "refused"]

#: The soak's mix: relative weights per attempt (about 55 % answer 2xx, 44 % fail retryably).
SOAK_MIX: Mapping[str, int] = {
    "ok": 40,
    "slow": 6,
    "half-body": 2,
    "500": 6,
    "503": 5,
    "429": 4,
    "429-ra": 4,
    "reset": 4,
    "close": 3,
    "timeout": 2,
    "late-ok": 2,
    "ok-then-reset": 3,
    "half-status": 3,
    "400": 1,
}
#: Faults that take the event and then keep the answer from the sender.
AMBIGUOUS_FAULTS = frozenset({"late-ok", "ok-then-reset", "half-status"})
FIXED_FAULTS = frozenset(
    {
        "garbage",
        "garbage-stream",
        "garbage-echo",
        "redirect-loop",
        "huge-body",
        "huge-chunked",
        "gzip-bomb",
        "upgrade",
        "never",
        "trickle",
    }
)
FAULTS = frozenset(SOAK_MIX) | FIXED_FAULTS

OK_STATUSES = (200, 201, 202, 204)
_REASONS = {
    101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    302: "Found", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
    503: "Service Unavailable",
}  # fmt: skip

#: Blocking socket operations wake this often to notice :meth:`Hostile.stop`.
POLL_S = 0.05
#: A keep-alive connection with no new request for this long is closed.
IDLE_S = 120.0
#: One write of a chunk may take this long before the consumer gives up on the sender.
WRITE_S = 5.0
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
CHUNK = 64 * 1024


def resource_key(body: bytes) -> str:
    """The body's resource id (a v1 event), its ``n`` (test bodies), or a hash of its bytes."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    key = payload_key(payload)
    return key if key is not None else "sha256:" + hashlib.sha256(body).hexdigest()[:16]


def payload_key(payload: object) -> str | None:
    """:func:`resource_key` of a parsed body (a delivery log's ``payload``); ``None``: no key."""
    if not isinstance(payload, dict):
        return None
    event = schemas.event_of(payload)
    if event is not None:
        resource = payload.get(schemas.spec_for(event).resource)
        if isinstance(resource, dict) and "id" in resource:
            return str(resource["id"])
    if "n" in payload:
        return f"n:{payload['n']}"
    return None


@dataclass(slots=True)
class Arrival:
    """One request as the consumer saw it: the n-th arrival of ``key``, and what it did."""

    key: str
    number: int
    fault: str
    outcome: Outcome = "refused"
    #: The status whose line and headers were written in full (``None``: no complete head).
    status: int | None = None
    retry_after: int | None = None
    #: Bytes of body (or garbage) written after the head.
    sent_bytes: int = 0
    #: Unix time when the consumer began writing its status line (``None``: it wrote none).
    answered_at: float | None = None
    #: Monotonic time the request reached the consumer: its connection's accept for the first
    #: request on a connection, else its first byte. Numbers follow the order requests were
    #: *read*, which a starved thread can swap; this follows the order they were *sent*.
    received_at: float = 0.0


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0


class Hostile:
    """The hostile consumer; use as a context manager (``with Hostile(seed=1) as consumer``).

    :param seed: makes the fault of every (body, arrival number) reproducible.
    :param mix: fault name -> weight, for random faults (default :data:`SOAK_MIX`).
    :param fault: one fault for every request instead of a mix.
    :param slow: seconds range of a ``slow`` answer (keep its top under the read timeout).
    :param hold_cap: the longest a held request waits for the sender to give up.
    :param huge_bytes: body size of ``huge-body``, ``huge-chunked``, ``gzip-bomb`` (inflated)
        and ``garbage-stream``.
    :param drip_s: seconds between the bytes of ``trickle``.
    :param key_of: body bytes -> the key the record is kept by.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        mix: Mapping[str, int] | None = None,
        fault: str | None = None,
        slow: tuple[float, float] = (0.02, 0.15),
        hold_cap: float = 20.0,
        huge_bytes: int = 200 * 1024 * 1024,
        drip_s: float = 0.2,
        key_of: Callable[[bytes], str] = resource_key,
    ) -> None:
        weights = dict(mix if mix is not None else SOAK_MIX)
        unknown = sorted({*weights, *([fault] if fault is not None else [])} - FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(FAULTS)}")
        self.seed = seed
        self._fixed = fault
        self._names = list(weights)
        self._weights = list(weights.values())
        self._slow = slow
        self._hold_cap = hold_cap
        self._huge = huge_bytes
        self._drip = drip_s
        self._key_of = key_of
        self._gzip: bytes | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.port = 0
        self.errors: list[BaseException] = []
        #: Every arrival per key, in order (per key, attempts never overlap).
        self.arrivals: dict[str, list[Arrival]] = {}
        self.accepted: Counter[str] = Counter()
        self.ambiguous: Counter[str] = Counter()
        #: Requests per fault kind drawn.
        self.faults: Counter[str] = Counter()
        self.connections = 0
        self.bad_requests = 0

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/webhooks"

    def start(self) -> Hostile:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(256)
        listener.settimeout(POLL_S)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"hostile-{self.port}", daemon=True
        )
        self._acceptor.start()
        if self._fixed == "gzip-bomb":
            self._bomb()  # made before any request, so that a test's memory window misses it
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, end every connection thread (within ``timeout`` in all)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            self.errors.append(RuntimeError(f"connection threads still running: {alive}"))

    def __enter__(self) -> Hostile:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None and self.errors:
            raise self.errors[0]

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being handled, so the record is complete."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self._busy} request(s) still handled after {timeout} s")
                self._idle.wait(left)

    # -- the record ----------------------------------------------------------------------------

    def outcomes(self) -> Counter[str]:
        """Arrivals by outcome: accepted, ambiguous, refused."""
        with self._lock:
            return Counter(a.outcome for arrivals in self.arrivals.values() for a in arrivals)

    def fault_of(self, key: str, number: int) -> str:
        """The fault the ``number``-th arrival of ``key`` gets (drawn, or the fixed one)."""
        if self._fixed is not None:
            return self._fixed
        return self._rng(key, number).choices(self._names, self._weights)[0]

    def _rng(self, key: str, number: int) -> random.Random:
        return random.Random(f"{self.seed}:{key}:{number}")

    # -- serving -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
                accepted_at = time.monotonic()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(
                target=self._guarded,
                args=(conn, accepted_at),
                name=f"hostile-conn-{self.port}",
                daemon=True,
            )
            with self._lock:
                self.connections += 1
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _guarded(self, conn: socket.socket, accepted_at: float) -> None:
        try:
            with conn:
                conn.settimeout(POLL_S)
                self._connection(conn, accepted_at)
        except Exception as exc:  # a bug in this server, not a fault it plays
            self.errors.append(exc)

    def _connection(self, conn: socket.socket, accepted_at: float) -> None:
        buffer = bytearray()
        first: float | None = accepted_at
        while not self._stop.is_set():
            request = self._read_request(conn, buffer, first)
            first = None  # a later request on this connection: its first byte says when
            if request is None:
                return
            with self._lock:
                self._busy += 1
            try:
                keep_alive = self._answer(conn, request)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
            if not keep_alive:
                return

    def _recv(self, conn: socket.socket) -> bytes | None:
        """Bytes, ``b""`` when the peer is gone, ``None`` when nothing came within POLL_S."""
        try:
            return conn.recv(CHUNK)
        except TimeoutError:
            return None
        except OSError:
            return b""

    def _read_request(
        self, conn: socket.socket, buffer: bytearray, received_at: float | None = None
    ) -> _Request | None:
        deadline = time.monotonic() + IDLE_S
        if received_at is None and buffer:  # pipelined behind the last request
            received_at = time.monotonic()
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > MAX_HEAD or self._stop.is_set() or time.monotonic() > deadline:
                return None
            chunk = self._recv(conn)
            if chunk == b"":
                return None
            if chunk:
                if received_at is None:
                    received_at = time.monotonic()
                buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        try:
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _version = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise ValueError(f"content-length {length}")
        except ValueError:
            with self._lock:
                self.bad_requests += 1
            return None
        body = bytearray(rest)
        deadline = time.monotonic() + WRITE_S
        while len(body) < length:
            if self._stop.is_set() or time.monotonic() > deadline:
                return None
            chunk = self._recv(conn)
            if chunk == b"":
                return None
            if chunk:
                body += chunk
        buffer[:] = body[length:]
        when = received_at if received_at is not None else time.monotonic()
        return _Request(method, target, headers, bytes(body[:length]), when)

    # -- writing -------------------------------------------------------------------------------

    @staticmethod
    def _send(conn: socket.socket, data: bytes) -> bool:
        """Write all of ``data``; ``False`` when the sender went away or stopped reading."""
        try:
            conn.settimeout(WRITE_S)
            conn.sendall(data)
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                conn.settimeout(POLL_S)
        return True

    @staticmethod
    def _head(status: int, headers: Mapping[str, str] = {}) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _respond(
        self, conn: socket.socket, arrival: Arrival, status: int, extra: Mapping[str, str] = {}
    ) -> bool:
        body = b"" if status == 204 else json.dumps({"status": status}).encode()
        headers = {"Content-Type": "application/json", **extra}
        if status != 204:
            headers["Content-Length"] = str(len(body))
        arrival.answered_at = time.time()
        ok = self._send(conn, self._head(status, headers) + body)
        if ok:
            arrival.status = status
        return ok

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        """Close with RST: SO_LINGER on, timeout 0."""
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _gone(self, conn: socket.socket) -> bool:
        """Has the sender closed its end (it gave up)? Looks without consuming anything."""
        try:
            conn.setblocking(False)
            data = conn.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            with contextlib.suppress(OSError):
                conn.settimeout(POLL_S)
        return data == b""

    def _hold(self, conn: socket.socket) -> bool:
        """Wait, answering nothing, until the sender closes; ``False`` after ``hold_cap``."""
        deadline = time.monotonic() + self._hold_cap
        while not self._stop.is_set() and time.monotonic() < deadline:
            chunk = self._recv(conn)
            if chunk == b"":
                return True
        return False

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # -- answering -----------------------------------------------------------------------------

    def _take(self, arrival: Arrival, outcome: Outcome) -> None:
        with self._lock:
            if arrival.outcome == "accepted":
                self.accepted[arrival.key] -= 1
            elif arrival.outcome == "ambiguous":
                self.ambiguous[arrival.key] -= 1
            arrival.outcome = outcome
            if outcome == "accepted":
                self.accepted[arrival.key] += 1
            elif outcome == "ambiguous":
                self.ambiguous[arrival.key] += 1

    def unread(self, arrival: Arrival) -> None:
        """Record that the sender never read ``arrival``'s answer (it had given up first).

        Only a check holding the sender's log against this record can know it; an event the
        consumer took is then ``ambiguous``, and one it refused stays ``refused``.
        """
        arrival.status = None
        if arrival.outcome == "accepted":
            self._take(arrival, "ambiguous")

    def _answer(self, conn: socket.socket, request: _Request) -> bool:
        """Answer one request with its fault; ``True`` to keep the connection for another."""
        key = self._key_of(request.body)
        with self._lock:
            arrivals = self.arrivals.setdefault(key, [])
            number = len(arrivals) + 1
            fault = self.fault_of(key, number)
            arrival = Arrival(key, number, fault, received_at=request.received_at)
            arrivals.append(arrival)
            self.faults[fault] += 1
        rng = self._rng(key, number)
        rng.random()  # the draw of the fault itself
        return FAULT_HANDLERS[fault](self, Answer(conn, arrival, request, rng))

    def _accept(self, conn: socket.socket, arrival: Arrival, status: int) -> bool:
        """Take the event and answer 2xx; ``ambiguous`` when the answer cannot reach the sender."""
        self._take(arrival, "accepted")
        if self._gone(conn) or not self._respond(conn, arrival, status):
            arrival.status = None
            self._take(arrival, "ambiguous")
            return False
        return True

    def _bomb(self) -> bytes:
        """``huge_bytes`` of zeros, gzipped (about a thousandth of the size); made once."""
        with self._lock:
            if self._gzip is None:
                packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
                zeros = bytes(CHUNK)
                parts = [packer.compress(zeros) for _ in range(self._huge // CHUNK)]
                self._gzip = b"".join([*parts, packer.flush()])
            return self._gzip

    def _stream_bytes(self, conn: socket.socket, data: bytes) -> int:
        """Write ``data`` chunk by chunk until done or the sender stops reading."""
        sent = 0
        for start in range(0, len(data), CHUNK):
            if self._stop.is_set() or not self._send(conn, data[start : start + CHUNK]):
                break
            sent += len(data[start : start + CHUNK])
        return sent

    def _stream(self, conn: socket.socket, chunk: bytes, total: int) -> int:
        """Write ``chunk`` until ``total`` bytes went out or the sender stops reading."""
        sent = 0
        while sent < total and not self._stop.is_set():
            if not self._send(conn, chunk):
                break
            sent += len(chunk)
        return sent


@dataclass(frozen=True, slots=True)
class Answer:
    """What a fault's handler answers: the connection, the arrival, the request, its randomness."""

    conn: socket.socket
    arrival: Arrival
    request: _Request
    rng: random.Random


#: One handler per fault, registered once with :func:`fault` (like the verifier's checks); it
#: answers on the connection and returns ``True`` to keep the connection for another request.
Handler = Callable[[Hostile, Answer], bool]
FAULT_HANDLERS: dict[str, Handler] = {}


def fault(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``names``; a name registered twice is refused, naming both."""

    def register(handler: Handler) -> Handler:
        for name in names:
            if name in FAULT_HANDLERS:
                raise ValueError(
                    f"fault {name!r} is handled by {FAULT_HANDLERS[name].__name__} already; "
                    f"rename the one of {handler.__name__}"
                )
            FAULT_HANDLERS[name] = handler
        return handler

    return register


@fault("ok")
def _ok(h: Hostile, a: Answer) -> bool:
    return h._accept(a.conn, a.arrival, a.rng.choice(OK_STATUSES))


@fault("slow")
def _slow(h: Hostile, a: Answer) -> bool:
    h._pause(a.rng.uniform(*h._slow))
    return h._accept(a.conn, a.arrival, a.rng.choice(OK_STATUSES))


@fault("500", "503", "400", "429")
def _status(h: Hostile, a: Answer) -> bool:
    return h._respond(a.conn, a.arrival, int(a.arrival.fault))


@fault("429-ra")
def _throttled_with_retry_after(h: Hostile, a: Answer) -> bool:
    a.arrival.retry_after = a.rng.choice((0, 1))
    return h._respond(a.conn, a.arrival, 429, {"Retry-After": str(a.arrival.retry_after)})


@fault("reset")
def _reset(h: Hostile, a: Answer) -> bool:
    h._reset(a.conn)
    return False


@fault("close")
def _close(h: Hostile, a: Answer) -> bool:
    return False


@fault("timeout", "never")
def _never_answer(h: Hostile, a: Answer) -> bool:
    h._hold(a.conn)
    return False


@fault("late-ok")
def _late_ok(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "ambiguous")
    if not h._hold(a.conn):  # the sender is still waiting: it will get the answer
        h._accept(a.conn, a.arrival, 200)
    return False


@fault("ok-then-reset")
def _ok_then_reset(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "ambiguous")
    h._reset(a.conn)
    return False


@fault("half-status")
def _half_status(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "ambiguous")
    h._send(a.conn, b"HTTP/1.1 20")
    return False


@fault("half-body")
def _half_body(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "accepted")
    head = h._head(200, {"Content-Type": "application/json", "Content-Length": "100"})
    a.arrival.answered_at = time.time()
    if h._send(a.conn, head):
        a.arrival.status = 200
    else:
        h._take(a.arrival, "ambiguous")
    h._send(a.conn, b'{"status": "half a bo')
    return False


@fault("garbage")
def _garbage(h: Hostile, a: Answer) -> bool:
    h._send(a.conn, b"\x16\x03\x01\x00\xa5 SSH-2.0-not-http \xff\xfe\x00\r\n\r\n")
    return False


@fault("garbage-stream")
def _garbage_stream(h: Hostile, a: Answer) -> bool:
    a.arrival.sent_bytes = h._stream(a.conn, b"NOT-HTTP " * (CHUNK // 9), h._huge)
    return False


@fault("garbage-echo")
def _garbage_echo(h: Hostile, a: Answer) -> bool:
    secret = a.request.headers.get("authorization", "").encode("latin-1")
    h._send(a.conn, b"Z" * 400 + secret + b"Z" * 4000)
    return False


@fault("redirect-loop")
def _redirect_loop(h: Hostile, a: Answer) -> bool:
    location = f"http://{LOOPBACK}:{h.port}{a.request.target}"
    return h._respond(a.conn, a.arrival, 302, {"Location": location})


@fault("huge-body")
def _huge_body(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "accepted")
    head = h._head(200, {"Content-Type": "text/plain", "Content-Length": str(h._huge)})
    if h._send(a.conn, head):
        a.arrival.status = 200
        a.arrival.sent_bytes = h._stream(a.conn, b"x" * CHUNK, h._huge)
    return False


@fault("huge-chunked")
def _huge_chunked(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "accepted")
    head = h._head(200, {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
    if h._send(a.conn, head):
        a.arrival.status = 200
        chunk = f"{CHUNK:x}\r\n".encode() + b"y" * CHUNK + b"\r\n"
        a.arrival.sent_bytes = h._stream(a.conn, chunk, h._huge)
    return False


@fault("gzip-bomb")
def _gzip_bomb(h: Hostile, a: Answer) -> bool:
    h._take(a.arrival, "accepted")
    bomb = h._bomb()
    headers = {
        "Content-Type": "text/plain",
        "Content-Encoding": "gzip",
        "Content-Length": str(len(bomb)),
    }
    if h._send(a.conn, h._head(200, headers)):
        a.arrival.status = 200
        a.arrival.sent_bytes = h._stream_bytes(a.conn, bomb)
    return False


@fault("upgrade")
def _upgrade(h: Hostile, a: Answer) -> bool:
    if h._send(a.conn, h._head(101, {"Upgrade": "websocket", "Connection": "Upgrade"})):
        a.arrival.status = 101
    h._hold(a.conn)
    return False


@fault("trickle")
def _trickle(h: Hostile, a: Answer) -> bool:
    head = h._head(200, {"Content-Type": "text/plain", "X-Pad": "z" * 4096})
    deadline = time.monotonic() + h._hold_cap
    for byte in head:
        if h._stop.is_set() or time.monotonic() > deadline:
            break
        if not h._send(a.conn, bytes([byte])):
            break
        h._pause(h._drip)
    return False


# Checked at import, like the checks' registry: every fault named above has exactly one handler.
if set(FAULT_HANDLERS) != FAULTS:
    raise AssertionError(
        f"faults without a handler: {sorted(FAULTS - set(FAULT_HANDLERS))}; "
        f"handlers of unknown faults: {sorted(set(FAULT_HANDLERS) - FAULTS)}"
    )


class ShortTimeouts(httpx.HTTPTransport):
    """The real network, with the sender's per-attempt timeouts replaced by short ones.

    ``serve`` has no timeout setting per subscription (every delivery gets the sender's 5 s
    connect and 10 s read timeouts), so a test that plays a consumer holding requests past the
    read timeout passes this as ``ServerConfig(transport=...)`` to keep its run short.
    """

    def __init__(self, read: float, *, connect: float = 2.0, connections: int = 64) -> None:
        super().__init__(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        )
        self._timeouts = {"connect": connect, "read": read, "write": read, "pool": None}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions["timeout"] = dict(self._timeouts)
        return super().handle_request(request)


def rss_mb() -> float:
    """Resident memory of this process (``VmRSS`` of ``/proc/self/status``), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class PeakRss:
    """The most resident memory seen while the block runs, sampled every 2 ms in a thread."""

    def __init__(self) -> None:
        self.base = self.peak = rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.002):
            self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.base

    def __enter__(self) -> PeakRss:
        self.base = self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_mb())
