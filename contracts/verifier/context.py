"""What a check gets: the target, the configured credentials, one way to deliver, one budget.

Every check delivers through :meth:`CheckContext.deliver`, which behaves as Record360 would with a
busy consumer: a 429 is waited out for its ``Retry-After`` (0 is valid; missing means 1 s) and the
same delivery is sent again, so only the final answer counts. The waiting is the sender's
``verifier`` retry policy (:class:`mockserver.delivery.throttle.ThrottleRetry`), the one owner of
that rule. That is why a compliant consumer with a tight rate limit passes every check, and a
429 is judged only by the ``rate-limit`` check.

The whole run shares one :class:`~mockserver.delivery.throttle.Budget` (``max_time_s``): waits for
429s, recovery, shrinking and the ledger all spend it, and once it is gone :meth:`CheckContext.
deliver` raises :class:`BudgetSpent` instead of sending, which the run reports as the check's
``inconclusive`` verdict. A verdict may only claim what the run saw (see :mod:`~contracts.
verifier.premise`).
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
import warnings
from array import array
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from contracts.bulk import BulkGenerator
from contracts.errors import UsageError
from contracts.verifier.corpus import CorpusBody
from contracts.verifier.curl import curl_line
from contracts.verifier.forged import VariantSource, forged_redactor
from contracts.verifier.premise import Block
from contracts.verifier.target import Target
from mockserver.auth import AuthScheme, NegativeVariant
from mockserver.delivery import Delivery, Sender
from mockserver.delivery.clock import Clock, SystemClock
from mockserver.delivery.core import DEFAULT_CONNECT_TIMEOUT
from mockserver.delivery.deadline import deadline_cap
from mockserver.delivery.retry import PRESETS, Policy
from mockserver.delivery.throttle import Budget, ThrottleRetry
from mockserver.delivery.tls import InsecureTLSWarning
from mockserver.redaction import Redactor
from mockserver.settings import DeliverySettings, delivery_settings
from mockserver.urls import parse_webhook_url

__all__ = [
    "CONFIGURED",
    "NO_CREDENTIALS",
    "BudgetSpent",
    "CheckContext",
    "VerifyOptions",
    "check_ledger",
    "parse_max_time",
]

CONFIGURED = "configured"
NO_CREDENTIALS = "none"
_BODY_LIMIT = 1024

Ledger = Callable[[str, str], int]


@dataclass(frozen=True)
class VerifyOptions:
    """Knobs of a verification run, with defaults that fit one CI step."""

    #: Generated valid bodies for ``accepts-valid`` (the documented examples are always sent).
    examples: int = 40
    #: Generated bodies per evolution change for ``tolerates-evolution``.
    evolution_examples: int = 6
    #: Generated bodies for ``ignores-unknown-events``.
    unknown_examples: int = 15
    #: Extra requests one failure may spend on shrinking to the smallest body.
    shrink_budget: int = 150
    seed: int | None = None
    #: ``latency``: the p95 bound in seconds.
    latency_bound_s: float = 5.0
    #: ``rate-limit``: the burst (count, starts per second or None for unpaced, concurrency).
    burst_count: int = 150
    burst_rate: float | None = None
    burst_concurrency: int = 16
    #: ``rate-limit``: how long every rejected body may take to be accepted after the burst.
    recovery_budget_s: float = 60.0
    #: ``rate-limit``: fail when no 429 is seen (for teams that must have a limit).
    require_rate_limit: bool = False
    #: Longest a single delivery may spend waiting out 429s in the other checks.
    retry_after_budget_s: float = 30.0
    #: Per-attempt read timeout.
    timeout_s: float = 10.0
    #: ``idempotency``: a ledger URL (GET, reference-consumer format) or ``(event, id) -> count``.
    ledger: str | Ledger | None = None
    #: The whole run's time: every wait, recovery, shrinking and the ledger share it.
    max_time_s: float = 120.0
    #: Captured Record360 bodies (:func:`contracts.verifier.corpus.read_corpus`): sent as they
    #: are by ``accepts-valid``, and evolved by ``tolerates-evolution``.
    corpus: tuple[CorpusBody, ...] = ()
    #: How many corpus bodies ``tolerates-evolution`` evolves (each by every change).
    corpus_evolutions: int = 10


#: The longest ``--max-time`` accepted: a day (a run is meant for a CI step, not a soak).
MAX_TIME_LIMIT_S = 86_400.0


def parse_max_time(text: str | float | None, option: str = "--max-time") -> float | None:
    """A ``--max-time`` value in seconds (1 to a day), or ``None`` when not given."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1.0 <= value <= MAX_TIME_LIMIT_S:  # also refuses NaN and infinities
        raise UsageError(f"{option} {text!r} must be seconds from 1 to {MAX_TIME_LIMIT_S:g}")
    return value


def check_ledger(value: str | None, option: str = "--ledger") -> str | None:
    """A ledger is a ``/path`` on the target or an http(s) URL without credentials in it (on the
    target's origin it is read with the run's own credentials)."""
    if value is None or value.startswith("/"):
        return value
    checked = parse_webhook_url(value, option=option)
    if checked.has_credentials:
        raise UsageError(
            f"{option} {checked.url!r} carries user info; leave it out: a ledger on the target's "
            "origin is read with the run's own credentials"
        )
    return value


