"""``tolerates-evolution``: bodies evolved as Record360's policy allows are still accepted.

Every change of the catalogue is tried on its own. A rejection counts only when the consumer
accepts the same body *before* the change: then the change is what broke it, and the finding
names it. (A body rejected both ways is ``accepts-valid``'s business, not this check's.)
"""

from __future__ import annotations

from contracts import evolution, strategies
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "tolerates-evolution"


@check(NAME)
def tolerates_evolution(ctx: CheckContext) -> Finding:
    tried = 0
    for index, name in enumerate(evolution.catalogue()):

        def judge(evolved: strategies.EvolvedPayload) -> Delivery | None:
            delivery = ctx.deliver(evolved.payload, event=evolved.event)
            if accepted(delivery):
                return None
            before = ctx.deliver(evolved.original, event=evolved.event)
            return delivery if accepted(before) else None

        search = smallest_failure(
            strategies.evolved_payloads(changes=[name]),
            judge,
            examples=ctx.options.evolution_examples,
            shrink_budget=ctx.options.shrink_budget,
            seed=ctx.seed + index,
        )
        tried += search.tried
        if search.failure is not None:
            evolved, delivery = search.failure.value, search.failure.delivery
            return Finding(
                NAME,
                "failed",
                f"rejected a body after the compatible change {name!r}: {answered(delivery)}; "
                "the same body without it was accepted",
                ctx.evidence(
                    delivery,
                    change=name,
                    applied=[str(change) for change in evolved.changes],
                    original=evolved.original,
                ),
            )
    names = ", ".join(evolution.catalogue())
    return Finding(
        NAME, "passed", f"accepted {tried} evolved bodies covering every change: {names}"
    )
