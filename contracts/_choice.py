"""Where generated bodies get their randomness from: Hypothesis draws or a seeded ``Random``.

Valid bodies and evolutions are written once, against :class:`Chooser`. Under Hypothesis
(:class:`DrawChooser`) every decision is a draw, so a failing body shrinks: optional fields to
absent, lists to empty, choices to the first (most ordinary) option, numbers towards zero. The
bulk generator and ``r360-webhooks example --seed`` use :class:`RandomChooser`, which needs no
Hypothesis engine and gives the same body for the same seed.
"""

from __future__ import annotations

import random
import string
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")

#: Letters and digits: the alphabet of ordinary generated text.
PLAIN = string.ascii_letters + string.digits


class Chooser(ABC):
    """The decisions a generator can take. Simpler answers must come first (they shrink)."""

    @abstractmethod
    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``; shrinks towards ``low``."""

    @abstractmethod
    def real(self, low: float, high: float) -> float:
        """A finite float in ``[low, high]``."""

    @abstractmethod
    def boolean(self) -> bool:
        """True or False; shrinks to False."""

    @abstractmethod
    def text(self, alphabet: str, low: int, high: int) -> str:
        """A string of ``low`` to ``high`` characters from ``alphabet``."""

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``; shrinks to the first."""
        return options[self.integer(0, len(options) - 1)]

    def sample(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """``low`` to ``high`` distinct options, in a drawn order."""
        pool = list(options)
        picked = []
        for _ in range(self.integer(low, min(high, len(pool)))):
            picked.append(pool.pop(self.integer(0, len(pool) - 1)))
        return picked


class RandomChooser(Chooser):
    """Decisions from a seeded :class:`random.Random`: fast and reproducible, no shrinking."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def real(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def text(self, alphabet: str, low: int, high: int) -> str:
        return "".join(self.rng.choices(alphabet, k=self.rng.randint(low, high)))

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)


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
