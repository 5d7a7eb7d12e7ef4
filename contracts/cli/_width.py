"""Lines that fit: what a command prints is folded to 100 columns when it is not a terminal.

Why: a CI log, a pipe into ``less`` or a file read in a review tool shows a long line as one
unreadable row (a dead letter's reason, a schema pointer, a drift path). A terminal gets its own
width. Continuation lines are indented under the first, so a folded line still reads as one item.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from typing import TextIO

__all__ = ["PIPED_WIDTH", "echo", "fold", "width"]

#: The width of output that goes anywhere but a terminal.
PIPED_WIDTH = 100


def width(stream: TextIO | None = None) -> int:
    """Columns of ``stream`` (stdout by default): the terminal's, else :data:`PIPED_WIDTH`."""
    stream = stream if stream is not None else sys.stdout
    if stream.isatty():
        return max(shutil.get_terminal_size((PIPED_WIDTH, 24)).columns, 40)
    return PIPED_WIDTH


def fold(text: str, columns: int = PIPED_WIDTH) -> str:
    """Each line of ``text`` wrapped to ``columns``, continuations indented under its start."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= columns:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))] + "    "
        lines.extend(
            textwrap.wrap(
                line,
                columns,
                subsequent_indent=lead[: columns // 2],
                break_on_hyphens=False,
                drop_whitespace=True,
            )
        )
    return "\n".join(lines)


def echo(text: str = "", *, end: str = "\n", stream: TextIO | None = None) -> None:
    """``print(text)``, folded to the width of ``stream`` (stdout by default)."""
    out = stream if stream is not None else sys.stdout
    print(fold(text, width(out)), end=end, file=out)
