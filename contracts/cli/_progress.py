"""A progress bar for long runs on a terminal, and nothing at all elsewhere (CI logs, pipes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(total: int, *, enabled: bool, label: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; thread-safe (rich's Progress locks), a no-op when not ``enabled``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console  # only a terminal gets a bar, and pays for Rich
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task(label, total=total)
    with progress:
        yield lambda n: progress.advance(task, n)
