"""Real Record360 bodies as test cases: the ``--corpus`` of ``verify`` and ``--r360-corpus``.

A capture (``r360-webhooks record``) holds what Record360 actually sent. Read into the run's
options, its bodies join ``accepts-valid`` (each sent as captured) and, with every change of the
evolution catalogue applied to a copy, ``tolerates-evolution``: the consumer is tested against
the traffic it will meet, and against how that traffic may still change.

Bodies are taken in order, each distinct one once, up to :data:`MAX_BODIES` (a day of traffic is
mostly the same shapes); only bodies of known events are kept (an unknown event is
``ignores-unknown-events``' business).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contracts import schemas
from contracts.errors import UsageError

__all__ = ["MAX_BODIES", "CorpusBody", "read_corpus"]

#: The most captured bodies one run sends (each once, and a few evolved).
MAX_BODIES = 200


@dataclass(frozen=True, slots=True)
class CorpusBody:
    """A captured body of a known event, and where it came from (``FILE:LINE``)."""

    event: str
    body: dict[str, Any]
    where: str


def read_corpus(sources: Iterable[str], *, limit: int = MAX_BODIES) -> tuple[CorpusBody, ...]:
    """The distinct bodies of known events in ``sources`` (captures or JSON Lines), in order."""
    from contracts.captures import Delivery, read_captures

    seen: set[str] = set()
    bodies: list[CorpusBody] = []
    for source in sources:
        for item in read_captures(source):
            if not isinstance(item, Delivery):
                continue
            spec = schemas.envelope_of(item.body)
            key = json.dumps(item.body, sort_keys=True)
            if spec is None or key in seen:
                continue
            seen.add(key)
            bodies.append(CorpusBody(spec.name, item.body, f"{item.source}:{item.line}"))
            if len(bodies) >= limit:
                return tuple(bodies)
    if not bodies:
        raise UsageError(
            f"--corpus {', '.join(sources)}: no body of a known event in it; give a capture "
            "from `r360-webhooks record` or JSON Lines of webhook bodies"
        )
    return tuple(bodies)
