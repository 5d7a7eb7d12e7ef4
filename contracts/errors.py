"""The one error root of r360-webhooks: everything either package raises on purpose.

The contract layer is the ground floor (DESIGN.md, "Layers"), so the root lives here and
``mockserver.errors`` derives its errors from it; the CLI turns any :class:`R360Error` into one
line and exit code 2, without a traceback::

    R360Error
    ├── UsageError           bad flag, file, URL, event name, argument (exit code 2 on the CLI)
    │   ├── InputError       a payload file that cannot be read or parsed; carries file and line
    │   ├── InvalidArgument  a strategy option that makes no sense, raised at call time
    │   └── (mockserver.errors: AuthSpecError, ConfigError)
    ├── SchemaError          the bundled schemas themselves are broken (a bug, never user input)
    └── (mockserver.errors: DeliveryError)

Hypothesis's own ``InvalidArgument`` is what strategy users expect, so ours subclasses both. It
is built on first use, because importing Hypothesis costs a third of a second and a CLI usage
error or ``--help`` should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["InputError", "InvalidArgument", "R360Error", "SchemaError", "UsageError"]


class R360Error(Exception):
    """Root of the errors this project raises on purpose."""


class UsageError(R360Error, ValueError):
    """Bad input from the user: flag, SPEC string, URL, file or config value.

    ``option`` names the flag, key or variable at fault when the raiser knows it (the settings
    factory sets it, so a ``serve`` config error can name the subscription key).
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class InputError(UsageError):
    """A payload source that cannot be used: missing, unreadable, not JSON, not an object."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


class SchemaError(R360Error):
    """The bundled schemas are inconsistent: a packaging or authoring bug, not user input."""


if TYPE_CHECKING:
    from hypothesis.errors import InvalidArgument as _HypothesisInvalidArgument

    class InvalidArgument(UsageError, _HypothesisInvalidArgument):
        """A strategy or generator option that makes no sense, named with ``!r`` at call time."""

else:
    _LAZY: dict[str, type] = {}

    def __getattr__(name: str) -> Any:
        if name != "InvalidArgument":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        if name not in _LAZY:
            from hypothesis.errors import InvalidArgument as _HypothesisInvalidArgument

            class InvalidArgument(UsageError, _HypothesisInvalidArgument):
                """A strategy or generator option that makes no sense, named with ``!r``."""

            InvalidArgument.__module__ = __name__
            _LAZY[name] = InvalidArgument
        return _LAZY[name]
