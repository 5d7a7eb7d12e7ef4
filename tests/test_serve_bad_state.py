"""A damaged or foreign ``--state`` is one ``r360-webhooks: error:`` line and exit 2, never a
traceback (issue 13 audit, item 1): the real command in a subprocess, as a user would meet it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mockserver.errors import UsageError
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.server.database import DB_NAME
from mockserver.server.schedule import Schedule
from mockserver.server.store import DeliveryStore, Record
from tests._server import wait_until
from tests.test_server_store import legacy_line


def serve(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contracts", "serve", "--port", "0", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("r360-webhooks: error: "), done.stderr
    for part in expected:
        assert part in done.stderr, done.stderr


def test_a_state_file_with_corrupt_interior_pages_is_one_line(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path)
    now = time.time()
    store.add([
        Record(id=f"d{n}", subscription="a", event="task.completed", url="http://h/",
               payload={"n": n, "pad": "x" * 500}, created_at=now)
        for n in range(2000)
    ])  # fmt: skip
    store.close()
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as db:
        page = int(db.execute("PRAGMA page_size").fetchone()[0])
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    assert pages > 20
    with open(path, "r+b") as stream:  # the header (page 1) stays valid
        for number in range(2, pages, 3):
            stream.seek(number * page + 16)
            stream.write(b"\xa5" * 64)
    done = serve(tmp_path)
    assert_one_line(done, str(path), "damaged", "move it away", "restore a backup")


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (k TEXT, v TEXT)")
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('kept')")
    done = serve(tmp_path)
    assert_one_line(done, str(path), "not an r360-webhooks state", "customers", "meta")
    with sqlite3.connect(path) as db:  # left as it was
        assert db.execute("SELECT name FROM customers").fetchall() == [("kept",)]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0


def test_a_legacy_state_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "deliveries.jsonl").mkdir()
    done = serve(tmp_path)
    assert_one_line(done, str(tmp_path / "deliveries.jsonl"), "move it away")


def test_damage_found_by_the_first_reads_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage ``quick_check`` does not see (an index that disagrees with its table) surfaces in
    the pool's first read: the same one line, and the state is closed (its lock freed)."""

    def malformed(self: Schedule) -> int:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Schedule, "pending", malformed)
    with pytest.raises(UsageError, match=r"damaged \(database disk image is malformed\); move"):
        create_app(ServerConfig(state_dir=tmp_path))
    monkeypatch.undo()
    create_app(ServerConfig(state_dir=tmp_path)).close()


def test_sigterm_during_start_up_is_a_clean_stop(tmp_path: Path) -> None:
    """SIGTERM while ``serve`` opens its state (here: importing a big earlier-version state) is
    the same clean stop as later, not a kill by the signal's default action."""
    lines = (legacy_line(n, "delivered") for n in range(1, 40_001))
    (tmp_path / "deliveries.jsonl").write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts", "serve", "--port", "0", "--state", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: (tmp_path / DB_NAME).exists() or process.poll() is not None)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, (process.returncode, out, err)
    assert "Traceback" not in err, err
    assert "stopped while starting" in out, out
    assert "mock Record360 on" not in out  # it was stopped before it listened
