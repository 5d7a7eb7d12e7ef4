"""``latency``: the consumer answers quickly enough (p95 of every answer under the bound).

Big senders give up on an attempt after 5 to 15 s (Shopify 5 s, GitHub 10 s, Svix 15 s) and
count it as failed, so a slow consumer sees retries and duplicates. Runs last, over every HTTP
answer of the run: a refused connection or a timeout is not an answer and is reported beside the
percentiles, not timed among them. Premise: something was accepted (2xx); with nothing accepted
there is no answer worth timing, and the verdict is ``inconclusive``.
"""

from __future__ import annotations

from contracts.verifier.context import CheckContext
from contracts.verifier.finding import Finding
from contracts.verifier.premise import refusal
from contracts.verifier.registry import check
from mockserver.delivery.summary import percentile

NAME = "latency"


@check(NAME)
def latency(ctx: CheckContext) -> Finding:
    durations = sorted(ctx.durations)
    if not ctx.accepted_any:
        why = refusal(ctx.answers, ctx.no_answers) or "see accepts-valid"
        return Finding(NAME, "inconclusive", f"no delivery was accepted, so none was timed: {why}")
    p50, p95, p99 = (_rank(durations, q) for q in (0.50, 0.95, 0.99))
    bound = ctx.options.latency_bound_s
    unanswered = sum(ctx.no_answers.values())
    text = f"p50 {_ms(p50)}, p95 {_ms(p95)}, p99 {_ms(p99)} over {len(durations)} answers"
    if unanswered:
        kinds = ", ".join(f"{n} {kind}" for kind, n in ctx.no_answers.most_common())
        attempts = "attempt" if unanswered == 1 else "attempts"
        text += f" ({unanswered} {attempts} got no answer: {kinds})"
    details = {
        "p50_s": p50,
        "p95_s": p95,
        "p99_s": p99,
        "answers": len(durations),
        "no_answer": dict(ctx.no_answers),
        "bound_s": bound,
    }
    if p95 > bound:
        return Finding(NAME, "failed", f"{text}: p95 is over the {bound:g} s bound", details)
    return Finding(NAME, "passed", f"{text} (bound {bound:g} s)", details)


def _rank(ordered: list[float], fraction: float) -> float:
    value = percentile(ordered, fraction)
    assert value is not None  # something was accepted, so something was answered
    return value


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
