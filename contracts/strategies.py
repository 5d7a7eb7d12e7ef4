"""Hypothesis strategies for Record360 v1 webhook bodies: valid, evolved, and unknown events.

Use them in your own consumer tests::

    from hypothesis import given
    from contracts import strategies

    @given(strategies.webhook_payloads())
    def test_my_handler_accepts_every_valid_body(body): ...

    @given(strategies.evolved_payloads(event="transaction.create"))
    def test_my_handler_tolerates_evolution(evolved):
        body, changes = evolved.payload, evolved.changes   # changes name what was evolved

Bodies are realistic (numeric-string IDs, millisecond ``Z`` timestamps, e-mail usernames,
``[longitude, latitude]``, checklist answers of every JSON type, optional fields present and
absent) and shrink to the most ordinary body that still fails. Every strategy is proven against
the bundled schemas by the project's own property tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from contracts import schemas
from contracts._draw import DrawChooser
from contracts._evolved import Body, EvolvedPayload, _events, _events_for, evolve_drawn
from contracts._generate import generate, generate_unknown

__all__ = [
    "EvolvedPayload",
    "evolved_payloads",
    "tasks",
    "transactions",
    "unknown_events",
    "webhook_payloads",
]


def transactions() -> st.SearchStrategy[Body]:
    """Valid transaction (inspection) objects, as found under ``"transaction"``."""
    return _resource("transaction.create")


def tasks() -> st.SearchStrategy[Body]:
    """Valid task objects, as found under ``"task"``."""
    return _resource("task.completed")


def webhook_payloads(*, event: str | None = None) -> st.SearchStrategy[Body]:
    """Valid whole bodies (``{"event": ..., resource: {...}}``) of any known event, or of one."""
    events = _events(event)

    @st.composite
    def bodies(draw: st.DrawFn) -> Body:
        c = DrawChooser(draw)
        return generate(c.choice(events), c)

    return bodies()


def evolved_payloads(
    *, event: str | None = None, changes: Sequence[str] | None = None
) -> st.SearchStrategy[EvolvedPayload]:
    """Bodies evolved by Record360's compatible changes, with the list of changes applied.

    ``changes=None`` applies one to three changes that fit the drawn event; naming changes
    applies exactly those (each can be asked for alone). Bad names fail here, at call time.
    """
    events, names = _events_for(event, changes)

    @st.composite
    def evolved(draw: st.DrawFn) -> EvolvedPayload:
        return evolve_drawn(DrawChooser(draw), events, names)

    return evolved()


def unknown_events() -> st.SearchStrategy[Body]:
    """Bodies of events the contract does not know: a new ``event`` value on a known resource,
    or a new resource key (``work_order``...) with its own object. A consumer must acknowledge
    them (2xx), because Record360 may introduce event types at any time."""

    @st.composite
    def unknown(draw: st.DrawFn) -> Body:
        return generate_unknown(DrawChooser(draw))

    return unknown()


def _resource(event: str) -> st.SearchStrategy[Body]:
    resource = schemas.spec_for(event).resource

    @st.composite
    def objects(draw: st.DrawFn) -> Body:
        body: Body = generate(event, DrawChooser(draw))[resource]
        return body

    return objects()
