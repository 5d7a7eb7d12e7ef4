"""Read webhook bodies from files: a JSON document, JSON Lines, or standard input.

Shared by ``validate`` and the sender's ``--payload`` so both name a bad input the same way:
``file:line: problem``. Problems are *yielded* as :class:`InputError` values, not raised, so one
broken line or file does not hide the verdict on the others. A ``.jsonl``/``.ndjson`` file is read
line by line, so ``validate --summary`` takes a file of any size in constant memory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from contracts.errors import InputError

__all__ = ["Body", "is_examples_index", "read_bodies", "read_one_body"]

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
    if source.endswith(_JSONL_SUFFIXES):
        yield from _stream(source, label)
        return
    try:
        if source == "-":
            text = (stdin or sys.stdin).read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield _unreadable(error, label)
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several documents: read it as JSON Lines
            yield from _lines(text.splitlines(), label)
            return
        yield InputError(
            f"not JSON ({error.msg} at line {error.lineno} column {error.colno})", source=label
        )
        return
    yield _body(document, label, None)


def is_examples_index(document: Any) -> bool:
    """Whether ``document`` is an examples index (``schemas/v1/examples/index.json``), not a body.

    The index maps each event name to ``{"file", "provenance", "description"}``; no webhook body
    has that shape, so ``validate schemas/v1/examples/*.json`` can skip it by content.
    """
    return (
        isinstance(document, dict)
        and bool(document)
        and "event" not in document
        and all(
            isinstance(entry, dict) and isinstance(entry.get("file"), str) and "provenance" in entry
            for entry in document.values()
        )
    )


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


def _unreadable(error: OSError | UnicodeDecodeError, label: str) -> InputError:
    if isinstance(error, FileNotFoundError):
        return InputError("no such file; check the path", source=label)
    if isinstance(error, IsADirectoryError):
        return InputError("is a directory; pass JSON or JSON Lines files", source=label)
    return InputError(f"cannot read ({error.__class__.__name__}: {error})", source=label)


def _stream(source: str, label: str) -> Iterator[Body | InputError]:
    try:
        with open(source, encoding="utf-8") as lines:
            yield from _lines(lines, label)
    except (OSError, UnicodeDecodeError) as error:
        yield _unreadable(error, label)


def _lines(lines: Iterable[str], label: str) -> Iterator[Body | InputError]:
    blank: list[int] = []  # blank lines count only when a record follows (a trailing newline)
    number = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blank.append(number)
            continue
        for empty in blank:
            yield InputError("empty line in JSON Lines input; remove it", source=label, line=empty)
        blank.clear()
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            yield InputError(
                f"not JSON ({error.msg} at column {error.colno})", source=label, line=number
            )
            continue
        yield _body(document, label, number)
    if number == len(blank):
        yield InputError("is empty; expected at least one JSON body", source=label)


def _body(document: Any, label: str, line: int | None) -> Body | InputError:
    if not isinstance(document, dict):
        kind = "array" if isinstance(document, list) else type(document).__name__
        return InputError(
            f"body is a JSON {kind}, not an object; a webhook body is an object",
            source=label,
            line=line,
        )
    return Body(label, line, document)
