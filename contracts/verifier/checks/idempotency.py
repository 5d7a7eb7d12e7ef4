"""``idempotency``: the same delivery twice is acknowledged twice and processed once.

Record360 does not document duplicate suppression, and any sender that retries after a timeout
delivers some events twice. Whether the consumer *processed* one twice is invisible from HTTP, so
the check reads a ledger the consumer exposes: a URL answering the reference consumer's format
(``{"processed": [{"event", "id", "count"}]}``) or a Python callable ``(event, id) -> count``.
"""

from __future__ import annotations

from typing import Any

import httpx

from contracts import schemas
from contracts.verifier.context import CheckContext, accepted, answered, fresh_body
from contracts.verifier.finding import Finding
from contracts.verifier.registry import check
from mockserver.delivery.tls import verify_setting

NAME = "idempotency"
_BODIES = 5


@check(NAME)
def idempotency(ctx: CheckContext) -> Finding:
    ledger = ctx.options.ledger
    if ledger is None:
        return Finding(NAME, "skipped", "no ledger to judge duplicates by (--ledger URL)")
    # A body refused the first time says nothing about duplicates (accepts-valid judges it),
    # so the check takes the first of a few fresh bodies that the consumer accepts.
    for _ in range(_BODIES):
        event, body = fresh_body(ctx, NAME)
        first = ctx.deliver(body, event=event)
        if accepted(first):
            break
    else:
        return Finding(
            NAME,
            "skipped",
            f"refused all {_BODIES} fresh valid bodies (last: {answered(first)}), so duplicates "
            "cannot be judged; see accepts-valid",
            ctx.evidence(first),
        )
    resource_id = body[schemas.spec_for(event).resource]["id"]
    second = ctx.deliver(body, event=event, key=first.id)
    if not accepted(second):
        return Finding(
            NAME,
            "failed",
            f"answered a repeated delivery with {answered(second)}; "
            "a duplicate must be acknowledged with 2xx",
            ctx.evidence(second),
        )
    count = (
        ledger(event, resource_id)
        if callable(ledger)
        else _count_from_url(ctx, ledger, resource_id)
    )
    if count == 1:
        return Finding(NAME, "passed", "acknowledged a duplicate delivery and processed it once")
    message = (
        f"processed the same delivery {count} times; deduplicate by event and resource id"
        if count > 1
        else "the ledger does not show the delivery as processed at all"
    )
    return Finding(NAME, "failed", message, {**ctx.evidence(second), "ledger_count": count})


def _count_from_url(ctx: CheckContext, url: str, resource_id: str) -> int:
    target = ctx.target
    base = httpx.URL(target.url)
    absolute = base.join(url) if url.startswith("/") else httpx.URL(url)
    verify: Any = True
    if not target.in_process:
        verify = False if target.insecure else verify_setting(target.ca_bundle, False)
    if target.transport is not None:
        # The run owns an in-process transport (ctx.close() closes it); a client wrapping it
        # would close it on exit and cut off every later check, so the GET goes through it bare.
        response = target.transport.handle_request(httpx.Request("GET", absolute))
        response.read()
        data = response.json()
    else:
        with httpx.Client(verify=verify, timeout=ctx.options.timeout_s) as client:
            data = client.get(absolute).json()
    return sum(
        int(entry.get("count", 0))
        for entry in data.get("processed", [])
        if entry.get("id") == resource_id
    )
