"""How a JSON value, its type and its place in a body are written in one line of a report.

Why a module: validation messages, drift rows, diff lines and evolution notes all name a path
and show a value; each once had its own copy of these rules, and the copies had begun to differ
(one called ``3`` an ``integer``, another a ``number``). It imports nothing of the package, so
every layer may use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["MAX_SHOWN", "format_path", "json_type", "short"]

#: The longest value a one-line message shows before cutting it with ``...``.
MAX_SHOWN = 60


def json_type(value: Any, *, integers: bool = False) -> str:
    """The JSON type of ``value``; an ``int`` is ``number`` unless ``integers`` asks for
    ``integer`` (JSON Schema's finer reading, which a schema diff needs)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if integers else "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, Mapping) else "array"


def short(value: Any, limit: int = MAX_SHOWN) -> str:
    """``value`` as JSON, cut to ``limit`` characters (``...`` included) to fit one line."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_path(parts: Sequence[str | int] | Iterator[str | int]) -> str:
    """A JSONPath such as ``$.transaction.forms[0]["CheckBox A"]`` for a sequence of keys."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text
