"""Output files are checked before any work starts: a typo in ``--report-json`` must not cost a
whole verify run (or a 10-minute load test) and then fail at the very end."""

from __future__ import annotations

import os
from pathlib import Path

from contracts.errors import UsageError

__all__ = ["check_output"]


def check_output(option: str, value: str | None) -> None:
    """Refuse ``value`` now when it cannot be written: its folder is missing or not writable,
    or it names a folder."""
    if value is None or value == "-":
        return
    path = Path(value).expanduser()
    parent = path.resolve().parent
    if not parent.is_dir():
        shown = str(path.parent)  # as written: resolving shows /usr/bin/ls for /bin/ls
        if parent.exists():
            raise UsageError(
                f"{option} {value!r}: {shown!r} is not a folder; name a file in a folder"
            )
        raise UsageError(f"{option} {value!r}: folder {shown!r} does not exist; create it")
    if path.is_dir():
        raise UsageError(f"{option} {value!r} is a folder; name a file in it")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {value!r} cannot be written; pick a writable place")
