"""``ignores-unknown-events``: new event types are acknowledged (2xx), as the policy requires.

A new ``event`` value on a known resource counts against this check only when the consumer
accepts the same resource under its known event (otherwise the resource itself is the problem).

Only what was acknowledged is counted: an unknown event refused together with its known twin
judges nothing, and is counted apart.

Premise: some body was accepted, and no answer was a 429 that never lifted (the limiter's
business); otherwise the verdict is ``inconclusive``.
"""

from __future__ import annotations

from typing import Any

from contracts import schemas, strategies
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.premise import Tally
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "ignores-unknown-events"


@check(NAME)
def ignores_unknown_events(ctx: CheckContext) -> Finding:
    tally = Tally()
    acknowledged = unjudged = 0

    def judge(body: dict[str, Any]) -> Delivery | None:
        nonlocal acknowledged, unjudged
        delivery = tally.add(ctx.deliver(body, event=f"unknown:{body.get('event')}"))
        if accepted(delivery):
            acknowledged += 1
            return None
        if delivery.attempts[-1].status == 429:
            unjudged += 1
            return None
        for spec in schemas.known_events():
            if spec.resource in body:
                twin = {"event": spec.event, spec.resource: body[spec.resource]}
                known = tally.add(ctx.deliver(twin, event=spec.name))
                if accepted(known):
                    return delivery
                unjudged += 1  # the resource itself is refused: accepts-valid's business
                return None
        # A new resource key has no known twin: it counts once the consumer was seen accepting.
        if tally.accepted or ctx.accepted_any:
            return delivery
        unjudged += 1
        return None

    search = smallest_failure(
        strategies.unknown_events(),
        judge,
        examples=ctx.options.unknown_examples,
        shrink_budget=ctx.options.shrink_budget,
        seed=ctx.seed,
        budget=ctx.budget,
    )
    if search.failure is not None:
        body, delivery = search.failure.value, search.failure.delivery
        keys = [key for key in body if key != "event"]
        return Finding(
            NAME,
            "failed",
            f"rejected an unknown event ({body.get('event')!r} with {keys}): {answered(delivery)}; "
            "Record360 may add event types, so acknowledge them with a 2xx",
            ctx.evidence(delivery),
        )
    if not acknowledged:
        return Finding(
            NAME,
            "inconclusive",
            f"none of {search.tried} unknown events was acknowledged, nor the known event on "
            f"the same resource, so none can be judged: {tally.why_nothing_accepted()}",
        )
    if tally.limited:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    message = f"acknowledged {acknowledged} of {search.tried} bodies of unknown events"
    if unjudged:
        message += (
            f"; {unjudged} refused but not judged (their known event was refused too, or they "
            "stayed limited): see accepts-valid"
        )
    return Finding(NAME, "passed", message)
