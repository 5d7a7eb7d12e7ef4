"""The ``r360-webhooks`` command line: one module per sub-command, assembled here.

Errors the user can fix (a bad flag, file, event name) derive from ``R360Error`` and become one
line on stderr with exit code 2, never a traceback: DESIGN.md's exit codes are 0 all passed,
1 a check failed or a body violates, 2 bad usage or input (``drift`` adds 3: the contract is
behind traffic).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from contracts.cli import (
    consumer,
    demo,
    diff,
    drift,
    example,
    load,
    record,
    schema,
    send,
    serve,
    validate,
    verify,
)
from contracts.cli._help import LazyHelp
from contracts.errors import R360Error

__all__ = ["main"]

PROG = "r360-webhooks"
#: Sub-command modules; each offers ``register(subparsers)`` and sets ``func`` on its parser.
COMMANDS: tuple[ModuleType, ...] = (
    validate,
    drift,
    schema,
    example,
    send,
    verify,
    demo,
    serve,
    consumer,
    load,
    record,
    diff,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line (exit 2), without the usage dump, and
    fills in lazy help texts (:class:`~contracts.cli._help.LazyHelp`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", LazyHelp)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Contract tests, payloads, a mock sender and a verifier for Record360's v1 "
        "webhooks.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0, 1, 2, or 3 from ``drift``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except R360Error as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `r360-webhooks example ... | head` is not an error
        return 0
    return code
