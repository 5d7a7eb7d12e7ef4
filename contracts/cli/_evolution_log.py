"""``send --evolved --log``: each log line says which evolutions made its body, and what they added.

Why: a delivery log of evolved bodies said *what* was sent, never *how it was made*. Whoever
judges a consumer or ``drift`` against such traffic had to rediscover what each evolution added
from the body itself, with the very rule under test. Each line of this log carries the changes
applied to its body, as the catalogue reports them (:class:`contracts.evolution.AppliedChange`)::

    "evolution": [{"change": "new-media-fields", "added": ["$.transaction.photos[0].exif"]}]

The sender only knows ``(event, bytes)``; this log remembers each body's changes when the body is
taken from the generator and writes them beside its line when the delivery ends (bodies are
unique: every one carries a fresh ID). Only bodies in flight are remembered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mockserver.delivery import DeliveryLog

if TYPE_CHECKING:
    import os

    from contracts.bulk import BulkBody
    from contracts.evolution import AppliedChange
    from mockserver.delivery import Delivery

__all__ = ["EvolutionLog"]


class EvolutionLog(DeliveryLog):
    """A :class:`DeliveryLog` whose lines carry the evolutions of generated bodies."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        super().__init__(target)
        self._applied: dict[bytes, tuple[AppliedChange, ...]] = {}
        self._remembering = threading.Lock()

    def track(self, bodies: Iterable[BulkBody]) -> Iterator[tuple[str, bytes]]:
        """``(event, body)`` for the sender, each body's changes remembered until it is logged."""
        for item in bodies:
            with self._remembering:
                self._applied[item.body] = item.applied
            yield item.event, item.body

    def line_of(self, delivery: Delivery) -> dict[str, Any]:
        line = super().line_of(delivery)
        with self._remembering:
            applied = self._applied.pop(delivery.body, ())
        line["evolution"] = [{"change": a.name, "added": list(a.added)} for a in applied]
        return line
