"""The delivery log: one JSON Lines record per finished delivery, written as it finishes.

A bulk run of millions of deliveries must not hold them in memory, and a crash must not lose the
ones already done, so each finished :class:`~mockserver.delivery.records.Delivery` is written as one
compact JSON line (all its attempts included) and flushed at once. JSON Lines keeps the file
greppable, appendable and readable line by line with :func:`read_log`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any

from mockserver.delivery.records import Delivery
from mockserver.errors import UsageError

__all__ = ["DeliveryLog", "read_log"]


class DeliveryLog:
    """Append-only JSON Lines sink for finished deliveries; thread-safe.

    :param target: a path (opened for appending, created if missing; the log never destroys
        earlier runs) or an open text stream, which the caller keeps ownership of.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str]) -> None:
        self._lock = threading.Lock()
        self._owned = isinstance(target, str | os.PathLike)
        if isinstance(target, str | os.PathLike):
            try:
                self._stream: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise UsageError(
                    f"delivery log {os.fspath(target)}: cannot open for writing ({exc.strerror}); "
                    "pass a writable file path"
                ) from exc
        else:
            self._stream = target
        self.count = 0

    def write(self, delivery: Delivery) -> None:
        """Append one line for ``delivery`` and flush it."""
        line = json.dumps(self.line_of(delivery), separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
            self.count += 1

    def line_of(self, delivery: Delivery) -> dict[str, Any]:
        """The JSON object written for ``delivery``; a subclass may add what the sender's caller
        knows and the delivery does not (how a generated body was made)."""
        return delivery.to_json()

    def close(self) -> None:
        if self._owned:
            self._stream.close()

    def __enter__(self) -> DeliveryLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_log(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the records of a delivery log one at a time (memory stays flat)."""
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                yield record
