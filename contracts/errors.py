"""Errors raised by the contract package (schemas, strategies, checks, plugin, CLI).

::

    R360Error (mockserver.errors)
    ├── UsageError         bad flag, file, event name, argument (exit code 2 on the CLI)
    │   ├── InputError     a payload file that cannot be read or parsed; carries file and line
    │   └── InvalidArgument  a strategy option that makes no sense, raised at call time
    └── SchemaError        the bundled schemas themselves are broken (a bug, never user input)

Hypothesis's own ``InvalidArgument`` is what strategy users expect, so ours subclasses both.
"""

from __future__ import annotations

from hypothesis.errors import InvalidArgument as HypothesisInvalidArgument

from mockserver.errors import R360Error, UsageError

__all__ = ["InputError", "InvalidArgument", "R360Error", "SchemaError", "UsageError"]


class InputError(UsageError):
    """A payload source that cannot be used: missing, unreadable, not JSON, not an object."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


class InvalidArgument(UsageError, HypothesisInvalidArgument):
    """A strategy or generator option that makes no sense, named with ``!r`` at call time."""


class SchemaError(R360Error):
    """The bundled schemas are inconsistent: a packaging or authoring bug, not user input."""
