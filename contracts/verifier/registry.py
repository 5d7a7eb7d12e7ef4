"""The one place checks are registered; the order of registration is the order they run in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from contracts.errors import UsageError

if TYPE_CHECKING:
    from contracts.verifier.context import CheckContext
    from contracts.verifier.finding import Finding
    from contracts.verifier.premise import Block

CheckFn = Callable[["CheckContext"], "Finding"]
#: Why a check does not apply to this run (``skipped``), or ``None`` when it does.
SkipFn = Callable[["CheckContext"], "str | None"]


class Registry:
    """Named checks. A duplicate name is refused, naming both functions.

    A check that applies only to some runs (no ``--auth``, no ``--ledger``) registers a ``skip``
    function that says why not. The run asks it before anything else, so a check that was not
    applicable is ``skipped`` also when the target is unreachable: only a check that would have
    run is ``inconclusive`` for a blocked target.
    """

    def __init__(self) -> None:
        self._checks: dict[str, CheckFn] = {}
        self._skips: dict[str, SkipFn] = {}
        self._handshake_only: set[str] = set()

    def register(
        self, name: str, *, skip: SkipFn | None = None, handshake_only: bool = False
    ) -> Callable[[CheckFn], CheckFn]:
        """Register a check. ``handshake_only``: it needs a connection, not a delivery, so a
        TLS failure does not block it (``tls``, which judges exactly that)."""

        def decorate(fn: CheckFn) -> CheckFn:
            existing = self._checks.get(name)
            if existing is not None:
                raise ValueError(
                    f"check {name!r} is already registered by {existing.__module__}."
                    f"{existing.__qualname__}; rename {fn.__module__}.{fn.__qualname__}"
                )
            self._checks[name] = fn
            if skip is not None:
                self._skips[name] = skip
            if handshake_only:
                self._handshake_only.add(name)
            return fn

        return decorate

    def skip_reason(self, name: str, ctx: CheckContext) -> str | None:
        """Why check ``name`` does not apply to the run of ``ctx``, or ``None`` when it does."""
        skip = self._skips.get(name)
        return skip(ctx) if skip is not None else None

    def blocked_by(self, name: str, block: Block | None) -> bool:
        """Whether ``block`` keeps check ``name`` from running."""
        if block is None:
            return False
        return not (block.tls and name in self._handshake_only)

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

    def snapshot(self) -> tuple[dict[str, CheckFn], dict[str, SkipFn], set[str]]:
        return dict(self._checks), dict(self._skips), set(self._handshake_only)

    def restore(self, snapshot: tuple[dict[str, CheckFn], dict[str, SkipFn], set[str]]) -> None:
        self._checks, self._skips = dict(snapshot[0]), dict(snapshot[1])
        self._handshake_only = set(snapshot[2])


REGISTRY = Registry()
check = REGISTRY.register
