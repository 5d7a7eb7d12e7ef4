"""A package's public names, imported when first asked for (PEP 562 ``__getattr__``).

Why: ``from contracts.verifier.check_names import CHECK_NAMES`` or ``from mockserver.delivery.retry
import PRESETS`` runs the package's ``__init__`` first; if that imported every public name, the
CLI's help would load httpx, Hypothesis and Rich to print a list of names. With this, each public
name lives in ``homes`` (name -> submodule) and is imported on first use, then cached.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    homes: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    first: Mapping[str, str] | None = None,
) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``homes`` maps each public name to its submodule;
    ``first`` maps a name to a submodule that must be imported before it (a registry that fills
    as its members import). Each value found is stored in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if first is not None and name in first:
            importlib.import_module(f"{package}.{first[name]}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__
