"""``serve``'s state: one SQLite database, opened, locked, migrated and written one way.

Why SQLite (issue 13): ``serve`` runs for days beside a team's consumers, so an accepted event
must outlive the process, and a delivery waiting hours for its next attempt must be a row with a
due time, not a sleeping thread. The standard library's :mod:`sqlite3` gives transactions, indexes
and a file anyone can open with the ``sqlite3`` shell (``docs/serve.md`` shows how).

* ``--state DIR``: ``DIR/state.sqlite3`` in WAL mode, created ``0600`` (subscriptions made through
  the API keep their literal secrets here), with ``DIR/serve.lock`` held (``flock``) so that two
  servers never deliver from the same schedule. Without ``--state``: an in-memory database and
  the very same SQL.
* One connection writes, behind one lock: every state change is one transaction
  (:meth:`Database.write`). On disk, reads go through a small pool of read-only connections,
  each read one snapshot of committed transactions (:meth:`Database.read`), so a claim never
  waits for a group commit or an fsync; in memory, the one connection serves both. Writes use
  ``synchronous=NORMAL`` (WAL: a committed transaction survives SIGKILL, not a power cut) except
  those made ``durable=True`` (an accepted event before its 202, a new subscription before its
  201): ``FULL``, one ``fsync`` each. Losing an attempt's record to a power cut only repeats the
  attempt (at-least-once); losing an accepted event would break the 202's promise.
* ``PRAGMA user_version`` is the schema version; :data:`MIGRATIONS` brings an older file up to
  date, and the JSON Lines state of earlier versions (``deliveries.jsonl``) is imported once
  (:mod:`~mockserver.server.legacy`). A file from a newer version is refused in one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mockserver.errors import R360Error, UsageError
from mockserver.server.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["DB_NAME", "LOCK_NAME", "MAX_IDLE_READERS", "SCHEMA_VERSION", "Database", "StoreClosed"]

logger = logging.getLogger("mockserver.server.database")

DB_NAME = "state.sqlite3"
LOCK_NAME = "serve.lock"

#: Reading connections kept open between reads: the dispatcher, the workers and a few API
#: requests at once; a burst of concurrent API reads opens more and closes them after.
MAX_IDLE_READERS = 8


class StoreClosed(R360Error):
    """The state was closed (the server stopped); nothing more is read or written."""


class Database:
    """The state database; see the module docstring.

    :param state_dir: the ``--state`` folder (created ``0700`` if missing), or ``None`` for an
        in-memory database.
    """

    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._closed = False
        #: On disk, reads go through connections of their own, taken from a pool (WAL: readers
        #: wait for no writer, and a group commit or an accepted event's fsync holds up no
        #: claim). Pooled, not one per thread: Werkzeug serves each request in a new thread.
        self._idle_readers: list[sqlite3.Connection] = []
        self._reader_count = 0
        self._reading = 0
        self._idle = threading.Condition(threading.Lock())
        self._lockfile: IO[str] | None = None
        self.path: Path | None = None
        if state_dir is None:
            self._connection = _connect(":memory:", None)
        else:
            folder = Path(state_dir)
            self._lockfile = _lock(folder)
            self.path = folder / DB_NAME
            try:
                _create_private(self.path)
                self._connection = _connect(str(self.path), folder)
            except BaseException:
                self._lockfile.close()
                raise
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    @property
    def durable(self) -> bool:
        """Whether the state outlives the process (a ``--state`` folder was given)."""
        return self.path is not None

    @property
    def folder(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    @contextlib.contextmanager
    def write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error);
        ``durable`` commits with ``synchronous=FULL`` (see the module docstring)."""
        with self._lock:
            connection = self._open()
            full = durable and self.path is not None
            if full:
                connection.execute("PRAGMA synchronous=FULL")
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                if full:
                    connection.execute("PRAGMA synchronous=NORMAL")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading: its statements in the block see one state, with no
        write in between.

        In memory there is one connection, shared under the lock. On disk, this thread's own
        connection, used without the lock, in a read transaction: one snapshot of what was
        committed (WAL), so a read never waits for a write, nor a write for a read.
        """
        if self.path is None:
            with self._lock:
                yield self._open()
            return
        with self._idle:
            if self._closed:
                raise StoreClosed("the server's state is closed: it is shutting down")
            self._reading += 1
            connection = self._idle_readers.pop() if self._idle_readers else None
        try:
            if connection is None:
                connection = self._new_reader()
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")
        finally:
            surplus = None
            with self._idle:
                self._reading -= 1
                if connection is not None:
                    if len(self._idle_readers) < MAX_IDLE_READERS:
                        self._idle_readers.append(connection)
                    else:
                        surplus = connection
                        self._reader_count -= 1
                self._idle.notify_all()
            if surplus is not None:  # a burst of API reads is over: keep the pool small
                with contextlib.suppress(sqlite3.Error):
                    surplus.close()

    def _new_reader(self) -> sqlite3.Connection:
        assert self.path is not None
        connection = _connect(str(self.path), self.path.parent)
        connection.execute("PRAGMA query_only=ON")
        with self._idle:
            self._reader_count += 1
        return connection

    @property
    def reader_connections(self) -> int:
        """How many reading connections are open (idle ones: at most ``MAX_IDLE_READERS``)."""
        return self._reader_count

    def close(self) -> None:
        """Close the connection (a clean close folds the WAL back into the file) and unlock."""
        with self._lock:
            if self._closed:
                return
            with self._idle:
                self._closed = True
                self._idle.wait_for(lambda: self._reading == 0)
                for reader in self._idle_readers:
                    with contextlib.suppress(sqlite3.Error):
                        reader.close()
                self._idle_readers.clear()
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._connection.close()
            if self._lockfile is not None:
                self._lockfile.close()
                self._lockfile = None

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreClosed("the server's state is closed: it is shutting down")
        return self._connection

    # -- schema --------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Check the file, bring its schema up to date and import the earlier JSON Lines state.

        A damaged file, another program's database or an unreadable ``deliveries.jsonl`` is one
        line naming the file and what to do, never a traceback halfway through the start.
        """
        connection = self._connection
        try:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise self._unusable(f"it is not an SQLite database ({exc})") from None
        if version > SCHEMA_VERSION:
            raise self._unusable(
                f"it was written by a newer r360-webhooks (schema {version}, this one reads up "
                f"to {SCHEMA_VERSION}); run that version, or pass another --state"
            )
        try:
            self._check(version)
            legacy = self._legacy_source()
            self._check_tables(version)
            for step in range(version, SCHEMA_VERSION):
                with self.write() as transaction:
                    MIGRATIONS[step](transaction)
                    transaction.execute(f"PRAGMA user_version = {step + 1}")
                logger.info("state schema migrated to version %d", step + 1)
        except sqlite3.DatabaseError as exc:
            raise self.damaged(exc) from None
        if legacy is not None:
            from mockserver.server.legacy import import_json_lines

            try:
                import_json_lines(self, legacy.parent)
            except OSError as exc:  # renaming the imported file (reading it is legacy's)
                raise _unreadable(legacy, exc) from None
            except sqlite3.DatabaseError as exc:
                raise self.damaged(exc) from None

    def _check(self, version: int) -> None:
        """``PRAGMA quick_check`` (every page read once: a damaged file is refused now, not by a
        worker's first read), and a file of schema 0 with tables is another program's."""
        connection = self._connection
        if self.path is None:
            return
        problems = [row[0] for row in connection.execute("PRAGMA quick_check(1)").fetchall()]
        if problems != ["ok"]:
            raise self.damaged(problems[0])
        if version == 0:
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite%' ORDER BY name"
                )
            ]
            if tables:
                raise self._unusable(
                    f"it is not an r360-webhooks state (another program's tables: "
                    f"{', '.join(tables[:5])}); pass another --state, or move the file away"
                )

    def _check_tables(self, version: int) -> None:
        """A file that claims schema ``version`` has every table and column of it (else it is
        damaged or another program's, and would fail at its first use with a traceback)."""
        if version == 0:
            return
        present = _columns(self._connection)
        expected = _expected_columns(version)
        tables = sorted({t for t, _ in expected} - {t for t, _ in present})
        columns = sorted(f"{t}.{c}" for t, c in expected - present if t not in tables)
        if tables or columns:
            more = " and more" if len(columns) > 3 else ""
            lacks = (
                f"table(s) {', '.join(tables)}"
                if tables
                else f"column(s) {', '.join(columns[:3])}{more}"
            )
            raise self._unusable(
                f"it says schema {version} but lacks {lacks} (damaged, or not r360-webhooks' "
                "state); move it away to start afresh, or pass another --state"
            )

    def _legacy_source(self) -> Path | None:
        """The earlier versions' ``deliveries.jsonl``, checked readable before anything is
        written (a folder or a file without read permission by that name is one line)."""
        if self.path is None:
            return None
        from mockserver.server.legacy import LEGACY_NAME

        source = self.path.parent / LEGACY_NAME
        if not source.exists():
            return None
        try:
            open(source, "rb").close()
        except OSError as exc:
            raise _unreadable(source, exc) from None
        return source

    def damaged(self, error: sqlite3.Error | str) -> UsageError:
        """The one line for a state file SQLite cannot read (``error`` says what it found)."""
        found = " ".join(str(error).split())  # quick_check may answer in several lines
        return self._unusable(
            f"the state database is damaged ({found}); move it away or restore a backup, then "
            "start again (or pass another --state)"
        )

    def _unusable(self, why: str) -> UsageError:
        return UsageError(f"--state {self.path}: {why}")


