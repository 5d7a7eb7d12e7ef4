"""Record360's compatibility policy as code: named changes that evolve a valid body.

Record360 promises that webhooks change only backwards-compatibly: new properties, new checklist
fields, reordered keys, IDs of other lengths and formats, new event types. Each such change is a
:class:`Change` registered once by name; :func:`evolve` applies a chosen set to a body and
returns what each did, so a consumer failure can name the change that broke it. Unknown events
are separate (:func:`contracts.strategies.unknown_events`): they are new bodies, not changes to a
known one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from contracts import errors
from contracts._choice import Chooser
from contracts.evolution import _changes  # noqa: F401  (registers the catalogue)
from contracts.evolution._base import AppliedChange, Body, Change, get_change

__all__ = [
    "AppliedChange",
    "Change",
    "applicable_changes",
    "catalogue",
    "check_changes",
    "evolve",
    "prepare",
]


def catalogue() -> dict[str, Change]:
    """Every change by name, in application order."""
    return dict(Change.registry)


def applicable_changes(event: str) -> list[str]:
    """Names of the changes that apply to bodies of ``event``."""
    return [name for name, change in Change.registry.items() if change.applies_to(event)]


def check_changes(names: Iterable[str], event: str | None = None) -> list[str]:
    """The names, checked (and that they fit ``event``); InvalidArgument names a bad one."""
    checked = []
    for name in names:
        change = get_change(name)
        if event is not None and not change.applies_to(event):
            fits = sorted(change.events or ())
            raise errors.InvalidArgument(
                f"change {name!r} does not apply to {event!r}; it applies to {fits}"
            )
        checked.append(name)
    if not checked:
        raise errors.InvalidArgument("changes must name at least one change, or be None for any")
    return checked


def prepare(body: Body, event: str, names: Sequence[str], c: Chooser) -> None:
    """Give ``body`` the valid content the named changes need (call before keeping an original)."""
    wanted = set(names)
    for name, change in Change.registry.items():
        if name in wanted:
            change.prepare(body, event, c)


def evolve(body: Body, event: str, names: Sequence[str], c: Chooser) -> tuple[AppliedChange, ...]:
    """Apply the named changes to ``body`` in place, in catalogue order; return what each did."""
    wanted = set(names)
    return tuple(
        change.apply(body, event, c) for name, change in Change.registry.items() if name in wanted
    )
