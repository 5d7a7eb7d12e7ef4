"""The tables of ``serve``'s state database, and the migrations that make and update them.

``PRAGMA user_version`` is the schema version: ``MIGRATIONS[n]`` takes a file at version ``n`` to
``n + 1`` in one transaction (:meth:`mockserver.server.database.Database._migrate` runs them), so
a file written by any earlier version opens, and none is ever left half migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

_SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE deliveries (
    seq           INTEGER PRIMARY KEY,   -- creation order: listing and cursors
    id            TEXT NOT NULL UNIQUE,
    subscription  TEXT NOT NULL,
    event         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                      ('pending', 'delivering', 'delivered', 'dead-lettered', 'interrupted')),
    due_at        REAL,                  -- the next attempt (Unix s); NULL when final
    url           TEXT NOT NULL,         -- redacted
    payload       TEXT NOT NULL,         -- the JSON body, byte for byte as sent
    changes       TEXT NOT NULL DEFAULT '[]',
    policy        TEXT,
    reason        TEXT,
    detail        TEXT,
    redelivery_of TEXT,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER
);
-- The schedule: each subscription's waiting deliveries, earliest first.
CREATE INDEX deliveries_schedule ON deliveries (subscription, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_by_status ON deliveries (status, seq);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription, seq);
CREATE INDEX deliveries_by_event ON deliveries (event, seq);
CREATE INDEX deliveries_by_created ON deliveries (created_at);
CREATE INDEX deliveries_redeliveries ON deliveries (redelivery_of)
    WHERE redelivery_of IS NOT NULL;

CREATE TABLE attempts (
    delivery         INTEGER NOT NULL REFERENCES deliveries (seq) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       REAL NOT NULL,
    duration_s       REAL NOT NULL,
    status           INTEGER,
    error_kind       TEXT,
    error_message    TEXT,           -- redacted
    tls_failure      TEXT,
    retry_after_s    REAL,
    delay_s          REAL,
    request_headers  TEXT NOT NULL,  -- JSON object, credentials [REDACTED]
    response_headers TEXT NOT NULL,  -- JSON object
    body_excerpt     TEXT NOT NULL,  -- redacted
    body_truncated   INTEGER NOT NULL,
    PRIMARY KEY (delivery, number)
) WITHOUT ROWID;

-- How many deliveries are in each state, kept by triggers: the dashboard asks every second, and
-- COUNT(*) over a million rows would hold the state that long.
CREATE TABLE status_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO status_counts (status, n) VALUES
    ('pending', 0), ('delivering', 0), ('delivered', 0), ('dead-lettered', 0), ('interrupted', 0);
CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
    UPDATE status_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF status ON deliveries
    WHEN OLD.status <> NEW.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE status_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
END;

CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,        -- the JSON object POST /v1/subscriptions was given
    created_at REAL NOT NULL
) WITHOUT ROWID;
"""


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one: ``executescript`` would COMMIT the migration's
    transaction first, and a half-made schema must never be left behind."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def _version_1(connection: sqlite3.Connection) -> None:
    for statement in _statements(_SCHEMA_V1):
        connection.execute(statement)


#: Version 2: listings filtered by subscription and state read one index range; and
#: ``created_at`` never decreases as ``seq`` grows (two requests racing to commit could leave it
#: a few milliseconds out of order), so a time range is a range of ``seq`` (see ``store.py``).
_SCHEMA_V2 = """
CREATE INDEX deliveries_by_subscription_status ON deliveries (subscription, status, seq);
WITH running AS (
    SELECT seq, MAX(created_at) OVER (ORDER BY seq) AS floor FROM deliveries
)
UPDATE deliveries SET created_at = running.floor FROM running
    WHERE running.seq = deliveries.seq AND deliveries.created_at < running.floor;
"""


def _version_2(connection: sqlite3.Connection) -> None:
    for statement in _statements(_SCHEMA_V2):
        connection.execute(statement)


#: ``MIGRATIONS[n]`` takes a database at schema version ``n`` to ``n + 1``, in one transaction.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_version_1, _version_2)
SCHEMA_VERSION = len(MIGRATIONS)
