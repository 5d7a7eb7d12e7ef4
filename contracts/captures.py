"""Read captured deliveries (``r360-capture/1``) or plain JSON Lines of bodies, as a stream.

Why this module exists: ``r360-webhooks drift`` judges what Record360 actually sent, recorded in
staging by ``r360-webhooks record``. A capture is JSON Lines, one delivery per line::

    {"format": "r360-capture/1", "time": "2026-11-30T04:05:06.123Z", "event": "transaction.create",
     "content_type": "application/json", "body": "<raw body as UTF-8 text>", "headers": [...],
     "auth": "Authorization: Bearer [REDACTED]", "remote": "127.0.0.1", "answer": {...}}

with ``body_b64`` (base64 of the raw bytes) instead of ``body`` when the body was not UTF-8. A line
without ``"format": "r360-capture/1"`` is a plain webhook body, so a file of bodies works too.

Lines are read one at a time (constant memory, any size). A line that cannot be used (not JSON, a
capture whose body is not JSON or not an object) is yielded as a :class:`Problem` with its line
number and the reading goes on; a delivery the recorder refused (``"refused": "why"``, no body)
is a :class:`Refused`; only a file that cannot be read at all (missing, a directory,
binary) raises :class:`~contracts.errors.InputError`, before any line is yielded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import InputError

__all__ = [
    "CAPTURE_FORMAT",
    "Delivery",
    "Problem",
    "Refused",
    "check_readable",
    "in_rotation_order",
    "read_captures",
]

#: The ``format`` value of a capture line; any other line is a plain body.
CAPTURE_FORMAT = "r360-capture/1"
_SNIFF_BYTES = 8192
_ROTATED = re.compile(r"(?P<base>.+)\.(?P<number>[0-9]+)")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One body to judge: where it is (``source:line``), when it was captured, the parsed body."""

    source: str
    line: int
    time: str | None
    body: dict[str, Any]
    #: The body's bytes exactly as received (what ``send --from-capture`` replays).
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Refused:
    """A delivery ``record`` refused (401, 413) and kept without its body, by design: counted
    apart, for it is neither a body to judge nor a broken line."""

    source: str
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that holds no usable body, and why (counted and reported, never fatal)."""

    source: str
    line: int
    reason: str
    #: A capture's body that is not a JSON object (a BOM, bytes that are not UTF-8, an array):
    #: nothing to judge, but still what was sent, so ``send --from-capture`` replays it.
    raw: bytes | None = None


def check_readable(source: str) -> None:
    """Raise :class:`InputError` (one line) unless ``source`` is a readable text file.

    Binary means a NUL byte or bytes that are not UTF-8 in the first 8 KiB, as ``grep`` decides.
    """
    path = Path(source)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise InputError("no such file; check the path", source=source) from None
    except IsADirectoryError:
        raise InputError(
            "is a directory; pass capture or JSON Lines files", source=source
        ) from None
    except OSError as error:
        raise InputError(f"cannot read ({error.strerror or error})", source=source) from None
    if b"\0" in head or not _is_utf8_prefix(head):
        raise InputError(
            "is a binary file, not a capture or JSON Lines (text, one JSON value a line)",
            source=source,
        )


def _is_utf8_prefix(head: bytes) -> bool:
    for cut in range(4):  # the sniffed block may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            if len(head) < _SNIFF_BYTES:
                return False
    return False


def in_rotation_order(sources: Sequence[str]) -> list[str]:
    """``sources`` with the rotated parts of each capture oldest first: ``FILE.1``, ``FILE.2``,
    ..., ``FILE.10``, then ``FILE`` (``record`` rotates that way), each capture where its first
    part was given; other files keep their place.

    Why: a shell glob (``capture.jsonl*``) sorts ``.10`` before ``.2`` and the newest part
    first, and the first line of each finding (and its example) should be the oldest one. A
    ``NAME.N`` is a part when ``NAME`` or another ``NAME.M`` is given too.
    """
    found = [(source, _ROTATED.fullmatch(source)) for source in sources]
    bases = [match["base"] for _, match in found if match]
    given = set(sources)

    def group(source: str, match: re.Match[str] | None) -> tuple[str, float]:
        if match and (match["base"] in given or bases.count(match["base"]) > 1):
            return match["base"], int(match["number"])
        return source, float("inf")  # a capture itself is its newest part

    keyed = [group(source, match) for source, match in found]
    first: dict[str, int] = {}
    for index, (name, _) in enumerate(keyed):
        first.setdefault(name, index)
    order = sorted(range(len(sources)), key=lambda i: (first[keyed[i][0]], keyed[i][1]))
    return [sources[i] for i in order]


def read_captures(source: str) -> Iterator[Delivery | Problem | Refused]:
    """Every delivery in ``source`` (checked with :func:`check_readable` first), or the problem
    that stops each line; blank lines are skipped."""
    check_readable(source)
    with open(source, "rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if raw.isspace():
                continue
            yield parse_line(raw, source, number)


def parse_line(raw: bytes, source: str, number: int) -> Delivery | Problem | Refused:
    """One line of a capture or of plain JSON Lines, judged as :func:`read_captures` does."""
    try:
        document = json.loads(raw.decode())  # str: json.loads skips guessing the encoding
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Problem(source, number, f"not JSON ({_why(error)})")
    if type(document) is dict and document.get("format") == CAPTURE_FORMAT:
        return _capture(document, source, number)
    if type(document) is not dict:
        return Problem(source, number, f"a JSON {_kind(document)}, not a webhook body (an object)")
    return Delivery(source, number, None, document, raw.strip())


def _capture(capture: dict[str, Any], source: str, number: int) -> Delivery | Problem | Refused:
    time = capture.get("time")
    text = capture.get("body")
    if isinstance(text, str):
        raw = text.encode("utf-8")
    elif isinstance(capture.get("body_b64"), str):
        try:
            raw = base64.b64decode(capture["body_b64"], validate=True)
        except binascii.Error:
            return Problem(source, number, "capture body_b64 is not base64")
    elif isinstance(capture.get("refused"), str):
        return Refused(source, number, capture["refused"])
    else:
        return Problem(source, number, "capture line without a body or body_b64")
    try:  # text as text (a BOM is not JSON); bytes as JSON's own encoding detection reads them
        body = json.loads(text) if isinstance(text, str) else json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Problem(source, number, f"capture body is not JSON ({_why(error)})", raw)
    if type(body) is not dict:
        return Problem(source, number, f"capture body is a JSON {_kind(body)}, not an object", raw)
    return Delivery(source, number, time if isinstance(time, str) else None, body, raw)


def _why(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    return "not UTF-8"


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean"}.get(
        type(value), "null" if value is None else "number"
    )