class BudgetSpent(Exception):
    """The run's time budget ran out before a delivery could be sent, or while its attempt
    waited for an answer (``delivery``: that one, cut off, judged by nothing); the check in
    progress ends ``inconclusive`` (raised by :meth:`CheckContext.deliver`, caught by the run)."""

    def __init__(self, message: str, delivery: Delivery | None = None) -> None:
        super().__init__(message)
        self.delivery = delivery


@dataclass
class CheckContext:
    """Shared by every check of one run; owns one :class:`Sender` per credential variant.

    The credentials, headers, TLS setting and redactor all come from one
    :class:`~mockserver.settings.DeliverySettings`, made by the settings factory, so the verifier
    redacts exactly what ``send`` and ``serve`` redact.
    """

    target: Target
    settings: DeliverySettings
    options: VerifyOptions
    seed: int
    clock: Clock = field(default_factory=SystemClock)
    durations: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    #: Why no check that needs a connection can run (the probe found the target unreachable,
    #: or ``tls`` failed); ``None`` while they can.
    blocked: Block | None = None
    #: The run's time, shared by every wait (set by :meth:`create` from ``max_time_s``).
    budget: Budget | None = None
    #: Attempts that got no HTTP answer at all (connection errors, timeouts), by kind.
    no_answers: Counter[str] = field(default_factory=Counter)
    #: Final answers to deliveries with the configured credentials, by status, for premises.
    answers: Counter[int] = field(default_factory=Counter)
    _senders: dict[str, Sender] = field(default_factory=dict)
    _bulk: BulkGenerator | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(
        cls,
        target: Target,
        *,
        settings: DeliverySettings | None = None,
        auth: AuthScheme | None = None,
        headers: Mapping[str, str] | None = None,
        options: VerifyOptions | None = None,
    ) -> CheckContext:
        """A context for ``target``: with ``settings`` from the factory, or built from
        ``auth``, ``headers`` and the target's URL and TLS options through it."""
        options = options or VerifyOptions()
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
        if settings is None:
            settings = delivery_settings(
                None if target.in_process else target.url,
                auth=auth,
                headers=headers or {},
                ca_bundle=None if target.in_process else target.ca_bundle,
                insecure=False if target.in_process else target.insecure,
            )
            if settings.insecure_warning:  # a library call: this is its entry point
                warnings.warn(settings.insecure_warning, InsecureTLSWarning, stacklevel=3)
        elif auth is not None or headers is not None:
            raise UsageError("pass settings, or auth and headers, not both")
        elif not target.in_process:
            settings = settings.with_tls(target.ca_bundle, target.insecure)
        if not target.in_process and settings.url is not None:
            target = dataclasses.replace(target, url=settings.url)  # never the user info
        context = cls(target, settings, options, seed)
        context.budget = Budget(options.max_time_s, context.clock)
        return context

    @property
    def auth(self) -> AuthScheme | None:
        return self.settings.auth

    @property
    def headers(self) -> Mapping[str, str]:
        return self.settings.headers

    @property
    def redactor(self) -> Redactor:
        return self.settings.redactor

    # -- delivering ---------------------------------------------------------------------------

    def sender(
        self,
        credentials: str | NegativeVariant = CONFIGURED,
        *,
        connections: int = 4,
        pool: str | None = None,
        follow_429: bool = True,
    ) -> Sender:
        """The sender for a credential variant (configured, none, or a forged one).

        ``pool`` names a separate sender (own connection pool) for the same credentials;
        ``follow_429=False`` makes one that records a 429 instead of waiting it out.
        """
        key = credentials if isinstance(credentials, str) else f"variant:{credentials.name}"
        key = f"{pool}:{key}" if pool else key
        key = key if follow_429 else f"{key}:no-follow"
        with self._lock:
            if key not in self._senders:
                self._senders[key] = self._new_sender(credentials, connections, follow_429)
            return self._senders[key]

    def _new_sender(
        self, credentials: str | NegativeVariant, connections: int, follow_429: bool
    ) -> Sender:
        source: Any
        if credentials == CONFIGURED:
            source = self.auth
        elif credentials == NO_CREDENTIALS:
            source = None
        else:
            assert isinstance(credentials, NegativeVariant)
            source = VariantSource(credentials)
        target = self.target
        # Forged credentials are not secrets, and a report must show them; the real ones are.
        redactor = (
            self.redactor
            if credentials == CONFIGURED
            else forged_redactor(self.redactor, self.auth)
        )
        retry: Policy = (
            ThrottleRetry(
                per_delivery_s=self.options.retry_after_budget_s,
                budget=self.budget,
                clock=self.clock,
            )
            if follow_429
            else PRESETS["none"]
        )
        return Sender(
            target.url,
            transport=target.transport,
            auth=source,
            headers=self.headers,
            retry=retry,
            # A sender made late in the run (the burst) waits no longer than the run has left;
            # :meth:`deliver` also cuts each attempt off where the run's time ends.
            connect_timeout=min(DEFAULT_CONNECT_TIMEOUT, self.attempt_timeout_s()),
            read_timeout=self.attempt_timeout_s(),
            verify=None if target.in_process else self.settings.verify,
            clock=self.clock,
            redactor=redactor,
            body_limit=_BODY_LIMIT,
            max_connections=connections,
        )

    def deliver(
        self,
        payload: Any,
        *,
        event: str,
        credentials: str | NegativeVariant = CONFIGURED,
        key: str | None = None,
        follow_429: bool = True,
    ) -> Delivery:
        """One delivery; a 429 is waited out for its ``Retry-After`` and resent (same key), as
        the sender's ``verifier`` retry policy says; only the final answer counts.

        Raises :class:`BudgetSpent` when the run's time is up: before sending (nothing is sent
        then), or during an attempt, which is cut off where the run's time ends (a read timeout
        longer than what is left does not stretch the run), and judged by nothing.
        """
        self.check_budget()
        sender = self.sender(credentials, follow_429=follow_429)
        ends = time.monotonic() + self.remaining_s()
        with deadline_cap(ends) if math.isfinite(ends) else nullcontext():
            delivery = sender.deliver(payload, event=event, key=key)
        last = delivery.attempts[-1]
        # A socket timeout set to what was left ends at or after ``ends`` on the same clock.
        if last.status is None and last.error_kind == "timeout" and time.monotonic() >= ends:
            raise BudgetSpent(self._spent_message(), delivery)
        self.record(delivery, configured=credentials == CONFIGURED)
        return delivery

    def check_budget(self) -> None:
        """Raise :class:`BudgetSpent` when the run's time is up."""
        if self.budget is not None and self.budget.expired:
            raise BudgetSpent(self._spent_message())

    def _spent_message(self) -> str:
        return (
            f"the run's time budget ({self.options.max_time_s:g} s, --max-time) ran out "
            "before this check finished"
        )

    def remaining_s(self) -> float:
        """Seconds left of the run's budget."""
        return self.budget.remaining() if self.budget is not None else float("inf")

    def attempt_timeout_s(self) -> float:
        """The read timeout of a request made now: the configured one, or what is left of the
        run's time when that is less (half a second at least, so a request can be made)."""
        return min(self.options.timeout_s, max(self.remaining_s(), 0.5))

    def record(self, delivery: Delivery, *, configured: bool = True) -> None:
        """Count a delivery's answers: only HTTP answers are timed (``latency`` judges answers,
        not refused connections), and final answers to real credentials feed the premises."""
        with self._lock:
            for attempt in delivery.attempts:
                if attempt.status is None:
                    self.no_answers[str(attempt.error_kind)] += 1
                else:
                    self.durations.append(attempt.duration_s)
            final = delivery.attempts[-1].status if delivery.attempts else None
            if configured and final is not None:
                self.answers[final] += 1

    @property
    def accepted_any(self) -> bool:
        """Some delivery with the configured credentials was answered 2xx in this run."""
        with self._lock:
            return any(200 <= status < 300 for status in self.answers)

    def close(self) -> None:
        for sender in self._senders.values():
            sender.close()
        close = getattr(self.target.transport, "close", None)
        if close is not None:
            close()

    # -- reporting ----------------------------------------------------------------------------

    def evidence(self, delivery: Delivery, **extra: Any) -> dict[str, Any]:
        """Details of a delivery for a failed finding: body, response, curl, seed (redacted)."""
        last = delivery.attempts[-1]
        curl = curl_line(
            self.target.url,
            last.request_headers,
            delivery.body,
            redactor=self.redactor,
            ca_bundle=self.settings.ca_bundle,
            in_process=self.target.in_process,
        )
        response: dict[str, Any] = {
            "status": last.status,
            "headers": dict(last.response_headers),
            "body": self.redactor.text(last.body_excerpt or ""),
        }
        if last.error_kind:
            response["error"] = f"{last.error_kind}: {self.redactor.text(last.error_message or '')}"
        return {
            "payload": delivery.to_json()["payload"],
            "response": response,
            "curl": curl.command,
            "curl_warnings": list(curl.warnings),
            "seed": self.seed,
            **extra,
        }


def answered(delivery: Delivery) -> str:
    """The final answer in words: ``status 500`` or ``timeout: ...``."""
    last = delivery.attempts[-1]
    if last.status is not None:
        return f"status {last.status}"
    return f"{last.error_kind}: {last.error_message}"


def accepted(delivery: Delivery) -> bool:
    status = delivery.attempts[-1].status
    return status is not None and 200 <= status < 300


def fresh_body(ctx: CheckContext, purpose: str) -> tuple[str, dict[str, Any]]:
    """A valid body with an ID never sent before in this run (so dedup cannot hide anything)."""
    with ctx._lock:
        if ctx._bulk is None:
            ctx._bulk = BulkGenerator(seed=ctx.seed, templates=8)
        item = next(ctx._bulk)
    return item.event, item.payload
