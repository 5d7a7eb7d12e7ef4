"""``accepts-valid``: every valid v1 body, documented or generated, is answered with a 2xx."""

from __future__ import annotations

from typing import Any

from contracts import schemas, strategies
from contracts.checks._context import CheckContext, accepted, answered
from contracts.checks._finding import Finding
from contracts.checks._registry import check
from contracts.checks._search import smallest_failure
from mockserver.delivery import Delivery

NAME = "accepts-valid"


@check(NAME)
def accepts_valid(ctx: CheckContext) -> Finding:
    for spec in schemas.known_events():
        delivery = ctx.deliver(schemas.example(spec.name), event=spec.name)
        if not accepted(delivery):
            return Finding(
                NAME,
                "failed",
                f"rejected the documented {spec.name} example: {answered(delivery)}; expected 2xx",
                ctx.evidence(delivery, example=spec.name),
            )

    def judge(body: dict[str, Any]) -> Delivery | None:
        delivery = ctx.deliver(body, event=schemas.event_of(body) or "unknown")
        return None if accepted(delivery) else delivery

    search = smallest_failure(
        strategies.webhook_payloads(),
        judge,
        examples=ctx.options.examples,
        shrink_budget=ctx.options.shrink_budget,
        seed=ctx.seed,
    )
    if search.failure is not None:
        delivery = search.failure.delivery
        return Finding(
            NAME,
            "failed",
            f"rejected a valid {delivery.event} body: {answered(delivery)}; expected 2xx "
            "(smallest such body in details)",
            ctx.evidence(delivery),
        )
    return Finding(
        NAME, "passed", f"accepted both documented examples and {search.tried} generated bodies"
    )
