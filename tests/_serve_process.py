"""``r360-webhooks serve`` (or another command) in a subprocess, its output read as it comes.

Both pipes are drained by threads: a server that logs a line per request would otherwise block
on a full stderr pipe (64 KiB) while a test polls it, and look hung.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from typing import IO

from tests._server import WAIT_S

__all__ = ["Lines", "start_cli", "stop_cli"]


class Lines:
    """The subprocess's stdout line by line (a wait can time out), and its stderr, kept."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.err_reader = threading.Thread(
            target=self.errors.extend, args=(process.stderr,), daemon=True
        )
        self.reader.start()
        self.err_reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.queue.put(line)

    def next(self, timeout: float = WAIT_S) -> str:
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no new line after {timeout} s; so far: {self.seen}") from None
        self.seen.append(line)
        return line

    def text(self) -> str:
        while not self.queue.empty():
            self.seen.append(self.queue.get())
        return "".join(self.seen)


def start_cli(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], Lines]:
    """``python -m contracts ARGS`` with ``env`` added to this environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    return process, Lines(process)


def finish(process: subprocess.Popen[str], lines: Lines) -> tuple[str, str]:
    """Wait for the pipes to close (the process ended); returns stdout and stderr."""
    assert process.stdout is not None and process.stderr is not None
    lines.reader.join(5)
    lines.err_reader.join(5)
    process.stdout.close()
    process.stderr.close()
    return lines.text(), "".join(lines.errors)


def stop_cli(process: subprocess.Popen[str], lines: Lines, signum: int) -> tuple[str, str]:
    """Send ``signum`` and wait (30 s at most) for the process to end."""
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return finish(process, lines)
