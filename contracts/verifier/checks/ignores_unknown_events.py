"""``ignores-unknown-events``: new event types are acknowledged (2xx), as the policy requires.

A new ``event`` value on a known resource counts against this check only when the consumer
accepts the same resource under its known event (otherwise the resource itself is the problem).

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

    def judge(body: dict[str, Any]) -> Delivery | None:
        delivery = tally.add(ctx.deliver(body, event=f"unknown:{body.get('event')}"))
        if accepted(delivery) or delivery.attempts[-1].status == 429:
            return None
        for spec in schemas.known_events():
            if spec.resource in body:
                twin = {"event": spec.event, spec.resource: body[spec.resource]}
                known = tally.add(ctx.deliver(twin, event=spec.name))
                return delivery if accepted(known) else None
        # A new resource key has no known twin: it counts once the consumer was seen accepting.
        return delivery if tally.accepted or ctx.accepted_any else None

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
    if not tally.accepted:
        return Finding(
            NAME,
            "inconclusive",
            f"nothing was acknowledged, so unknown events cannot be judged: "
            f"{tally.why_nothing_accepted()}",
        )
    if tally.limited:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    return Finding(NAME, "passed", f"acknowledged {search.tried} bodies of unknown events")
