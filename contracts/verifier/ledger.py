"""Reading a consumer's idempotency ledger the way its webhook is reached.

The ledger (``{"processed": [{"event", "id", "count"}]}``) is how ``idempotency`` learns whether
a duplicate was *processed* twice, which HTTP cannot show. It is read like the target:

* on the target's origin (a ``/path``, or a URL with the same scheme, host and port) with the
  same credentials, headers and TLS setting as deliveries, so a ledger behind the webhook's auth
  works; on another origin with the TLS setting only (credentials never travel to a host they
  were not configured for);
* bounded: at most :data:`MAX_LEDGER_BYTES`, within the read timeout and the run's remaining
  budget, whatever the server drips;
* an answer that cannot be used (401/403, another status, not JSON, too big, no answer) is a
  :class:`LedgerProblem` with the reason and the fix, which ``idempotency`` reports as
  ``inconclusive``: never as "not processed at all".
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

import httpx

from contracts.verifier.context import CheckContext
from mockserver.delivery.deadline import attempt_deadline
from mockserver.delivery.headers import RequestHeaders, default_headers
from mockserver.delivery.httpx_deadline import deadline_transport
from mockserver.delivery.tls import classify_transport_error

__all__ = ["MAX_LEDGER_BYTES", "LedgerProblem", "ledger_count"]

#: A ledger of a test run is a few KiB; a megabyte is far past any honest one.
MAX_LEDGER_BYTES = 1024 * 1024


class LedgerProblem(Exception):
    """The ledger could not be read; the message says why and what to do."""


def ledger_count(ctx: CheckContext, url: str, event: str, resource_id: str) -> int:
    """How many times the ledger at ``url`` says ``(event, resource_id)`` was processed."""
    data = _read(ctx, url)
    try:
        entries = data["processed"]
        return sum(
            int(entry.get("count", 0))
            for entry in entries
            if entry.get("id") == resource_id and entry.get("event", event) in (event, _verb(event))
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise LedgerProblem(
            f'the ledger at {_shown(ctx, url)} is not {{"processed": [{{"event", "id", '
            '"count"}]}: answer in the reference consumer\'s format'
        ) from None


def _verb(event: str) -> str:
    """``transaction.create`` -> ``create``: ledgers may key by the body's ``event`` value."""
    return event.rpartition(".")[2]


def _shown(ctx: CheckContext, url: str) -> str:
    return ctx.redactor.text(url)


def _read(ctx: CheckContext, url: str) -> Any:
    target = ctx.target
    base = httpx.URL(target.url)
    absolute = base.join(url) if url.startswith("/") else httpx.URL(url)
    same_origin = (absolute.scheme, absolute.host, absolute.port) == (
        base.scheme, base.host, base.port,
    )  # fmt: skip
    plain = default_headers()  # a GET: no body to describe, JSON wanted back
    del plain["Content-Type"]
    plain["Accept"] = "application/json"
    headers = (
        RequestHeaders(ctx.settings.headers, auth=ctx.auth, redactor=ctx.redactor, base=plain)()
        if same_origin
        else plain
    )
    seconds = min(ctx.options.timeout_s, max(ctx.remaining_s(), 0.1))
    request = httpx.Request("GET", absolute, headers=headers)
    shown = _shown(ctx, str(absolute))
    try:
        status, body = _get(ctx, request, seconds)
    except httpx.HTTPError as exc:
        reason = ctx.redactor.text(classify_transport_error(exc).message)
        raise LedgerProblem(f"the ledger at {shown} could not be read ({reason})") from None
    if status in (401, 403):
        how = (
            "it was sent the configured credentials and headers; check that the ledger takes them"
            if same_origin
            else "credentials are sent only to the webhook's origin; serve the ledger there"
        )
        raise LedgerProblem(f"the ledger at {shown} answered {status}: {how}")
    if not 200 <= status < 300:
        raise LedgerProblem(f"the ledger at {shown} answered {status}; expected 200 with JSON")
    try:
        return json.loads(body)
    except ValueError:
        raise LedgerProblem(f"the ledger at {shown} did not answer JSON") from None


def _get(ctx: CheckContext, request: httpx.Request, seconds: float) -> tuple[int, bytes]:
    transport = ctx.target.transport
    with ExitStack() as stack:
        if transport is None:
            transport = stack.enter_context(
                deadline_transport(verify=ctx.settings.verify, limits=httpx.Limits())
            )
            stack.enter_context(attempt_deadline(seconds))
        # A client would close an in-process transport the run still needs; send through it bare.
        request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()
        response = transport.handle_request(request)
        try:
            body = bytearray()
            # An in-process transport may hand over a body it already read (nothing to bound).
            chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
            for chunk in chunks:
                body += chunk
                if len(body) > MAX_LEDGER_BYTES:
                    raise LedgerProblem(
                        f"the ledger at {_shown(ctx, str(request.url))} is larger than "
                        f"{MAX_LEDGER_BYTES // 1024} KiB; keep it to the test run's deliveries"
                    )
        finally:
            response.close()
        return response.status_code, bytes(body)
