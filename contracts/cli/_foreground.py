"""What the long-running commands (``serve``, ``consumer``) share: port checks and stopping.

Both run until Ctrl-C or SIGTERM and must stop the same way: SIGTERM is turned into the
``KeyboardInterrupt`` that Ctrl-C raises, so one ``except`` path finishes in-flight work.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from contracts.errors import UsageError


def check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} must be from 0 to 65535")


def cannot_listen(host: str, port: int, error: OSError) -> UsageError:
    return UsageError(f"cannot listen on {host}:{port} ({error.strerror}); pick another --port")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises KeyboardInterrupt; the old handler is restored after."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
