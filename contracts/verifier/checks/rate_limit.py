"""``rate-limit``: under a burst the consumer answers only 2xx or 429, and 429 means "later".

Record360 warns that inspection volumes can be high and asks a busy consumer for a correct 429.
The check sends a burst (``VerifyOptions.burst_*``), then redelivers every rejected body after
its ``Retry-After``. It passes when the burst got only 2xx and 429 and every rejected body was
accepted later within the recovery budget. A 5xx (503 included), another 4xx, a reset or a
timeout under load fails; a 429 without a usable ``Retry-After`` is a warning (RFC 9110 §10.2.3
and RFC 6585 §4 make it optional, but a sender can then only guess).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from contracts.bulk import BulkGenerator
from contracts.verifier.context import CheckContext, accepted, answered
from contracts.verifier.finding import Finding
from contracts.verifier.registry import check
from mockserver.delivery import Delivery
from mockserver.delivery.retry import throttle_wait

NAME = "rate-limit"


@check(NAME)
def rate_limit(ctx: CheckContext) -> Finding:
    options = ctx.options
    bodies = BulkGenerator(seed=ctx.seed + 1, templates=16).take(options.burst_count)
    rejected: list[Delivery] = []
    bad: list[Delivery] = []
    outcomes: Counter[str] = Counter()
    no_retry_after = 0
    lock = threading.Lock()

    def done(delivery: Delivery) -> None:
        nonlocal no_retry_after
        ctx.record(delivery)
        last = delivery.attempts[-1]
        with lock:
            outcomes[str(last.status) if last.status is not None else str(last.error_kind)] += 1
            if last.status == 429:
                rejected.append(delivery)
                if last.retry_after_s is None:
                    no_retry_after += 1
            elif not accepted(delivery):
                bad.append(delivery)

    sender = ctx.sender(connections=options.burst_concurrency, pool="burst", follow_429=False)
    started = time.monotonic()
    sender.deliver_many(
        ((item.event, item.body) for item in bodies),
        concurrency=options.burst_concurrency,
        rate=options.burst_rate,
        on_done=done,
    )
    burst_rate = len(bodies) / max(time.monotonic() - started, 1e-9)
    details: dict[str, Any] = {"burst": dict(outcomes), "burst_rate_per_s": round(burst_rate, 1)}
    # A body refused again when sent alone is refused for what it is, not for the load: that is
    # accepts-valid's business (as tolerates-evolution counts only what the change broke).
    alone = [accepted(ctx.deliver(d.body, event=d.event, key=d.id)) for d in bad]
    refused_alone = alone.count(False)
    bad = [d for d, ok in zip(bad, alone, strict=True) if ok]
    if refused_alone:
        details["refused_also_alone"] = refused_alone
    if bad:
        summary = ", ".join(f"{n} x {k}" for k, n in outcomes.items() if not _ok(k))
        return Finding(
            NAME,
            "failed",
            f"under load ({len(bodies)} at {burst_rate:.0f}/s) answered {summary}; "
            f"{len(bad)} of them were accepted when sent alone; expected only 2xx or 429",
            {**details, **ctx.evidence(bad[0])},
        )
    if not rejected:
        answers = f"{refused_alone} refused also when sent alone" if refused_alone else "all 2xx"
        message = f"no limit reached at {burst_rate:.0f}/s ({len(bodies)} deliveries, {answers})"
        return Finding(NAME, "failed" if options.require_rate_limit else "passed", message, details)

    never, refused, recovery = _redeliver(ctx, rejected)
    details["recovered_in_s"] = round(recovery, 2)
    if refused:
        # The limit lifted for these, but the consumer refused the body itself (say a 422):
        # that is accepts-valid's business, not the limiter's.
        details["refused_after_limit_lifted"] = len(refused)
    if never:
        return Finding(
            NAME,
            "failed",
            f"{len(never)} of {len(rejected)} bodies answered 429 were never accepted within "
            f"{options.recovery_budget_s:.0f} s (last: {answered(never[0])}); a 429 must lift",
            {**details, **ctx.evidence(never[0])},
        )
    outcome = (
        f"the limit lifted for all within {recovery:.1f} s ({len(refused)} then refused for their "
        "content)"
        if refused
        else f"all accepted on redelivery within {recovery:.1f} s"
    )
    limited = f"limit reached: {len(rejected)} of {len(bodies)} answered 429 at {burst_rate:.0f}/s"
    message = f"{limited}, {outcome}"
    if no_retry_after:
        return Finding(
            NAME,
            "warning",
            f"{message}; but {no_retry_after} 429s had no usable Retry-After (send delta-seconds)",
            details,
        )
    return Finding(NAME, "passed", message, details)


def _ok(outcome: str) -> bool:
    return outcome == "429" or (outcome.isdigit() and 200 <= int(outcome) < 300)


def _redeliver(
    ctx: CheckContext, rejected: list[Delivery]
) -> tuple[list[Delivery], list[Delivery], float]:
    """Send every rejected body again once its Retry-After has passed, as Record360 would.

    Returns the deliveries still answered 429 (or out of time): the limit never lifted for them;
    those answered otherwise but not accepted: the limit lifted, the body was refused; and the
    time it took.
    """
    started = time.monotonic()
    deadline = started + ctx.options.recovery_budget_s
    due = sorted(
        (d.attempts[-1].started_at + throttle_wait(d.attempts[-1]), index, d)
        for index, d in enumerate(rejected)
    )
    never: list[Delivery] = []
    refused: list[Delivery] = []
    for when, _, original in due:
        wait = when - ctx.clock.now()
        if wait > 0:
            ctx.clock.sleep(min(wait, max(deadline - time.monotonic(), 0)))
        if time.monotonic() > deadline:
            never.append(original)
            continue
        delivery = ctx.deliver(original.body, event=original.event, key=original.id)
        if delivery.attempts[-1].status in (429, None):  # still limited, or no answer at all
            never.append(delivery)
        elif not accepted(delivery):
            refused.append(delivery)
    return never, refused, time.monotonic() - started
