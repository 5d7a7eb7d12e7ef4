"""``auth-rejects-invalid``: every forged credential of the configured scheme gets 401 or 403.

Premise (as for ``auth-required``): the configured credentials got past the door at least once;
a consumer that refuses everything refuses forgeries too, and that proves nothing.

The forgeries come from :meth:`mockserver.auth.AuthScheme.negative_variants`: a wrong secret or
password, a malformed header and, for JWTs, expired, not-yet-valid, bad-signature, ``alg: none``
and wrong-algorithm tokens, each with exactly one defect.
"""

from __future__ import annotations

from contracts.verifier.context import CheckContext, answered, fresh_body
from contracts.verifier.finding import Finding
from contracts.verifier.premise import credentials_premise
from contracts.verifier.registry import check
from mockserver.auth import NoAuth
from mockserver.delivery import Delivery

NAME = "auth-rejects-invalid"


def _no_auth(ctx: CheckContext) -> str | None:
    if ctx.auth is None or isinstance(ctx.auth, NoAuth):
        return "no auth configured (--auth SPEC), so nothing to forge"
    return None


@check(NAME, skip=_no_auth)
def auth_rejects_invalid(ctx: CheckContext) -> Finding:
    assert ctx.auth is not None  # the skip above
    why = credentials_premise(ctx.answers)
    if why is not None:
        return Finding(NAME, "inconclusive", why)
    variants = [v for v in ctx.auth.negative_variants() if v.name != "missing"]
    results: dict[str, str] = {}
    let_in: list[tuple[str, Delivery]] = []
    limited = []
    for variant in variants:
        event, body = fresh_body(ctx, f"forged-{variant.name}")
        delivery = ctx.deliver(body, event=event, credentials=variant)
        results[variant.name] = answered(delivery)
        status = delivery.attempts[-1].status
        if status == 429:
            limited.append(variant.name)
        elif status not in (401, 403):
            let_in.append((variant.name, delivery))
    if let_in:
        names = ", ".join(f"{name} ({answered(d)})" for name, d in let_in)
        first_name, first = let_in[0]
        return Finding(
            NAME,
            "failed",
            f"did not refuse forged credentials: {names}; expected 401 or 403",
            ctx.evidence(first, variant=first_name, variants=results),
        )
    if limited:
        return Finding(
            NAME,
            "inconclusive",
            f"forged credentials stayed limited (429), so not judged: {', '.join(limited)}",
            {"variants": results},
        )
    return Finding(
        NAME,
        "passed",
        f"refused all {len(variants)} forged credentials ({', '.join(results)}) with 401/403",
        {"variants": results},
    )
