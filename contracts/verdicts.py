"""Verdicts in bulk: the fast path for every body, the slow path once per way of failing.

Why this module exists: ``validate --summary`` and ``drift`` count violations by (rule, path) over
hundreds of thousands of bodies. jsonschema-rs decides the valid ones (:mod:`contracts._fastpath`);
an invalid body's rules must still be the reference validator's, so that the counts agree with
``r360-webhooks validate`` body by body, but that slow path costs about a millisecond. Real
traffic fails in few ways many times (a field that is always an integer), so each distinct
*error shape* (:func:`contracts._fastpath.error_shape`: which keywords failed where, on which JSON
types) is explained by the slow path once and remembered, in a bounded memo.

Paths are normalised for counting: array indices become ``[*]``
(``$.transaction.photos[*].url``), so one broken field is one row however many photos there are.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts import schemas
from contracts._fastpath import ShapeKey, error_shape
from contracts.schemas import EventSpec, SchemaSet

__all__ = ["Judge", "Verdict", "normal_path", "normalise"]

#: A path segment that stands for any array index or any key of a customer-data map.
ANY = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """One body's verdict: the envelope it was judged by, and its (path, rule) pairs.

    ``event`` is ``None`` for a body that is not an object or matches no known event (its one
    violation at ``$`` says which). ``violations`` is sorted, unique and normalised.
    """

    event: str | None
    violations: tuple[tuple[str, str], ...]

    @property
    def valid(self) -> bool:
        return not self.violations


class Judge:
    """Judges many bodies against one schema set, remembering the slow path's answers.

    ``slow_calls`` counts how often the reference validator actually ran (for tests and
    ``--summary``'s footnote); ``memo_size`` bounds memory however diverse the failures.
    """

    def __init__(self, schema_set: SchemaSet | None = None, *, memo_size: int = 4096) -> None:
        self.schema_set = schema_set or schemas.bundled()
        self.slow_calls = 0
        self._memo: OrderedDict[tuple[str, ShapeKey], tuple[tuple[str, str], ...]] = OrderedDict()
        self._memo_size = memo_size

    def judge(self, payload: Any, *, event: str | None = None) -> Verdict:
        """The verdict ``schemas.validate`` would give, as normalised (path, rule) pairs."""
        judged = self.schema_set.judged_as(payload, event)
        if not isinstance(judged, EventSpec):
            return Verdict(None, ((judged.path, judged.rule),))
        return Verdict(judged.name, self.violations(judged.schema_name, payload))

    def violations(self, name: str, payload: Any) -> tuple[tuple[str, str], ...]:
        """Normalised (path, rule) pairs of ``payload`` against schema ``name``; () if valid."""
        validator = self.schema_set.fast_validator(name)
        try:
            if validator.is_valid(payload):
                return ()
            key = (name, error_shape(validator.iter_errors(payload), payload))
        except (ValueError, TypeError):  # outside what jsonschema-rs takes: no shape to share
            return self._explain(name, payload)
        known = self._memo.get(key)
        if known is not None:
            self._memo.move_to_end(key)
            return known
        explained = self._explain(name, payload)
        self._memo[key] = explained
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return explained

    def _explain(self, name: str, payload: Any) -> tuple[tuple[str, str], ...]:
        self.slow_calls += 1
        found = self.schema_set.details(name, payload)
        return tuple(sorted({(normalise(v.path), v.rule) for v in found}))


def normal_path(parts: Sequence[str | int | None]) -> str:
    """A JSONPath with ``[*]`` for every array index and every :data:`ANY` segment."""
    text = "$"
    for part in parts:
        if part is ANY or isinstance(part, int):
            text += "[*]"
        else:
            text += schemas.format_path([part])[1:]
    return text


def normalise(path: str) -> str:
    """``path`` (from :func:`contracts.schemas.format_path`) with array indices as ``[*]``.

    Quoted keys are copied as they are: ``$["a[0]"]`` keeps its brackets.
    """
    out: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == '"':  # a quoted key: copy through its closing quote, escapes included
            j = i + 1
            while path[j] != '"':
                j += 2 if path[j] == "\\" else 1
            out.append(path[i : j + 1])
            i = j + 1
        elif char == "[" and path[i + 1 : i + 2].isdigit():
            j = path.index("]", i)
            out.append("[*]")
            i = j + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)
