"""``rate-limit``: under a burst the consumer answers only 2xx or 429, and 429 means "later".

Record360 warns that inspection volumes can be high and asks a busy consumer for a correct 429.
The check sends a burst (``VerifyOptions.burst_*``), then redelivers every rejected body after
its ``Retry-After``, exactly as it says (0 at once, an HTTP-date until then, none: 1 s). It
passes when the burst got only 2xx and 429 and every rejected body was accepted later within the
recovery budget. A 5xx (503 included), another 4xx, a reset or a timeout under load fails; a
429 without a usable ``Retry-After`` is a warning (RFC 9110 §10.2.3 and RFC 6585 §4 make it
optional, but a sender can then only guess).

A 429 is the limiter's business, and this check carries it for the whole run: when any delivery
stayed limited past its wait (a "penalty box" whose ``Retry-After: 1`` is a lie), this check
fails with what the consumer said. A ``Retry-After`` longer than the run can wait is not waited
for: the body is offered again after a second, and if the limit had in fact lifted the verdict
is a warning (Record360 would have held the delivery that long), otherwise ``inconclusive``.

Premise: the burst got some 2xx or 429 (not only 401s, 404s or refused connections).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.bulk import BulkGenerator
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.premise import Tally
from contracts.verifier.registry import check
from mockserver.delivery import Delivery
from mockserver.delivery.throttle import throttle_wait

NAME = "rate-limit"
#: How soon a body whose ``Retry-After`` is beyond the run's reach is offered again.
_EARLY_S = 1.0


@check(NAME)
def rate_limit(ctx: CheckContext) -> Finding:
    options = ctx.options
    burst = _burst(ctx)
    details: dict[str, Any] = {
        "burst": dict(burst.outcomes),
        "burst_rate_per_s": round(burst.rate, 1),
    }
    if not burst.tally.accepted and not burst.rejected:
        why = burst.tally.refusal()
        return Finding(
            NAME,
            "inconclusive",
            f"the burst got neither 2xx nor 429, so there is no limiter to judge: "
            f"{why or 'see accepts-valid'}",
            details,
        )
    # A body refused again when sent alone is refused for what it is, not for the load: that is
    # accepts-valid's business (as tolerates-evolution counts only what the change broke).
    alone = [ctx.deliver(d.body, event=d.event, key=d.id) for d in burst.bad]
    refused_alone = sum(not accepted(d) for d in alone)
    bad = [d for d, again in zip(burst.bad, alone, strict=True) if accepted(again)]
    if refused_alone:
        details["refused_also_alone"] = refused_alone
    if bad:
        summary = ", ".join(f"{n} x {k}" for k, n in burst.outcomes.items() if not _ok(k))
        return Finding(
            NAME,
            "failed",
            f"under load ({burst.sent} at {burst.rate:.0f}/s) answered {summary}; "
            f"{len(bad)} of them were accepted when sent alone; expected only 2xx or 429",
            {**details, **ctx.evidence(bad[0])},
        )
    stuck = ctx.budget.limited if ctx.budget is not None else None
    if not burst.rejected:
        if stuck:  # an earlier check met the limiter, and it never lifted
            return Finding(
                NAME, "failed", f"{stuck} (before the burst); a 429 must lift when it says", details
            )
        answers = f"{refused_alone} refused also when sent alone" if refused_alone else "all 2xx"
        message = f"no limit reached at {burst.rate:.0f}/s ({burst.sent} deliveries, {answers})"
        return Finding(NAME, "failed" if options.require_rate_limit else "passed", message, details)

    recovery = _redeliver(ctx, burst.rejected)
    details["recovered_in_s"] = round(recovery.elapsed_s, 2)
    if recovery.refused:
        # The limit lifted for these, but the consumer refused the body itself (say a 422):
        # that is accepts-valid's business, not the limiter's.
        details["refused_after_limit_lifted"] = len(recovery.refused)
    said = _said(burst.rejected)
    stuck = ctx.budget.limited if ctx.budget is not None else None
    if recovery.never and recovery.overlong and not stuck:
        return Finding(
            NAME,
            "inconclusive",
            f"{len(recovery.never)} of {len(burst.rejected)} bodies answered 429 with {said}, "
            f"longer than this run can wait ({ctx.remaining_s():.0f} s left), and the limit "
            "did not lift sooner",
            details,
        )
    if recovery.never:
        # The verifier's own words when it gave up on a delivery (the time or the attempts it
        # spent), else the recovery's.
        why = (
            stuck or f"429 never lifted within {recovery.elapsed_s:.0f} s, although it said {said}"
        )
        return Finding(
            NAME,
            "failed",
            f"{len(recovery.never)} of {len(burst.rejected)} bodies answered 429 were never "
            f"accepted: {why}; a 429 must lift when it says (last: {answered(recovery.never[0])})",
            {**details, **ctx.evidence(recovery.never[0])},
        )
    outcome = (
        f"the limit lifted for all within {recovery.elapsed_s:.1f} s ({len(recovery.refused)} "
        "then refused for their content)"
        if recovery.refused
        else f"all accepted on redelivery within {recovery.elapsed_s:.1f} s"
    )
    message = (
        f"limit reached: {len(burst.rejected)} of {burst.sent} answered 429 at "
        f"{burst.rate:.0f}/s, {outcome}"
    )
    if recovery.overlong:
        return Finding(
            NAME,
            "warning",
            f"{message}; but the 429s said {said}: Record360 holds a delivery as long as "
            "Retry-After says, so say the real wait",
            details,
        )
    if burst.no_retry_after:
        return Finding(
            NAME,
            "warning",
            f"{message}; but {burst.no_retry_after} 429s had no usable Retry-After "
            "(send delta-seconds)",
            details,
        )
    return Finding(NAME, "passed", message, details)


@dataclass
class _Burst:
    sent: int = 0
    rate: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    tally: Tally = field(default_factory=Tally)
    rejected: list[Delivery] = field(default_factory=list)
    bad: list[Delivery] = field(default_factory=list)
    no_retry_after: int = 0


def _burst(ctx: CheckContext) -> _Burst:
    """Send the burst without waiting out any 429: those are what it measures."""
    options = ctx.options
    bodies = BulkGenerator(seed=ctx.seed + 1, templates=16).take(options.burst_count)
    burst = _Burst()
    lock = threading.Lock()

    def items() -> Iterator[tuple[str, bytes]]:
        for item in bodies:
            ctx.check_budget()  # the run's time bounds the burst too
            yield item.event, item.body

    def done(delivery: Delivery) -> None:
        ctx.record(delivery)
        last = delivery.attempts[-1]
        with lock:
            burst.sent += 1
            burst.tally.add(delivery)
            burst.outcomes[last.outcome] += 1
            if last.status == 429:
                burst.rejected.append(delivery)
                if last.retry_after_s is None:
                    burst.no_retry_after += 1
            elif not accepted(delivery):
                burst.bad.append(delivery)

    sender = ctx.sender(connections=options.burst_concurrency, pool="burst", follow_429=False)
    started = time.monotonic()
    sender.deliver_many(
        items(), concurrency=options.burst_concurrency, rate=options.burst_rate, on_done=done
    )
    burst.rate = burst.sent / max(time.monotonic() - started, 1e-9)
    return burst


def _ok(outcome: str) -> bool:
    return outcome == "429" or (outcome.isdigit() and 200 <= int(outcome) < 300)


def _said(rejected: list[Delivery]) -> str:
    values = Counter(d.attempts[-1].response_headers.get("retry-after") for d in rejected)
    value = values.most_common(1)[0][0]
    return f"Retry-After: {value}" if value is not None else "no Retry-After"


@dataclass
class _Recovery:
    #: Still answered 429 (or no answer) at the end: the limit never lifted for them.
    never: list[Delivery] = field(default_factory=list)
    #: Answered otherwise but not accepted: the limit lifted, the body was refused.
    refused: list[Delivery] = field(default_factory=list)
    #: Some 429 asked for more time than the run had left: offered again early instead.
    overlong: bool = False
    elapsed_s: float = 0.0


def _redeliver(ctx: CheckContext, rejected: list[Delivery]) -> _Recovery:
    """Send every rejected body again once its Retry-After has passed, as Record360 would."""
    clock = ctx.clock  # one clock for the waits, the deadline and the attempts' started_at
    started = clock.now()
    deadline = started + min(ctx.options.recovery_budget_s, ctx.remaining_s())
    recovery = _Recovery()
    due = []
    for index, delivery in enumerate(rejected):
        last = delivery.attempts[-1]
        wait = throttle_wait(last)
        if last.started_at + wait > deadline:
            recovery.overlong = True
            wait = _EARLY_S
        due.append((last.started_at + wait, index, delivery))
    for when, _, original in sorted(due):
        wait = min(when, deadline) - clock.now()
        if wait > 0:
            clock.sleep(wait)
        again = _again(ctx, original, deadline, poll=recovery.overlong)
        if again is None or again.attempts[-1].status in (429, None):
            recovery.never.append(again or original)  # still limited, or no answer at all
        elif not accepted(again):
            recovery.refused.append(again)
    recovery.elapsed_s = clock.now() - started
    return recovery


def _again(
    ctx: CheckContext, original: Delivery, deadline: float, *, poll: bool
) -> Delivery | None:
    """Redeliver ``original`` (429s waited out by the verifier's policy); ``None`` when out of
    time. With ``poll``, a 429 asking for more than the run has is offered again every
    :data:`_EARLY_S` until the deadline, to learn whether the limit had in fact lifted."""
    delivery = None
    while ctx.clock.now() <= deadline:
        delivery = ctx.deliver(original.body, event=original.event, key=original.id)
        last = delivery.attempts[-1]
        if not poll or last.status != 429 or throttle_wait(last) <= _EARLY_S:
            return delivery
        ctx.clock.sleep(min(_EARLY_S, max(deadline - ctx.clock.now(), 0)))
    return delivery
