"""``ignores-unknown-events``: new event types are acknowledged (2xx), as the policy requires.

A new ``event`` value on a known resource counts against this check only when the consumer
accepts the same resource under its known event (otherwise the resource itself is the problem).
"""

from __future__ import annotations

from typing import Any

from contracts import schemas, strategies
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "ignores-unknown-events"


@check(NAME)
def ignores_unknown_events(ctx: CheckContext) -> Finding:
    def judge(body: dict[str, Any]) -> Delivery | None:
        delivery = ctx.deliver(body, event=f"unknown:{body.get('event')}")
        if accepted(delivery):
            return None
        for spec in schemas.known_events():
            if spec.resource in body:
                known = ctx.deliver(
                    {"event": spec.event, spec.resource: body[spec.resource]}, event=spec.name
                )
                return delivery if accepted(known) else None
        return delivery

    search = smallest_failure(
        strategies.unknown_events(),
        judge,
        examples=ctx.options.unknown_examples,
        shrink_budget=ctx.options.shrink_budget,
        seed=ctx.seed,
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
    return Finding(NAME, "passed", f"acknowledged {search.tried} bodies of unknown events")
