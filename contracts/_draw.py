"""Decisions as Hypothesis draws: the :class:`~contracts._choice.Chooser` of the strategies.

Apart from :mod:`contracts._choice` because importing Hypothesis costs about 0.2 s, which the
bulk generator (and so ``send`` and ``load``) must not pay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from contracts._choice import Chooser

__all__ = ["DrawChooser"]


class DrawChooser(Chooser):
    """Decisions as Hypothesis draws (inside ``@st.composite`` or ``st.data()``)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw
        # A body takes ~150 decisions. Asking Hypothesis's ConjectureData for the integer choice
        # directly (what st.integers does underneath) skips a strategy layer per decision and
        # made generation ~1.7x faster here (bench/generate.py); the choices, and so shrinking, are
        # the same. Falls back to strategy draws if that internal API ever goes away.
        data = getattr(draw, "__self__", None)
        self._draw_integer = getattr(data, "draw_integer", None)
        self._draw_boolean = getattr(data, "draw_boolean", None)

    def integer(self, low: int, high: int) -> int:
        if self._draw_integer is not None:
            return int(self._draw_integer(low, high))
        value: int = self.draw(_integers(low, high))
        return value

    def real(self, low: float, high: float) -> float:
        value: float = self.draw(_reals(low, high))
        return value

    def boolean(self) -> bool:
        if self._draw_boolean is not None:
            return bool(self._draw_boolean())
        value: bool = self.draw(_BOOLEANS)
        return value

    def text(self, alphabet: str, low: int, high: int) -> str:
        value: str = self.draw(_texts(alphabet, low, high))
        return value


# Strategies are immutable and cheap to reuse; building them once per shape keeps drawing fast.
_BOOLEANS = st.booleans()
_CACHE: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {}


def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    key = ("i", low, high)
    if key not in _CACHE:
        _CACHE[key] = st.integers(low, high)
    return _CACHE[key]


def _reals(low: float, high: float) -> st.SearchStrategy[float]:
    key = ("f", low, high)
    if key not in _CACHE:
        _CACHE[key] = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return _CACHE[key]


def _texts(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    key = ("t", alphabet, low, high)
    if key not in _CACHE:
        _CACHE[key] = st.text(alphabet=alphabet, min_size=low, max_size=high)
    return _CACHE[key]
