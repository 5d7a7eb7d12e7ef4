"""The verifier's checks: each a small function, registered once, run in registration order.

The names and their run order live in :mod:`contracts.verifier.check_names`; this package
imports one module per name in that order (each module registers its check as it loads), then
proves the registry holds exactly those names, in that order.
"""

from __future__ import annotations

import importlib

from contracts.verifier.check_names import CHECK_NAMES, module_of
from contracts.verifier.registry import REGISTRY

for _name in CHECK_NAMES:
    importlib.import_module(f"{__name__}.{module_of(_name)}")

if tuple(n for n in REGISTRY.names() if n in CHECK_NAMES) != CHECK_NAMES:  # pragma: no cover
    raise ImportError(
        f"the checks registered {REGISTRY.names()}, not {list(CHECK_NAMES)}: "
        "keep contracts/verifier/check_names.py and the check modules in step"
    )

__all__: list[str] = []
