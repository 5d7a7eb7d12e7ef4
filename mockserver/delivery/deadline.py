"""A deadline for a whole attempt, where httpx and aiohttp only time out each read.

Both clients apply the read timeout to every single read. A consumer that drips its answer, a
byte every few seconds, each under the read timeout, therefore holds an attempt for as long as it
likes: hours with the default 10 s, and with it a thread of ``deliver_many`` or a worker of
``serve`` (whose shutdown waits only a fixed time for attempts on the
wire, on the promise that one lasts at most the connect plus the read timeout).

So the sender gives every attempt on the network a deadline of its connect timeout plus its read
timeout, counted from the attempt's first network operation (waiting for a pooled connection is
the sender's business, not the consumer's). The aiohttp engine wraps the attempt in
:func:`asyncio.timeout_at` from its start (it never waits for a connection: an attempt holds one
of as many slots as the pool has connections). For httpx, whose I/O runs in the calling thread,
the sender's own transport (:mod:`mockserver.delivery.httpx_deadline`, apart so that only the
httpx engine imports httpcore) gets a network backend whose streams shorten each socket timeout
to what is left of the deadline of the attempt running in that thread (:func:`attempt_deadline`).
An answer cut off this way is a ``timeout``; a 2xx whose body is cut off is still delivered, as
with any body that breaks after the status line.

A client or transport injected into the sender (tests, ``serve``'s ``transport``) is used as it
is, without the deadline.

A caller with a time budget of its own (the verifier's ``--max-time``) may also cap every attempt
its thread makes inside a block (:func:`deadline_cap`): no socket operation then waits past that
instant, whatever the timeouts the sender was built with, and one that would is cut off as a
timeout with :data:`CAP_MESSAGE`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "CAP_MESSAGE",
    "AttemptDeadline",
    "attempt_deadline",
    "budget",
    "deadline_cap",
    "deadline_message",
]

_current = threading.local()

#: The error text of a socket operation cut off by a :func:`deadline_cap`.
CAP_MESSAGE = "no answer before the caller's time budget ran out"


def deadline_message(seconds: float) -> str:
    """The error text of an attempt cut off by its deadline."""
    return f"attempt timeout: no complete answer within {seconds:g} s (connect + read timeout)"


class AttemptDeadline:
    """``seconds`` from the first network operation of one attempt."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadline: float | None = None

    def budget(self, timeout: float | None, error: type[Exception]) -> float | None:
        """The socket timeout to use now: ``timeout``, or less when the deadline is nearer."""
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self.seconds
        left = self._deadline - now
        if left <= 0:
            raise error(deadline_message(self.seconds))
        return left if timeout is None else min(timeout, left)

    @property
    def expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[AttemptDeadline]:
    """Give the attempt run in this thread, inside the block, a deadline of ``seconds``."""
    deadline = AttemptDeadline(seconds)
    _current.deadline = deadline
    try:
        yield deadline
    finally:
        _current.deadline = None


@contextmanager
def deadline_cap(at: float) -> Iterator[None]:
    """Inside the block, no socket operation of an attempt in this thread waits past ``at``
    (:func:`time.monotonic`); nested caps keep the earliest."""
    previous: float | None = getattr(_current, "cap", None)
    _current.cap = at if previous is None else min(previous, at)
    try:
        yield
    finally:
        _current.cap = previous


def budget(timeout: float | None, error: type[Exception]) -> float | None:
    """The socket timeout for this thread's attempt now (``timeout`` when it has no deadline
    and no cap)."""
    deadline: AttemptDeadline | None = getattr(_current, "deadline", None)
    value = timeout if deadline is None else deadline.budget(timeout, error)
    cap: float | None = getattr(_current, "cap", None)
    if cap is None:
        return value
    left = cap - time.monotonic()
    if left <= 0:
        raise error(CAP_MESSAGE)
    return left if value is None else min(value, left)
