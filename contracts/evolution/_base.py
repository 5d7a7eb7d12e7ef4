"""The unit of the catalogue: a named, backwards-compatible change and its one registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from contracts import errors, schemas
from contracts._choice import Chooser
from contracts.walk import Node, is_record, iter_nodes

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """What one change did to one body: enough to say which change broke a consumer, and where."""

    name: str
    detail: str
    added: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


class Change(ABC):
    """A compatible change from Record360's policy that turns a valid body into an evolved one.

    Subclasses register themselves by ``name`` (unique: a duplicate is refused, naming both
    classes), so the catalogue, the docs table and the verifier all read one registry.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    policy: ClassVar[str]
    #: Events the change applies to; ``None`` means every known event.
    events: ClassVar[frozenset[str] | None] = None
    #: Whether the paths it adds are outside the contract (reported by ``strict.undocumented``);
    #: false for additions inside customer-data maps and lists, which the contract describes.
    undocumented: ClassVar[bool] = False

    registry: ClassVar[dict[str, Change]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None) is None:
            return
        existing = Change.registry.get(cls.name)
        if existing is not None:
            raise TypeError(
                f"change name {cls.name!r} is taken by {type(existing).__qualname__}; "
                f"rename {cls.__qualname__}"
            )
        Change.registry[cls.name] = cls()

    def applies_to(self, event: str) -> bool:
        return self.events is None or event in self.events

    def prepare(self, body: Body, event: str, c: Chooser) -> None:  # noqa: B027 (optional hook)
        """Make ``body`` ready for the change with *valid* content only (default: nothing).

        Runs before the original is kept, so what ``prepare`` adds is part of the body a change
        is compared against: a consumer's failure is pinned on the change itself, not on it.
        """

    @abstractmethod
    def apply(self, body: Body, event: str, c: Chooser) -> AppliedChange:
        """Change ``body`` (a valid body of ``event``) in place and say what was done."""


def get_change(name: str) -> Change:
    try:
        return Change.registry[name]
    except KeyError:
        known = ", ".join(Change.registry)
        raise errors.InvalidArgument(f"unknown change {name!r}; known changes: {known}") from None


def records(body: Body, event: str) -> list[Node]:
    """Every record object in ``body`` (where an unknown key would be undocumented)."""
    return [
        n
        for n in iter_nodes(body, event=event)
        if isinstance(n.value, dict) and is_record(n.schema)
    ]


def id_nodes(body: Body, event: str) -> Iterator[Node]:
    """Every opaque-ID value in ``body``, found by its schema (``common.json#/$defs/id``)."""
    id_schema = schemas.load_schema("common")["$defs"]["id"]
    for node in iter_nodes(body, event=event):
        if node.schema is id_schema and isinstance(node.value, str):
            yield node


def new_key(c: Chooser, taken: set[str] | Any, candidates: tuple[str, ...]) -> str:
    """A key not in ``taken``: a plausible one first (shrinks there), else a generated one."""
    for _ in range(4):
        key = c.choice(candidates)
        if key not in taken:
            return key
    while True:
        key = "x_" + c.text("abcdefghijklmnopqrstuvwxyz_", 3, 16)
        if key not in taken:
            return key


def set_at(body: Body, path: tuple[str | int, ...], value: Any) -> None:
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def any_json(c: Chooser, depth: int = 2) -> Any:
    """Any JSON value, nested up to ``depth``; shrinks to null."""
    kind = c.integer(0, 6 if depth > 0 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return c.boolean()
    if kind == 2:
        return c.choice((0, -1, 2**31, 2**53 + 1, 10**20))
    if kind == 3:
        return c.choice((0.5, -0.0, 1e-7, 1.5e300))
    if kind == 4:
        return c.text('abcXYZ09 éß漢字🚚"\\/\t<>&', 0, 20)
    if kind == 5:
        return [any_json(c, depth - 1) for _ in range(c.integer(0, 3))]
    return {c.text("abcdefghij_", 1, 8): any_json(c, depth - 1) for _ in range(c.integer(0, 3))}
