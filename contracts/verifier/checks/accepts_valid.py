"""``accepts-valid``: every valid v1 body, documented or generated, is answered with a 2xx.

Premise: the consumer was reachable with these credentials at this path. When every answer was
a 401, a 404 or no answer at all, the bodies were never judged, so the verdict is
``inconclusive`` and names the fix; a 429 that never lifted is the limiter's business (the
``rate-limit`` check's), never a failure of the body.
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

NAME = "accepts-valid"


@check(NAME)
def accepts_valid(ctx: CheckContext) -> Finding:
    tally = Tally()
    for label, event, body in _documented_bodies():
        delivery = tally.add(ctx.deliver(body, event=event))
        if accepted(delivery) or _limited(delivery):
            continue
        why = tally.refusal()
        if why is not None:
            return Finding(NAME, "inconclusive", f"the documented {label} was not judged: {why}")
        return Finding(
            NAME,
            "failed",
            f"rejected the documented {label}: {answered(delivery)}; expected 2xx",
            ctx.evidence(delivery, example=label),
        )

    for captured in ctx.options.corpus:
        delivery = tally.add(ctx.deliver(captured.body, event=captured.event))
        if accepted(delivery) or _limited(delivery):
            continue
        return Finding(
            NAME,
            "failed",
            f"rejected a body Record360 sent ({captured.where}, {captured.event}): "
            f"{answered(delivery)}; expected 2xx",
            ctx.evidence(delivery, captured=captured.where),
        )

    def judge(body: dict[str, Any]) -> Delivery | None:
        delivery = tally.add(ctx.deliver(body, event=schemas.event_of(body) or "unknown"))
        return None if accepted(delivery) or _limited(delivery) else delivery

    search = smallest_failure(
        strategies.webhook_payloads(),
        judge,
        examples=ctx.options.examples,
        shrink_budget=ctx.options.shrink_budget,
        seed=ctx.seed,
        budget=ctx.budget,
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
    if tally.limited:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    real = f", {len(ctx.options.corpus)} captured" if ctx.options.corpus else ""
    return Finding(
        NAME,
        "passed",
        f"accepted the documented examples (and an add-media inspection){real} and "
        f"{search.tried} generated bodies",
    )


def _limited(delivery: Delivery) -> bool:
    """Still answered 429 when the verifier stopped waiting: the limiter's, not the body's."""
    return delivery.attempts[-1].status == 429


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