def _unreadable(source: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"--state {source}: cannot read the earlier JSON Lines state ({exc.strerror or exc}); "
        "move it away, or make it a readable file"
    )


def _columns(connection: sqlite3.Connection) -> set[tuple[str, str]]:
    """``(table, column)`` for every column of every table of ``connection``'s database."""
    tables = [
        name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    return {
        (table, column)
        for table in tables
        for (column,) in connection.execute("SELECT name FROM pragma_table_info(?)", (table,))
    }


@functools.cache
def _expected_columns(version: int) -> frozenset[tuple[str, str]]:
    """The columns schema ``version`` has (a fresh in-memory database, migrated that far)."""
    connection = sqlite3.connect(":memory:")
    try:
        for migrate in MIGRATIONS[:version]:
            migrate(connection)
        return frozenset(_columns(connection))
    finally:
        connection.close()


#: UPDATE ... FROM (3.33) and RETURNING (3.35) are used; JSON functions too (built in since
#: 3.38, and in the usual builds before).
MIN_SQLITE = (3, 35, 0)


def _connect(target: str, folder: Path | None) -> sqlite3.Connection:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise UsageError(
            f"serve needs SQLite {'.'.join(map(str, MIN_SQLITE))} or later; this Python has "
            f"{sqlite3.sqlite_version}: use a newer Python build"
        )
    try:
        connection = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if folder is not None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        # The sqlite3 shell may hold a lock for a moment while someone inspects the file.
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute("SELECT json_array()")  # JSON functions are there
    except sqlite3.Error as exc:
        where = folder / DB_NAME if folder is not None else target
        raise UsageError(f"--state {where}: cannot open it as a database ({exc})") from None
    return connection


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (it may hold secrets)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UsageError(
            f"--state {path.parent}: cannot use it as the state directory ({exc.strerror}); "
            "pass a writable directory"
        ) from None


def _lock(folder: Path) -> IO[str]:
    """Hold ``folder/serve.lock`` (``flock``): one server per state; the kernel frees it on kill."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        stream = open(fd, "r+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(
            f"--state {folder}: cannot use it as the state directory ({exc.strerror}); "
            "pass a writable directory"
        ) from None
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        stream.seek(0)
        holder = stream.read().strip() or "?"
        stream.close()
        raise UsageError(
            f"--state {folder}: another r360-webhooks serve (pid {holder}) uses this state; "
            "stop it, or pass another --state"
        ) from None
    stream.seek(0)
    stream.truncate()
    stream.write(f"{os.getpid()}\n")
    stream.flush()
    return stream
