"""``tolerates-evolution``: bodies evolved as Record360's policy allows are still accepted.

Every change of the catalogue is tried on its own. A rejection counts only when the consumer
accepts the same body *before* the change: then the change is what broke it, and the finding
names it. (A body rejected both ways is ``accepts-valid``'s business, not this check's.)

Premise: some body was accepted. With nothing accepted (wrong credentials, wrong path, the limit
never lifting) no change can be blamed or cleared, so the verdict is ``inconclusive``.
"""

from __future__ import annotations

import copy
import random

from contracts import evolution, strategies
from contracts._choice import RandomChooser
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.premise import Tally
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "tolerates-evolution"


@check(NAME)
def tolerates_evolution(ctx: CheckContext) -> Finding:
    tried = 0
    tally = Tally()
    for index, name in enumerate(evolution.catalogue()):

        def judge(evolved: strategies.EvolvedPayload) -> Delivery | None:
            delivery = tally.add(ctx.deliver(evolved.payload, event=evolved.event))
            if accepted(delivery):
                return None
            before = tally.add(ctx.deliver(evolved.original, event=evolved.event))
            limited = delivery.attempts[-1].status == 429  # the limiter's, not the change's
            return delivery if accepted(before) and not limited else None

        search = smallest_failure(
            strategies.evolved_payloads(changes=[name]),
            judge,
            examples=ctx.options.evolution_examples,
            shrink_budget=ctx.options.shrink_budget,
            seed=ctx.seed + index,
            budget=ctx.budget,
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
    corpus = _captured(ctx, tally)
    if isinstance(corpus, Finding):
        return corpus
    tried += corpus
    if not tally.accepted:
        return Finding(
            NAME,
            "inconclusive",
            f"no evolved body nor its original was accepted, so no change can be judged: "
            f"{tally.why_nothing_accepted()}",
        )
    if tally.limited:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    names = ", ".join(evolution.catalogue())
    return Finding(
        NAME, "passed", f"accepted {tried} evolved bodies covering every change: {names}"
    )


def _captured(ctx: CheckContext, tally: Tally) -> Finding | int:
    """Every change on copies of the first captured bodies (``--corpus``): the failure, or how
    many evolved bodies were accepted. A rejection counts only when the body as captured was
    accepted, as for generated ones."""
    chooser = RandomChooser(random.Random(ctx.seed))
    tried = 0
    for captured in ctx.options.corpus[: ctx.options.corpus_evolutions]:
        before = tally.add(ctx.deliver(captured.body, event=captured.event))
        if not accepted(before):
            continue  # accepts-valid's business
        for name in evolution.applicable_changes(captured.event):
            body = copy.deepcopy(captured.body)
            evolution.prepare(body, captured.event, [name], chooser)
            original = copy.deepcopy(body)
            applied = evolution.evolve(body, captured.event, [name], chooser)
            delivery = tally.add(ctx.deliver(body, event=captured.event))
            tried += 1
            if accepted(delivery) or delivery.attempts[-1].status == 429:
                continue
            again = tally.add(ctx.deliver(original, event=captured.event))
            if accepted(again):
                return Finding(
                    NAME,
                    "failed",
                    f"rejected a body Record360 sent ({captured.where}) after the compatible "
                    f"change {name!r}: {answered(delivery)}; the body without it was accepted",
                    ctx.evidence(
                        delivery,
                        change=name,
                        applied=[str(change) for change in applied],
                        original=original,
                        captured=captured.where,
                    ),
                )
    return tried
