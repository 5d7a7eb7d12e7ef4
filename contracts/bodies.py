"""Read webhook bodies from files: a JSON document, JSON Lines, or standard input.

Shared by ``validate`` and the sender's ``--payload`` so both name a bad input the same way:
``file:line: problem``. Problems are *yielded* as :class:`InputError` values, not raised, so one
broken line or file does not hide the verdict on the others.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from contracts.errors import InputError

__all__ = ["Body", "read_bodies", "read_one_body"]

_JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Body:
    """One body and where it came from (``line`` is set for JSON Lines input)."""

    source: str
    line: int | None
    payload: dict[str, Any]

    @property
    def label(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"


def read_bodies(source: str, *, stdin: IO[str] | None = None) -> Iterator[Body | InputError]:
    """Every body in ``source`` (a path, or ``-`` for stdin), or the error that stops each one."""
    label = "<stdin>" if source == "-" else source
    try:
        if source == "-":
            text = (stdin or sys.stdin).read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        yield InputError("no such file; check the path", source=label)
        return
    except IsADirectoryError:
        yield InputError("is a directory; pass JSON or JSON Lines files", source=label)
        return
    except (OSError, UnicodeDecodeError) as error:
        yield InputError(f"cannot read ({error.__class__.__name__}: {error})", source=label)
        return
    if source.endswith(_JSONL_SUFFIXES):
        yield from _lines(text, label)
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several documents: read it as JSON Lines
            yield from _lines(text, label)
            return
        yield InputError(
            f"not JSON ({error.msg} at line {error.lineno} column {error.colno})", source=label
        )
        return
    yield _body(document, label, None)


def read_one_body(source: str) -> dict[str, Any]:
    """Exactly one body from ``source``; anything else is an :class:`InputError` (raised)."""
    results = list(read_bodies(source))
    for result in results:
        if isinstance(result, InputError):
            raise result
    if len(results) != 1:
        raise InputError(
            f"holds {len(results)} bodies; give a file with exactly one", source=source
        )
    body = results[0]
    assert isinstance(body, Body)
    return body.payload


def _lines(text: str, label: str) -> Iterator[Body | InputError]:
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # a trailing newline is not an empty record
        lines.pop()
    if not lines:
        yield InputError("is empty; expected at least one JSON body", source=label)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            yield InputError("empty line in JSON Lines input; remove it", source=label, line=number)
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            yield InputError(
                f"not JSON ({error.msg} at column {error.colno})", source=label, line=number
            )
            continue
        yield _body(document, label, number)


def _body(document: Any, label: str, line: int | None) -> Body | InputError:
    if not isinstance(document, dict):
        kind = "array" if isinstance(document, list) else type(document).__name__
        return InputError(
            f"body is a JSON {kind}, not an object; a webhook body is an object",
            source=label,
            line=line,
        )
    return Body(label, line, document)
