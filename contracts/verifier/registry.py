"""The one place checks are registered; the order of registration is the order they run in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from contracts.errors import UsageError

if TYPE_CHECKING:
    from contracts.verifier.context import CheckContext
    from contracts.verifier.finding import Finding

CheckFn = Callable[["CheckContext"], "Finding"]


class Registry:
    """Named checks. A duplicate name is refused, naming both functions."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckFn] = {}

    def register(self, name: str) -> Callable[[CheckFn], CheckFn]:
        def decorate(fn: CheckFn) -> CheckFn:
            existing = self._checks.get(name)
            if existing is not None:
                raise ValueError(
                    f"check {name!r} is already registered by {existing.__module__}."
                    f"{existing.__qualname__}; rename {fn.__module__}.{fn.__qualname__}"
                )
            self._checks[name] = fn
            return fn

        return decorate

    def names(self) -> list[str]:
        return list(self._checks)

    def get(self, name: str) -> CheckFn:
        return self._checks[name]

    def select(self, names: list[str] | None) -> list[str]:
        """The checks to run, in registry order; unknown names are a usage error naming them."""
        if names is None:
            return self.names()
        unknown = [n for n in names if n not in self._checks]
        if unknown:
            names_ = ", ".join(map(repr, unknown))
            raise UsageError(f"unknown check(s) {names_}; known: {', '.join(self._checks)}")
        return [n for n in self._checks if n in names]

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def snapshot(self) -> dict[str, CheckFn]:
        return dict(self._checks)

    def restore(self, snapshot: dict[str, CheckFn]) -> None:
        self._checks = dict(snapshot)


REGISTRY = Registry()
check = REGISTRY.register
