"""``auth-required``: a delivery without credentials is refused with 401 or 403.

Premise: the configured credentials got past the consumer's door at least once (the probe, or a
delivery before). A consumer that answers 401 to everything, or 404 because the path is wrong,
says nothing about whether it tells good credentials from none: ``inconclusive``.
"""

from __future__ import annotations

from contracts.verifier.context import NO_CREDENTIALS, CheckContext, answered, fresh_body
from contracts.verifier.finding import Finding
from contracts.verifier.premise import credentials_premise
from contracts.verifier.registry import check
from mockserver.auth import NoAuth

NAME = "auth-required"


def _no_auth(ctx: CheckContext) -> str | None:
    if ctx.auth is None or isinstance(ctx.auth, NoAuth):
        return "no auth configured (--auth SPEC), so nothing to require"
    return None


@check(NAME, skip=_no_auth)
def auth_required(ctx: CheckContext) -> Finding:
    why = credentials_premise(ctx.answers)
    if why is not None:
        return Finding(NAME, "inconclusive", why)
    event, body = fresh_body(ctx, "auth-required")
    delivery = ctx.deliver(body, event=event, credentials=NO_CREDENTIALS)
    status = delivery.attempts[-1].status
    if status in (401, 403):
        return Finding(NAME, "passed", f"refused a delivery without credentials with {status}")
    if status == 429:
        return Finding(NAME, "inconclusive", "a delivery without credentials stayed limited (429)")
    if status is not None and 200 <= status < 300:
        message = f"accepted a delivery without credentials ({status}); expected 401 or 403"
    elif status is not None and status >= 500:
        message = (
            f"answered {status} to a delivery without credentials; "
            "expected 401 or 403, not a server error"
        )
    else:
        message = (
            f"answered a delivery without credentials with {answered(delivery)}; "
            "expected 401 or 403"
        )
    return Finding(NAME, "failed", message, ctx.evidence(delivery))
