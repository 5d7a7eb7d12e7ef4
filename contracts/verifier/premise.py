"""Premises: what a verdict must have seen, and what to say when the run never saw it.

A verdict is the product, so it may never claim what the run did not see. Each check states its
premise and reports ``inconclusive`` when it did not hold, naming the cause and the fix:

=========================  =====================================================================
premise                    when it fails, the check says
=========================  =====================================================================
the target answered        "no delivery got an answer (connect: ...): check the URL and that
                           the consumer runs" (the probe says it first, once)
the path exists            "every delivery got 404: check the URL path"
the credentials work       "every delivery with your credentials got 401: check --auth"
the limit lifted           "the consumer stayed limited (429) ...; see rate-limit": a 429 is the
                           limiter's business, so content checks never *fail* on one
something was accepted     "no body was accepted ...; see accepts-valid" (evolution, unknown
                           events, idempotency and latency judge nothing without one)
=========================  =====================================================================

:class:`Tally` counts the final answers of one check's deliveries; :func:`refusal` reads a tally
(or the whole run's answers) and names the misconfiguration they point at, or ``None`` when the
answers are the consumer's own verdicts on the bodies.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mockserver.delivery import Delivery

__all__ = ["AUTH_REFUSALS", "MISSING", "Block", "Tally", "credentials_premise", "refusal"]

#: Answers that say "not with these credentials" / "not at this path" (or method).
AUTH_REFUSALS = frozenset({401, 403})
MISSING = frozenset({404, 405})


@dataclass(frozen=True, slots=True)
class Block:
    """Why no check that needs a delivery can run: the target is unreachable, or TLS failed.

    The reason is said once, first (the probe's line, or the ``tls`` row); each blocked check's
    row only points at it (:attr:`row`), and keeps the reason in its JSON details.
    """

    reason: str
    #: The handshake failed (a certificate, an old protocol): the port answers, so ``tls``
    #: itself still runs and says exactly what is wrong.
    tls: bool = False

    @property
    def row(self) -> str:
        if self.tls:
            return "not run: tls failed, so no delivery can connect (see above)"
        return "not run: target unreachable (see above)"


@dataclass
class Tally:
    """Final answers of one check's deliveries with the configured credentials."""

    statuses: Counter[int] = field(default_factory=Counter)
    #: No answer at all, by kind, and the first such error in words.
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None
    #: Deliveries still answered 429 when the verifier stopped waiting, and why it stopped.
    limited: list[Delivery] = field(default_factory=list)

    def add(self, delivery: Delivery) -> Delivery:
        last = delivery.attempts[-1]
        if last.status is None:
            self.errors[str(last.error_kind)] += 1
            if self.first_error is None:
                self.first_error = f"{last.error_kind}: {last.error_message}"
        else:
            self.statuses[last.status] += 1
            if last.status == 429:
                self.limited.append(delivery)
        return delivery

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    def refusal(self) -> str | None:
        """:func:`refusal` of this tally's answers."""
        return refusal(self.statuses, self.errors, self.first_error)

    def why_nothing_accepted(self) -> str:
        """What kept every body out: a misconfiguration, else a limit that never lifted, else
        the consumer's own verdicts on the bodies, which accepts-valid judges."""
        return self.refusal() or (self.limited_reason() if self.limited else "see accepts-valid")

    def limited_reason(self) -> str:
        """Why the last limited delivery stopped waiting (the retry policy's words)."""
        detail = self.limited[-1].detail if self.limited else None
        why = (detail or "").partition("; last:")[0] or "429 did not lift"
        count = len(self.limited)
        return (
            f"the consumer stayed limited: {count} deliver{'ies' if count != 1 else 'y'} still "
            f"got 429 ({why}); a 429 is the limiter's business, see rate-limit"
        )


def refusal(
    statuses: Counter[int], errors: Counter[str] | None = None, first_error: str | None = None
) -> str | None:
    """The misconfiguration that answers with nothing accepted point at, or ``None``.

    ``None`` also when something *was* accepted, or when the answers are verdicts on the bodies
    (a 400, a 500): those are the consumer's doing, and the checks may judge them.
    """
    if any(200 <= status < 300 for status in statuses):
        return None
    answered = sum(statuses.values())
    if not answered:
        if errors:
            kind = errors.most_common(1)[0][0]
            shown = first_error or kind
            return f"no delivery got an answer ({shown}): check the URL and that the consumer runs"
        return None
    common, count = statuses.most_common(1)[0]
    if count < answered:
        return None  # mixed answers: the consumer judged the bodies differently
    if common in AUTH_REFUSALS:
        return f"every delivery with your credentials got {common}: check --auth"
    if common in MISSING:
        return f"every delivery got {common}: check the URL path"
    return None


def credentials_premise(answers: Counter[int]) -> str | None:
    """Why the auth checks cannot judge: the configured credentials never got past the door
    (every answer so far a 401/403, a 404/405 or a lasting 429), or ``None`` when they did."""
    past = [status for status in answers if status not in AUTH_REFUSALS | MISSING | {429}]
    if past:
        return None
    if not answers:
        return "no delivery with the configured credentials got an answer, so refusals say nothing"
    common = answers.most_common(1)[0][0]
    if common in AUTH_REFUSALS:
        return (
            f"every delivery with your credentials got {common}, so a refusal of forged ones "
            "says nothing: check --auth"
        )
    if common in MISSING:
        return f"every delivery got {common}: check the URL path"
    return "every delivery with your credentials stayed limited (429); see rate-limit"
