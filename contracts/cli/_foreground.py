"""What the long-running commands (``serve``, ``consumer``) share: port checks and stopping.

Both run until Ctrl-C or SIGTERM and must stop the same way: SIGTERM is turned into the
``KeyboardInterrupt`` that Ctrl-C raises, so one ``except`` path finishes in-flight work.
"""

from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from contracts.errors import UsageError


def check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} must be from 0 to 65535")


def cannot_listen(host: str, port: int, error: OSError) -> UsageError:
    reason = error.strerror or str(error)
    if isinstance(error, socket.gaierror) or error.errno in (errno.EADDRNOTAVAIL,):
        return UsageError(f"cannot listen on {host}:{port} ({reason}); pick another --host")
    return UsageError(f"cannot listen on {host}:{port} ({reason}); pick another --port")


def check_listen(host: str, port: int) -> None:
    """Bind ``host:port`` once, now, so that a bad ``--host`` or a busy ``--port`` is one
    ``r360-webhooks: error:`` line with exit code 2 (Werkzeug would print its own text and exit
    with 1)."""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        error = exc if isinstance(exc, OSError) else OSError(str(exc))
        raise cannot_listen(host, port, error) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise cannot_listen(host, port, exc) from None


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
