"""Shared shape of a benchmark result: our figure, a peer's figure from the same run, the ratio.

Machines here are noisy, so no figure means anything alone: each row compares us with a peer
measured minutes apart on the same machine, and targets are stated as ratios.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    ours: float
    peer_name: str
    peer: float
    unit: str
    target: str

    @property
    def ratio(self) -> float:
        return self.ours / self.peer if self.peer else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3) if self.peer else None}
