"""The delivery semantics in one place: start a delivery, build an attempt's headers, settle it.

Behaviour follows DESIGN.md "Delivery semantics" and the Standard Webhooks spec:

* the payload is serialised once, so every attempt sends identical bytes; credentials come from
  the :class:`HeaderSource` *per attempt* (a JWT must be minted fresh, or a retry hours later
  would carry an expired token), and every credential value is registered with the redactor
  (both in :class:`~mockserver.delivery.headers.RequestHeaders`);
* any 2xx is success. Connection errors, timeouts, 5xx and 429 are retried when the policy
  says so, after the delay it gives (:mod:`mockserver.delivery.retry`); 410 Gone stops at once;
  3xx is a failure and is never followed; other statuses are not retried (the consumer answered
  on purpose);
* nothing is dropped: every delivery ends ``delivered`` or ``dead-lettered`` with a reason.

:meth:`DeliveryCore.settle` is the *step* every driver uses: the sender's loop (sleep, attempt
again), the aiohttp engine (a task that waits holding nothing) and ``serve``'s scheduler (the
next attempt becomes a due time in the database). So no driver can disagree on what is retried,
how long a ``Retry-After`` may stretch a delay, or why a delivery died.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.delivery.clock import Clock
from mockserver.delivery.headers import HeaderSource, RequestHeaders
from mockserver.delivery.recorder import Recording
from mockserver.delivery.records import Attempt, Delivery, Reason, encode_payload
from mockserver.delivery.retry import Policy, Verdict
from mockserver.errors import DeliveryError, UsageError
from mockserver.redaction import Redactor

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "DeliveryCore",
    "HeaderSource",
    "Timeouts",
    "describe",
    "new_delivery_id",
    "new_delivery_ids",
]

#: Per-attempt timeouts, in the 5-15 s band of Shopify (5 s), GitHub (10 s) and Svix (15 s).
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-attempt limits in seconds.

    On the network a whole attempt is also cut off after both together (:attr:`attempt`), however
    slowly a consumer drips its answer (:mod:`mockserver.delivery.deadline`).
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    @property
    def attempt(self) -> float:
        return self.connect + self.read


#: The version (4) and variant (RFC 4122) bits of a uuid4, and the bits they replace.
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def new_delivery_id() -> str:
    """``uuid.uuid4().hex``, made the same way (16 bytes of ``os.urandom``) without the
    :class:`uuid.UUID` object: half the cost, on every delivery of a bulk run."""
    value = int.from_bytes(os.urandom(16), "big") & _UUID4_MASK | _UUID4_BITS
    return f"{value:032x}"


def new_delivery_ids(count: int) -> list[str]:
    """``count`` of :func:`new_delivery_id` from one ``os.urandom`` call (one system call for
    an event fanned out to many subscriptions)."""
    data = os.urandom(16 * count)
    return [
        f"{int.from_bytes(data[n : n + 16], 'big') & _UUID4_MASK | _UUID4_BITS:032x}"
        for n in range(0, 16 * count, 16)
    ]


class DeliveryCore:
    """One consumer URL's delivery rules, shared by every engine and driver (see module doc).

    ``url`` must already be checked and carry no user info (:mod:`mockserver.urls`).
    """

    def __init__(
        self,
        url: str,
        *,
        auth: HeaderSource | None,
        headers: Mapping[str, str],
        policy: Policy,
        clock: Clock,
        rng: random.Random,
        redactor: Redactor,
        body_limit: int,
        timeouts: Timeouts,
    ) -> None:
        self.url = url
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.redactor = redactor
        self.timeouts = timeouts
        self.recording = Recording(clock=clock, redactor=redactor, body_limit=body_limit)
        self._headers = RequestHeaders(headers, auth=auth, redactor=redactor)
        self._shown_url = redactor.text(url)

    def start(self, payload: Any, event: str, key: str | None = None) -> Delivery:
        """A new delivery of ``payload`` (encoded once); ``key`` is the id (a redelivery's)."""
        try:
            body = encode_payload(payload)
        except (TypeError, ValueError) as exc:
            message = f"payload for event {event!r} is not JSON-serialisable: {exc}"
            raise UsageError(message) from exc
        return Delivery(
            id=key or new_delivery_id(),
            event=event,
            payload=payload,
            url=self._shown_url,
            policy=self.policy.name,
            body=body,
        )

    def attempt_headers(self, delivery: Delivery) -> dict[str, str]:
        """The headers of the next attempt (:class:`~mockserver.delivery.headers.
        RequestHeaders`); a failing auth source is the sender's failure, not the consumer's."""
        try:
            return self._headers()
        except Exception as exc:
            raise DeliveryError(
                f"delivery {delivery.id}: the auth header source failed: "
                f"{self.redactor.text(str(exc))}"
            ) from exc

    def settle(self, delivery: Delivery, attempt: Attempt, verdict: Verdict) -> float | None:
        """Record ``attempt``; end the delivery, or return the seconds to wait before the next."""
        delivery.attempts.append(attempt)
        if verdict == "delivered":
            delivery.status = "delivered"
            return None
        if verdict != "retry":
            self._dead_letter(delivery, verdict, _refusal(attempt, verdict))
            return None
        delay = self.policy.delay_after(delivery, attempt, self.rng)
        if delay is None:
            why = self.policy.why_stopped(delivery, attempt)
            self._dead_letter(delivery, "exhausted", f"{why}; last: {describe(attempt)}")
            return None
        attempt.delay_s = delay
        return delay

    def _dead_letter(self, delivery: Delivery, reason: Reason, detail: str) -> None:
        delivery.status = "dead-lettered"
        delivery.reason = reason
        delivery.detail = self.redactor.text(detail)


def _refusal(attempt: Attempt, verdict: Verdict) -> str:
    status = attempt.status
    if verdict == "gone":
        return "410 Gone: the consumer asked to stop (Standard Webhooks: disable the endpoint)"
    if verdict == "redirect":
        location = attempt.response_headers.get("location")
        where = f" to {location}" if location else ""
        return f"status {status}{where}: redirects are not followed (3xx is a failure)"
    return f"status {status}: not retried (only 5xx, 429 and network errors are)"


def describe(attempt: Attempt) -> str:
    """The answer in words: ``status 500`` or ``connect: connection failed: ...``."""
    if attempt.status is not None:
        return f"status {attempt.status}"
    return f"{attempt.error_kind}: {attempt.error_message}"
