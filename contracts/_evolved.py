"""Evolved bodies from any :class:`~contracts._choice.Chooser`, without Hypothesis.

Shared by :mod:`contracts.strategies` (Hypothesis draws) and :mod:`contracts.bulk` (a seeded
``Random``); apart from the strategies so that the bulk generator, and ``send`` and ``load``
with it, never import Hypothesis. ``InvalidArgument`` (a Hypothesis error too) is looked up
only when raised, for the same reason.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, NamedTuple

from contracts import errors, evolution, schemas
from contracts._choice import Chooser
from contracts._generate import generate
from contracts.errors import UsageError
from contracts.evolution import AppliedChange

Body = dict[str, Any]


class EvolvedPayload(NamedTuple):
    """An evolved body, its event, each change applied to it (in order), and the body before.

    ``original`` lets a failure be pinned on the evolution: if a consumer accepts the original
    but rejects the evolved body, the change broke it.
    """

    payload: Body
    event: str
    changes: tuple[AppliedChange, ...]
    original: Body

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(change.name for change in self.changes)


def _events_for(
    event: str | None, changes: Sequence[str] | None
) -> tuple[list[str], list[str] | None]:
    """The events a request for ``changes`` can apply to, and the checked change names."""
    if isinstance(changes, str):
        raise errors.InvalidArgument(f"changes must be a list of names, not the string {changes!r}")
    events = _events(event)
    if changes is None:
        return events, None
    names = evolution.check_changes(changes, event)
    events = [e for e in events if all(evolution.catalogue()[n].applies_to(e) for n in names)]
    if not events:
        raise errors.InvalidArgument(f"no known event accepts all of the changes {list(names)!r}")
    return events, names


def evolve_drawn(c: Chooser, events: list[str], names: list[str] | None) -> EvolvedPayload:
    """A body of one of ``events`` with ``names`` applied (one to three fitting ones if None)."""
    chosen = c.choice(events)
    body = generate(chosen, c)
    wanted = names if names is not None else c.sample(evolution.applicable_changes(chosen), 1, 3)
    evolution.prepare(body, chosen, wanted, c)
    original = copy.deepcopy(body)
    return EvolvedPayload(body, chosen, evolution.evolve(body, chosen, wanted, c), original)


def _events(event: str | None) -> list[str]:
    if event is None:
        return [spec.name for spec in schemas.known_events()]
    try:
        return [schemas.spec_for(event).name]
    except UsageError as error:
        raise errors.InvalidArgument(str(error)) from None
