"""Errors raised by Record360's side of the webhook (auth, delivery, server).

They derive from the one root in :mod:`contracts.errors` (the ground floor), so the CLI turns
any of them into a single line and exit code 2 without a traceback::

    R360Error (contracts.errors)
    ├── UsageError        a bad flag, SPEC string, URL, file or config value (the user can fix it)
    │   ├── AuthSpecError a bad ``--auth`` SPEC; names the part that is wrong
    │   └── ConfigError   a bad ``serve`` config or subscription; names the file, subscription, key
    └── DeliveryError     the sender itself could not run a delivery (not a consumer failure)

A consumer answering 500 is *not* an error: it is an attempt outcome recorded on the delivery.
Messages are one line, name the offending value (with secrets already redacted) and the fix.
"""

from __future__ import annotations

from contracts.errors import R360Error, UsageError

__all__ = ["AuthSpecError", "ConfigError", "DeliveryError", "R360Error", "UsageError"]


class AuthSpecError(UsageError):
    """A malformed auth SPEC; the message names the part that is wrong and shows the forms."""


class ConfigError(UsageError):
    """A bad subscription or server setting, from a TOML file or the control API.

    Carries where it was found: ``path`` (the file, ``None`` for the API), ``subscription`` (its
    id, or ``#n`` when it has none) and ``key`` (the offending setting).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        subscription: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message, option=key)
        self.path = path
        self.subscription = subscription
        self.key = key


class DeliveryError(R360Error):
    """The sender could not run a delivery at all (as opposed to the consumer failing it)."""
