"""What a delivery did, attempt by attempt: the data the checks, the log and the server read.

Nothing is silently dropped (DESIGN.md, "Delivery semantics"): a :class:`Delivery` ends either
``delivered`` or ``dead-lettered`` with a ``reason``, and keeps every :class:`Attempt`. The ``id``
is stable across retries, like Standard Webhooks' ``webhook-id``, so consumer idempotency can be
judged. Attempts are recorded already redacted (request and response headers, body excerpt and
error message all pass through :class:`mockserver.redaction.Redactor`), so a record can be printed,
logged or served without leaking the consumer's credentials.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from mockserver.delivery.tls import ErrorKind

__all__ = ["Attempt", "Delivery", "DeliveryStatus", "Reason", "encode_payload"]

DeliveryStatus = Literal["pending", "delivered", "dead-lettered"]
#: Why a delivery was dead-lettered: 410 Gone; a 3xx (not followed); another non-retryable
#: status (4xx); or every attempt of the retry policy failed.
Reason = Literal["gone", "redirect", "rejected", "exhausted"]


def encode_payload(payload: Any) -> bytes:
    """Compact JSON, UTF-8: serialised once per delivery so every attempt sends the same bytes.

    Bytes are taken as already-encoded JSON and sent unchanged: the bulk generator
    (``contracts.bulk``) makes bodies as bytes so that a load run never re-serialises them.
    """
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(slots=True)
class Attempt:
    """One HTTP attempt. Either ``status`` is set (an answer came) or ``error_kind`` is."""

    number: int
    #: Unix time (from the sender's clock) when the attempt started.
    started_at: float
    duration_s: float
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    #: The first bytes of the answer as sent (a ``Content-Encoding`` is not undone), decoded as
    #: UTF-8 with replacement, redacted.
    body_excerpt: str = ""
    body_truncated: bool = False
    error_kind: ErrorKind | None = None
    #: Redacted, then cut to :data:`mockserver.delivery.tls.MAX_ERROR_TEXT` characters.
    error_message: str | None = None
    #: For ``error_kind == "tls"``: which check failed (:data:`~mockserver.delivery.tls.
    #: TLS_FAILURES`).
    tls_failure: str | None = None
    #: ``Retry-After`` of the answer in seconds from the attempt, when present and valid.
    retry_after_s: float | None = None
    #: Seconds the sender waited after this attempt before the next one (``None``: last attempt).
    delay_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "request_headers": dict(self.request_headers),
            "status": self.status,
            "response_headers": dict(self.response_headers),
            "body_excerpt": self.body_excerpt,
            "body_truncated": self.body_truncated,
            "error_kind": self.error_kind,
            "error_message": self.error_message,
            "tls_failure": self.tls_failure,
            "retry_after_s": self.retry_after_s,
            "delay_s": self.delay_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        return cls(
            number=int(data["number"]),
            started_at=float(data["started_at"]),
            duration_s=float(data["duration_s"]),
            request_headers=dict(data["request_headers"]),
            status=data.get("status"),
            response_headers=dict(data.get("response_headers") or {}),
            body_excerpt=data.get("body_excerpt", ""),
            body_truncated=bool(data.get("body_truncated", False)),
            error_kind=cast("ErrorKind | None", data.get("error_kind")),
            error_message=data.get("error_message"),
            tls_failure=data.get("tls_failure"),
            retry_after_s=data.get("retry_after_s"),
            delay_s=data.get("delay_s"),
        )

    @property
    def outcome(self) -> str:
        """The status code as text, or the error kind: the key of the summary histogram."""
        return str(self.status) if self.status is not None else str(self.error_kind)


@dataclass(slots=True)
class Delivery:
    """One event sent to one URL, with every attempt and the final status."""

    id: str
    event: str
    payload: Any
    url: str
    #: Name of the :class:`~mockserver.delivery.retry.RetryPolicy` in force.
    policy: str
    attempts: list[Attempt] = field(default_factory=list)
    status: DeliveryStatus = "pending"
    reason: Reason | None = None
    #: One line explaining ``reason`` (which status, which error, how many attempts).
    detail: str | None = None
    #: The exact bytes sent on every attempt.
    body: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not self.body:
            self.body = encode_payload(self.payload)

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (one line of the delivery log); secrets were redacted on record.

        A body sent as bytes is shown parsed; bytes that are not JSON (a replayed capture may
        hold a BOM, or bytes that are not UTF-8) are shown as ``body_b64`` with a null payload.
        """
        payload, raw = self.payload, None
        if isinstance(payload, bytes):
            try:
                payload = json.loads(self.body)
            except ValueError:
                payload, raw = None, base64.b64encode(self.body).decode("ascii")
        line = {
            "id": self.id,
            "event": self.event,
            "url": self.url,
            "policy": self.policy,
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "payload": payload,
            "attempts": [a.to_json() for a in self.attempts],
        }
        if raw is not None:
            line["body_b64"] = raw
        return line

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        """Rebuild a record from :meth:`to_json` output (for example a delivery-log line)."""
        return cls(
            id=str(data["id"]),
            event=str(data["event"]),
            payload=data["payload"],
            url=str(data["url"]),
            policy=str(data["policy"]),
            attempts=[Attempt.from_json(a) for a in data.get("attempts", [])],
            status=cast("DeliveryStatus", data["status"]),
            reason=cast("Reason | None", data.get("reason")),
            detail=data.get("detail"),
        )
