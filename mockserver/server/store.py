"""The delivery store of ``serve``: every delivery's state, in memory and on disk.

States follow one path, and none is skipped or lost::

    pending --> delivering --> delivered | dead-lettered
       \\              \\
        +--------------+--> interrupted   (the server stopped first)

A delivery is written as ``pending`` before it is queued, and again at every change of state, as
one JSON line holding the whole record (``STATE/deliveries.jsonl``, append-only: a kill loses at
most the line being written). On start the file is replayed, the last line of each id winning;
a delivery a killed run left ``pending`` or ``delivering`` is recorded ``interrupted``, so a
restart shows every past delivery and none stays pending forever.

Memory is bounded: the newest ``keep`` deliveries are held (and listed); older ones stay on disk
and :meth:`DeliveryStore.get` still finds them there by id.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast, get_args

from mockserver.delivery.records import Attempt, Delivery
from mockserver.errors import UsageError

__all__ = ["FINAL_STATES", "STATES", "DeliveryStore", "Page", "Record", "State"]

logger = logging.getLogger("mockserver.server.store")

State = Literal["pending", "delivering", "delivered", "dead-lettered", "interrupted"]
STATES: tuple[State, ...] = get_args(State)
FINAL_STATES: frozenset[State] = frozenset({"delivered", "dead-lettered", "interrupted"})
LOG_NAME = "deliveries.jsonl"
_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(slots=True)
class Record:
    """One delivery of one event to one subscription, as the server tracks it."""

    id: str
    subscription: str
    event: str
    payload: Any
    #: The target URL, already redacted.
    url: str
    status: State = "pending"
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    redelivery_of: str | None = None
    #: Names of the evolution changes applied to a generated body (empty for a valid one).
    changes: tuple[str, ...] = ()
    policy: str | None = None
    reason: str | None = None
    #: One line on why it was dead-lettered or interrupted (redacted).
    detail: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    #: Creation order, kept across restarts: listing and cursors use it.
    seq: int = 0

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    def copy(self) -> Record:
        return dataclasses.replace(self, attempts=list(self.attempts))

    def finish(self, delivery: Delivery) -> None:
        """Take the outcome of the sender's :class:`Delivery` (attempts already redacted)."""
        self.status = "delivered" if delivery.status == "delivered" else "dead-lettered"
        self.attempts = list(delivery.attempts)
        self.policy = delivery.policy
        self.reason = delivery.reason
        self.detail = delivery.detail

    def summary(self) -> dict[str, Any]:
        """The list view: everything but the payload and the attempts."""
        last = self.attempts[-1] if self.attempts else None
        return {
            "id": self.id,
            "subscription": self.subscription,
            "event": self.event,
            "status": self.status,
            "url": self.url,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "redelivery_of": self.redelivery_of,
            "changes": list(self.changes),
            "attempt_count": len(self.attempts),
            "last_status": last.status if last is not None else None,
            "reason": self.reason,
            "detail": self.detail,
        }

    def to_json(self) -> dict[str, Any]:
        """The full view: the summary, the retry policy, the payload and every attempt."""
        return {
            **self.summary(),
            "policy": self.policy,
            "payload": self.payload,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        status = data["status"]
        if status not in STATES:
            raise ValueError(f"unknown state {status!r}")
        return cls(
            id=str(data["id"]),
            subscription=str(data["subscription"]),
            event=str(data["event"]),
            payload=data.get("payload"),
            url=str(data["url"]),
            status=cast("State", status),
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            redelivery_of=data.get("redelivery_of"),
            changes=tuple(data.get("changes") or ()),
            policy=data.get("policy"),
            reason=data.get("reason"),
            detail=data.get("detail"),
            attempts=[Attempt.from_json(a) for a in data.get("attempts") or ()],
            seq=int(data.get("seq", 0)),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, newest first; ``next_cursor`` is ``None`` on the last page."""

    records: list[Record]
    total: int
    next_cursor: str | None


class DeliveryStore:
    """Thread-safe store of :class:`Record`; persistent when given a state directory.

    :param state_dir: where ``deliveries.jsonl`` lives (created if missing); ``None`` keeps
        everything in memory only.
    :param keep: how many of the newest deliveries are held in memory.
    """

    def __init__(
        self, state_dir: str | os.PathLike[str] | None = None, *, keep: int = 10_000
    ) -> None:
        if keep < 1:
            raise UsageError(f"keep {keep!r} must be at least 1")
        self._keep = keep
        self._lock = threading.Lock()
        self._records: OrderedDict[str, Record] = OrderedDict()  # in seq order
        self._seq = 0
        self._path: Path | None = None
        self._stream: IO[str] | None = None
        self.replayed = 0
        if state_dir is not None:
            self._path = _state_file(Path(state_dir))
            self._replay(self._path)
            self._stream = open(self._path, "a", encoding="utf-8")  # noqa: SIM115

    @property
    def path(self) -> Path | None:
        return self._path

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None

    # -- writing -------------------------------------------------------------------------------

    def add(self, record: Record) -> None:
        """Store a new record (``pending``) and give it the next sequence number."""
        with self._lock:
            self._seq += 1
            record.seq = self._seq
            self._records[record.id] = record
            self._evict()
            self._write(record)

    def update(self, record: Record, **changes: Any) -> bool:
        """Apply ``changes`` to ``record`` (a stored one) and persist the new state.

        A final state is final: a record that is already ``delivered``, ``dead-lettered`` or
        ``interrupted`` is left as it is, and ``False`` returned.
        """
        with self._lock:
            if record.status in FINAL_STATES:
                return False
            for name, value in changes.items():
                setattr(record, name, value)
            record.updated_at = time.time()
            self._write(record)
            return True

    def finish(self, record: Record, delivery: Delivery) -> bool:
        """Record the sender's outcome; ``False`` when ``record`` was already final."""
        with self._lock:
            if record.status in FINAL_STATES:
                return False
            record.finish(delivery)
            record.updated_at = time.time()
            self._write(record)
            return True

    def _write(self, record: Record) -> None:
        if self._stream is None:
            return
        line = json.dumps({**record.to_json(), "seq": record.seq}, ensure_ascii=False)
        self._stream.write(line + "\n")
        self._stream.flush()

    def _evict(self) -> None:
        while len(self._records) > self._keep:
            self._records.popitem(last=False)

    # -- reading -------------------------------------------------------------------------------

    def get(self, delivery_id: str) -> Record | None:
        """A copy of the record, from memory or, for an older one, from the state file."""
        with self._lock:
            record = self._records.get(delivery_id)
            if record is not None:
                return record.copy()
        return self._find_on_disk(delivery_id)

    def query(
        self,
        *,
        status: str | None = None,
        event: str | None = None,
        subscription: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
        offset: int = 0,
    ) -> Page:
        """Matching records in memory, newest first; ``cursor`` is a previous ``next_cursor``."""
        matched: list[Record] = []
        total = 0
        with self._lock:
            for record in reversed(self._records.values()):
                if (
                    (status is not None and record.status != status)
                    or (event is not None and record.event != event)
                    or (subscription is not None and record.subscription != subscription)
                ):
                    continue
                total += 1
                if cursor is not None and record.seq >= cursor:
                    continue
                if offset:
                    offset -= 1
                    continue
                if len(matched) <= limit:
                    matched.append(record.copy())
        more = len(matched) > limit
        page = matched[:limit]
        return Page(page, total, str(page[-1].seq) if more else None)

    def counts(self) -> dict[str, int]:
        """How many deliveries in memory are in each state (every state listed)."""
        with self._lock:
            counter = Counter(record.status for record in self._records.values())
        return {state: counter.get(state, 0) for state in STATES}

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    # -- the state file ------------------------------------------------------------------------

    def _replay(self, path: Path) -> None:
        unfinished: dict[str, Record] = {}
        skipped = 0
        for record in _read(path):
            if record is None:
                skipped += 1
                continue
            self.replayed += 1
            self._seq = max(self._seq, record.seq)
            self._records[record.id] = record
            if record.status in FINAL_STATES:
                unfinished.pop(record.id, None)
            else:
                unfinished[record.id] = record
            if len(self._records) > 2 * self._keep:  # trim now and then, not per line
                self._trim()
        self._trim()
        if skipped:
            logger.warning("%s: skipped %d unreadable line(s)", path, skipped)
        with open(path, "a", encoding="utf-8") as stream:
            self._stream = stream
            try:
                for record in sorted(unfinished.values(), key=lambda r: r.seq):
                    record.detail = (
                        f"the server stopped before this delivery finished (it was {record.status}"
                        " when the previous run ended without a clean shutdown)"
                    )
                    record.status = "interrupted"
                    record.reason = "interrupted"
                    record.updated_at = time.time()
                    self._write(record)
            finally:
                self._stream = None

    def _trim(self) -> None:
        ordered = sorted(self._records.values(), key=lambda r: r.seq)[-self._keep :]
        self._records = OrderedDict((record.id, record) for record in ordered)

    def _find_on_disk(self, delivery_id: str) -> Record | None:
        # Our ids are uuid4 hex; anything else cannot be in the file, and is not worth a scan.
        if self._path is None or not _ID.fullmatch(delivery_id):
            return None
        needle = json.dumps(delivery_id)
        found: Record | None = None
        for record in _read(self._path, contains=needle):
            if record is not None and record.id == delivery_id:
                found = record
        return found


def _state_file(state_dir: Path) -> Path:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / LOG_NAME
        path.touch()
    except OSError as exc:
        raise UsageError(
            f"--state {state_dir}: cannot use it as the state directory ({exc.strerror}); "
            "pass a writable directory"
        ) from None
    return path


def _read(path: Path, *, contains: str | None = None) -> Iterator[Record | None]:
    """Records of the state file in order; ``None`` for a line that cannot be read."""
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not line.strip() or (contains is not None and contains not in line):
                continue
            try:
                yield Record.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError, RecursionError):  # torn by a kill, or junk
                yield None
