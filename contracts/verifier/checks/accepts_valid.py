"""``accepts-valid``: every valid v1 body, documented or generated, is answered with a 2xx."""

from __future__ import annotations

from typing import Any

from contracts import schemas, strategies
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "accepts-valid"


@check(NAME)
def accepts_valid(ctx: CheckContext) -> Finding:
    for label, event, body in _documented_bodies():
        delivery = ctx.deliver(body, event=event)
        if not accepted(delivery):
            return Finding(
                NAME,
                "failed",
                f"rejected the documented {label}: {answered(delivery)}; expected 2xx",
                ctx.evidence(delivery, example=label),
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
        NAME,
        "passed",
        f"accepted the documented examples (and an add-media inspection) and {search.tried} "
        "generated bodies",
    )


def _documented_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """Every documented example, and the one documented case no example shows: an add-media
    inspection (``check_in: null``), sent on purpose rather than left to chance."""
    bodies = [
        (f"{s.name} example", s.name, schemas.example(s.name)) for s in schemas.known_events()
    ]
    add_media = schemas.example("transaction.create")
    add_media["transaction"]["check_in"] = None
    bodies.append(("add-media inspection (transaction.create example with check_in null)",
                   "transaction.create", add_media))  # fmt: skip
    return bodies
