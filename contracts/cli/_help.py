"""Help texts that name what the code knows (events, checks, changes, retry presets) without
importing it until a help text is actually shown.

``r360-webhooks --help`` and a usage error must answer about as fast as a bare interpreter, so no
command module imports the schema machinery, the verifier or an HTTP client when it only
registers its options. A help string says ``%(r360_checks)s`` instead, and :class:`LazyHelp`
fills it in from the one registry that lists them, when (and only when) that help is printed.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable

__all__ = ["LazyHelp"]


def _events() -> str:
    from contracts import schemas

    return ", ".join(spec.name for spec in schemas.known_events())


def _checks() -> str:
    from contracts.verifier.check_names import CHECK_NAMES

    return ", ".join(CHECK_NAMES)


def _changes() -> str:
    from contracts import evolution

    return ", ".join(evolution.catalogue())


def _presets() -> str:
    from mockserver.delivery.retry import PRESETS

    return ", ".join(PRESETS)


def _ramp_start() -> str:
    from mockserver.load_plan import RAMP_START_RATE

    return f"{RAMP_START_RATE:g}"


def _evolved_share() -> str:
    from contracts.bulk import DEFAULT_EVOLVED_SHARE

    return f"{DEFAULT_EVOLVED_SHARE:g}"


def _load_concurrency() -> str:
    from mockserver.load_plan import DEFAULT_CONCURRENCY

    return str(DEFAULT_CONCURRENCY)


_LAZY: dict[str, Callable[[], str]] = {
    "r360_ramp_start": _ramp_start,
    "r360_evolved_share": _evolved_share,
    "r360_load_concurrency": _load_concurrency,
    "r360_events": _events,
    "r360_checks": _checks,
    "r360_changes": _changes,
    "r360_presets": _presets,
}


class LazyHelp(argparse.HelpFormatter):
    """argparse's formatter, plus the ``%(r360_...)s`` placeholders of :data:`_LAZY`."""

    def _expand_help(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(r360_" in text:
            action = copy.copy(action)
            for key, make in _LAZY.items():
                placeholder = f"%({key})s"
                if placeholder in text:
                    text = text.replace(placeholder, make().replace("%", "%%"))
            action.help = text
        return super()._expand_help(action)
