"""Seeded, reproducible bodies in bulk for load and rate tests, without the Hypothesis engine.

A delivery run must never wait for its payloads. So the generator builds a small pool of
template bodies once (valid, or evolved by the catalogue), serialises each, and then makes every
body by splicing a fresh unique ID into a template's bytes: a join of a few byte strings, far
faster than any HTTP client can send. IDs are unique per generator (the resource's ``id`` and
what refers to it: ``forms[].transaction_id``, ``view_url``), so a consumer that deduplicates by
ID sees every body as new.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import errors, schemas
from contracts._choice import RandomChooser
from contracts._evolved import EvolvedPayload, _events_for, evolve_drawn
from contracts._generate import generate
from contracts.errors import UsageError
from contracts.evolution import AppliedChange

__all__ = ["DEFAULT_EVOLVED_SHARE", "BodyMix", "BulkBody", "BulkGenerator", "sample_body"]

#: Share of evolved bodies (one to three catalogue changes) among the valid ones in a mix.
DEFAULT_EVOLVED_SHARE = 0.3

_SENTINEL = "R360BULKIDSENTINEL"


@dataclass(frozen=True, slots=True)
class BulkBody:
    """One body ready to send: its event, its unique resource ID, the JSON bytes, the changes."""

    event: str
    key: str
    body: bytes
    changes: tuple[str, ...]
    #: What each change did, with the paths it added (``send --evolved --log`` writes them, so a
    #: test of ``drift`` can know what traffic added without asking drift's own rule).
    applied: tuple[AppliedChange, ...] = ()

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True, slots=True)
class _Template:
    event: str
    parts: tuple[bytes, ...]
    opaque_prefix: str | None
    changes: tuple[str, ...]
    applied: tuple[AppliedChange, ...]


def sample_body(
    event: str | None = None,
    *,
    seed: int,
    evolved: bool = False,
    changes: Sequence[str] | None = None,
) -> EvolvedPayload:
    """One body for ``seed``: the same seed gives the same body (``r360-webhooks example``)."""
    c = RandomChooser(random.Random(seed))
    events, names = _events_for(event, changes)
    if names is None and not evolved:
        chosen = c.choice(events)
        body = generate(chosen, c)
        return EvolvedPayload(body, chosen, (), copy.deepcopy(body))
    return evolve_drawn(c, events, names)


class BulkGenerator:
    """An endless, reproducible stream of :class:`BulkBody` for one seed.

    ``evolved`` makes every template an evolved body (one to three changes, or exactly
    ``changes``); ``templates`` is how many distinct bodies are generated before splicing IDs.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        event: str | None = None,
        evolved: bool = False,
        changes: Sequence[str] | None = None,
        templates: int = 64,
    ) -> None:
        if templates < 1:
            raise errors.InvalidArgument(f"templates must be at least 1, not {templates!r}")
        self.seed = seed
        self._rng = random.Random(seed)
        self._prefix = str(1000 + seed % 9000)
        self._counter = 0
        self._templates = [
            self._template(
                sample_body(event, seed=self._rng.getrandbits(64), evolved=evolved, changes=changes)
            )
            for _ in range(templates)
        ]

    def __iter__(self) -> Iterator[BulkBody]:
        return self

    def __next__(self) -> BulkBody:
        self._counter += 1
        template = self._templates[self._rng.randrange(len(self._templates))]
        key = f"{self._prefix}{self._counter:010d}"
        if template.opaque_prefix is not None:
            key = f"{template.opaque_prefix}-{key}"
        embedded = json.dumps(key, ensure_ascii=False)[1:-1].encode()
        body = embedded.join(template.parts)
        return BulkBody(template.event, key, body, template.changes, template.applied)

    def take(self, count: int) -> list[BulkBody]:
        return [next(self) for _ in range(count)]

    @staticmethod
    def _template(sample: EvolvedPayload) -> _Template:
        body, event = sample.payload, sample.event
        resource = body[schemas.spec_for(event).resource]
        old = resource["id"]
        resource["id"] = _SENTINEL
        for form in resource.get("forms", []):
            if form.get("transaction_id") == old:
                form["transaction_id"] = _SENTINEL
        if isinstance(resource.get("view_url"), str):
            resource["view_url"] = resource["view_url"].replace(f"/{old}", f"/{_SENTINEL}")
        opaque = old[:200] if "opaque-id" in sample.names else None
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        parts = tuple(part.encode() for part in text.split(_SENTINEL))
        return _Template(event, parts, opaque, sample.names, sample.changes)


class BodyMix:
    """Seeded valid and evolved bodies, evolved with probability ``evolved_share``; unique IDs.

    Two generators (seeds ``2 * seed`` and ``2 * seed + 1``) feed the mix, so their ID prefixes
    differ and no ID repeats within a mix; mixes whose seeds differ by less than 4,500 never
    share an ID either (the Locust user gives worker ``i`` the seed ``seed + i``).
    """

    def __init__(self, *, seed: int, evolved_share: float, templates: int = 64) -> None:
        if not 0.0 <= evolved_share <= 1.0:  # also refuses NaN
            raise UsageError(
                f"evolved share {evolved_share:g} must be between 0 and 1 (0.3: 30 % evolved)"
            )
        self.seed = seed
        self.evolved_share = evolved_share
        self._rng = random.Random(seed)
        self._valid = None
        if evolved_share < 1.0:
            self._valid = BulkGenerator(seed=2 * seed, templates=templates)
        self._evolved = None
        if evolved_share > 0.0:
            self._evolved = BulkGenerator(seed=2 * seed + 1, evolved=True, templates=templates)

    def __iter__(self) -> Iterator[BulkBody]:
        return self

    def __next__(self) -> BulkBody:
        if self._valid is None or (
            self._evolved is not None and self._rng.random() < self.evolved_share
        ):
            assert self._evolved is not None
            return next(self._evolved)
        return next(self._valid)
