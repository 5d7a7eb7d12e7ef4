"""``idempotency``: the same delivery twice is acknowledged twice and processed once.

Record360 does not document duplicate suppression, and any sender that retries after a timeout
delivers some events twice. Whether the consumer *processed* one twice is invisible from HTTP, so
the check reads a ledger the consumer exposes: a URL answering the reference consumer's format
(``{"processed": [{"event", "id", "count"}]}``, read as :mod:`~contracts.verifier.ledger` says)
or a Python callable ``(event, id) -> count``.

Premise: a fresh body was accepted, its repeat got an answer that is not a lasting 429, and the
ledger could be read; otherwise ``inconclusive`` with the reason.
"""

from __future__ import annotations

from contracts import schemas
from contracts.verifier.context import CheckContext, accepted, answered, fresh_body
from contracts.verifier.finding import Finding
from contracts.verifier.ledger import LedgerProblem, ledger_count
from contracts.verifier.premise import Tally
from contracts.verifier.registry import check

NAME = "idempotency"
_BODIES = 5


def _no_ledger(ctx: CheckContext) -> str | None:
    if ctx.options.ledger is None:
        return "no ledger to judge duplicates by (--ledger URL)"
    return None


@check(NAME, skip=_no_ledger)
def idempotency(ctx: CheckContext) -> Finding:
    ledger = ctx.options.ledger
    assert ledger is not None  # the skip above
    # A body refused the first time says nothing about duplicates (accepts-valid judges it),
    # so the check takes the first of a few fresh bodies that the consumer accepts.
    tally = Tally()
    for _ in range(_BODIES):
        event, body = fresh_body(ctx, NAME)
        first = tally.add(ctx.deliver(body, event=event))
        if accepted(first):
            break
    else:
        return Finding(
            NAME,
            "inconclusive",
            f"refused all {_BODIES} fresh valid bodies (last: {answered(first)}), so duplicates "
            f"cannot be judged: {tally.why_nothing_accepted()}",
            ctx.evidence(first),
        )
    resource_id = body[schemas.spec_for(event).resource]["id"]
    second = tally.add(ctx.deliver(body, event=event, key=first.id))
    if second.attempts[-1].status == 429:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    if not accepted(second):
        return Finding(
            NAME,
            "failed",
            f"answered a repeated delivery with {answered(second)}; "
            "a duplicate must be acknowledged with 2xx",
            ctx.evidence(second),
        )
    try:
        count = (
            ledger(event, resource_id)
            if callable(ledger)
            else ledger_count(ctx, ledger, event, resource_id)
        )
    except LedgerProblem as problem:
        return Finding(NAME, "inconclusive", str(problem))
    if count == 1:
        return Finding(NAME, "passed", "acknowledged a duplicate delivery and processed it once")
    message = (
        f"processed the same delivery {count} times; deduplicate by event and resource id"
        if count > 1
        else "the ledger does not show the delivery as processed at all"
    )
    return Finding(NAME, "failed", message, {**ctx.evidence(second), "ledger_count": count})
