"""Where generated bodies get their randomness from: Hypothesis draws or a seeded ``Random``.

Valid bodies and evolutions are written once, against :class:`Chooser`. Under Hypothesis
(:class:`DrawChooser`) every decision is a draw, so a failing body shrinks: optional fields to
absent, lists to empty, choices to the first (most ordinary) option, numbers towards zero. The
bulk generator and ``r360-webhooks example --seed`` use :class:`RandomChooser`, which needs no
Hypothesis engine and gives the same body for the same seed. :class:`DrawChooser` lives in
:mod:`contracts._draw`, so that this module, and ``send`` with it, never imports Hypothesis
(0.2 s of a command's start).
"""

from __future__ import annotations

import random
import string
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TypeVar

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
