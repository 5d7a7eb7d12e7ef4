"""Totals of a bulk run, built incrementally so memory stays flat.

The bulk sender streams finished deliveries to the log and keeps only counters here plus one
float per attempt (an ``array('d')``: 8 bytes each, 8 MB per million attempts) for the latency
percentiles, which are exact (nearest-rank) rather than estimated.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.delivery.records import Delivery

__all__ = ["Summary", "SummaryBuilder", "percentile"]


@dataclass(frozen=True, slots=True)
class Summary:
    """What happened in a bulk run. Every delivery is counted as delivered or dead-lettered."""

    total: int
    delivered: int
    dead_lettered: int
    #: Deliveries that needed more than one attempt (whatever their final status).
    retried: int
    attempts: int
    #: Attempt outcomes: status code as text ("200", "503") or error kind ("timeout", "tls").
    statuses: dict[str, int] = field(default_factory=dict)
    #: Dead-letter reasons ("gone", "redirect", "rejected", "exhausted") and their counts.
    reasons: dict[str, int] = field(default_factory=dict)
    #: Attempt durations in seconds (all attempts, failures included); ``None`` if no attempts.
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_p99_s: float | None = None
    #: Time from the first start to the end of the run, on the sender's clock.
    elapsed_s: float = 0.0

    @property
    def all_delivered(self) -> bool:
        return self.delivered == self.total

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "delivered": self.delivered,
            "dead_lettered": self.dead_lettered,
            "retried": self.retried,
            "attempts": self.attempts,
            "statuses": dict(self.statuses),
            "reasons": dict(self.reasons),
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "latency_p99_s": self.latency_p99_s,
            "elapsed_s": self.elapsed_s,
        }


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of sorted values (``None`` for none): the one percentile of
    the project, so ``send``'s summary, ``load``'s seconds and the ``latency`` check agree."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class SummaryBuilder:
    """Accumulates finished deliveries from worker threads into a :class:`Summary`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._durations: array[float] = array("d")
        self._statuses: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._total = self._delivered = self._dead = self._retried = 0

    def add(self, delivery: Delivery) -> None:
        with self._lock:
            self._total += 1
            if delivery.delivered:
                self._delivered += 1
            else:
                self._dead += 1
                self._reasons[str(delivery.reason)] += 1
            if len(delivery.attempts) > 1:
                self._retried += 1
            for attempt in delivery.attempts:
                self._durations.append(attempt.duration_s)
                self._statuses[attempt.outcome] += 1

    def export(self) -> dict[str, Any]:
        """Everything counted so far, as plain data another process can send back."""
        with self._lock:
            return {
                "durations": self._durations.tobytes(),
                "statuses": dict(self._statuses),
                "reasons": dict(self._reasons),
                "counts": (self._total, self._delivered, self._dead, self._retried),
            }

    def merge(self, exported: dict[str, Any]) -> None:
        """Add another builder's :meth:`export` (a worker process's share of one run)."""
        durations: array[float] = array("d")
        durations.frombytes(exported["durations"])
        total, delivered, dead, retried = exported["counts"]
        with self._lock:
            self._durations.extend(durations)
            self._statuses.update(exported["statuses"])
            self._reasons.update(exported["reasons"])
            self._total += total
            self._delivered += delivered
            self._dead += dead
            self._retried += retried

    def build(self, elapsed_s: float = 0.0) -> Summary:
        with self._lock:
            ordered = sorted(self._durations)
            return Summary(
                total=self._total,
                delivered=self._delivered,
                dead_lettered=self._dead,
                retried=self._retried,
                attempts=len(self._durations),
                statuses=dict(sorted(self._statuses.items())),
                reasons=dict(sorted(self._reasons.items())),
                latency_p50_s=percentile(ordered, 0.50),
                latency_p95_s=percentile(ordered, 0.95),
                latency_p99_s=percentile(ordered, 0.99),
                elapsed_s=elapsed_s,
            )
