"""``tolerates-evolution``: bodies evolved as Record360's policy allows are still accepted.

Every change of the catalogue is tried on its own. A rejection counts only when the consumer
accepts the same body *before* the change: then the change is what broke it, and the finding
names it. (A body rejected both ways is ``accepts-valid``'s business, not this check's.)

Only what was judged is counted: an evolved body accepted clears its change; one refused together
with its original judges nothing, and a change no body was accepted for is named "not judged".

Premise: some body was accepted. With nothing accepted (wrong credentials, wrong path, the limit
never lifting) no change can be blamed or cleared, so the verdict is ``inconclusive``.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

from contracts import evolution, strategies
from contracts._choice import RandomChooser
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.premise import Tally
from contracts.verifier.registry import check
from contracts.verifier.search import smallest_failure
from mockserver.delivery import Delivery

NAME = "tolerates-evolution"


@dataclass
class _Judged:
    """What the deliveries could judge: an evolved body accepted clears its change; one refused
    together with its original (or still limited) judges nothing and is only counted."""

    accepted: int = 0
    unjudged: int = 0
    changes: set[str] = field(default_factory=set)

    def message(self, names: list[str]) -> str:
        missing = [name for name in names if name not in self.changes]
        covering = (
            f"every change: {', '.join(names)}"
            if not missing
            else f"{len(self.changes)} of {len(names)} changes; not judged (no body accepted "
            f"with or without it): {', '.join(missing)}"
        )
        text = f"accepted {self.accepted} evolved bodies covering {covering}"
        if self.unjudged:
            text += (
                f"; {self.unjudged} refused with and without the change (or limited), so not "
                "judged: see accepts-valid"
            )
        return text


@check(NAME)
def tolerates_evolution(ctx: CheckContext) -> Finding:
    tally = Tally()
    judged = _Judged()
    for index, name in enumerate(evolution.catalogue()):

        def judge(evolved: strategies.EvolvedPayload, name: str = name) -> Delivery | None:
            delivery = tally.add(ctx.deliver(evolved.payload, event=evolved.event))
            if accepted(delivery):
                judged.accepted += 1
                judged.changes.add(name)
                return None
            before = tally.add(ctx.deliver(evolved.original, event=evolved.event))
            limited = delivery.attempts[-1].status == 429  # the limiter's, not the change's
            if accepted(before) and not limited:
                return delivery
            judged.unjudged += 1
            return None

        search = smallest_failure(
            strategies.evolved_payloads(changes=[name]),
            judge,
            examples=ctx.options.evolution_examples,
            shrink_budget=ctx.options.shrink_budget,
            seed=ctx.seed + index,
            budget=ctx.budget,
        )
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
    corpus = _captured(ctx, tally, judged)
    if corpus is not None:
        return corpus
    if not judged.accepted:
        return Finding(
            NAME,
            "inconclusive",
            f"no evolved body nor its original was accepted ({judged.unjudged} refused both "
            f"ways), so no change can be judged: {tally.why_nothing_accepted()}",
        )
    if tally.limited:
        return Finding(NAME, "inconclusive", tally.limited_reason())
    return Finding(NAME, "passed", judged.message(list(evolution.catalogue())))


def _captured(ctx: CheckContext, tally: Tally, judged: _Judged) -> Finding | None:
    """Every change on copies of the first captured bodies (``--corpus``): the failure, if any;
    accepted evolved bodies count in ``judged``. A rejection counts only when the body as
    captured was accepted, as for generated ones."""
    chooser = RandomChooser(random.Random(ctx.seed))
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
            if accepted(delivery):
                judged.accepted += 1
                judged.changes.add(name)
                continue
            if delivery.attempts[-1].status == 429:
                judged.unjudged += 1
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
            judged.unjudged += 1
    return None
