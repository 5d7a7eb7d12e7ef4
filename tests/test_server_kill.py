"""``serve`` killed with SIGKILL at random moments loses no accepted event (issue 13, "Done when").

The real command runs in a subprocess on one ``--state``, fed events as fast as it takes them,
and is killed (SIGKILL: no handler, no flush) several times at seeded random moments: during
start-up, with attempts on the wire, with deliveries waiting for a retry. After a last, clean run
every delivery in the database is final, every event the API answered 202 for is among them, and
the database agrees with the consumer's own record of what it accepted (at-least-once: a kill
between the consumer's 2xx and the server's record makes the attempt again; the consumer
dedupes, so an event may arrive twice but is never lost).

Two subscriptions share each event: a consumer (:class:`tests.hostile.Hostile`: 2xx, slow 2xx,
503; it keeps its own record) and a dead endpoint (a closed port) on a short retry schedule that
ends in a dead letter. ``R360_KILL_SEED`` changes the kill points.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.bulk import BulkGenerator
from mockserver.server.database import DB_NAME
from tests._serve_process import Lines, finish, start_cli, stop_cli
from tests._server import wait_until
from tests.hostile import Hostile, payload_key
from tests.servers import free_port

SEED = int(os.environ.get("R360_KILL_SEED", "13"))
KILLS = 5
#: Events posted per run at most, so the last run drains in a few seconds.
EVENTS_PER_RUN = 40
DEAD_RETRY = "custom:0.3,0.6"  # three attempts, then a dead letter
DEAD_ATTEMPTS = 3


def _config(path: Path, consumer: str, dead: str) -> Path:
    path.write_text(
        "[server]\nworkers = 4\n\n"
        f'[[subscriptions]]\nid = "consumer"\nurl = "{consumer}"\n'
        'retry = "custom:0.1,0.2,0.4,0.8,1.6"\nconcurrency = 3\n\n'
        f'[[subscriptions]]\nid = "dead"\nurl = "{dead}"\nretry = "{DEAD_RETRY}"\n'
    )
    return path


class Poster:
    """Posts one unique event per request to a running server until it dies or the cap."""

    def __init__(self, lines: Lines, bodies: Any, accepted: list[str]) -> None:
        self.lines, self.bodies, self.accepted = lines, bodies, accepted
        self.stop = threading.Event()
        self.posted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _base(self) -> str | None:
        while not self.stop.is_set():
            try:
                line = self.lines.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self.lines.seen.append(line)
            if line.startswith("mock Record360 on "):
                return line.split()[3]
        return None

    def _run(self) -> None:
        base = self._base()
        if base is None:
            return
        with httpx.Client(base_url=base, timeout=5) as client:
            while not self.stop.is_set() and self.posted < EVENTS_PER_RUN:
                body = json.loads(next(self.bodies).body)
                try:
                    response = client.post("/v1/events", json={"payload": body})
                except httpx.HTTPError:  # killed: the answer never came
                    return
                self.posted += 1
                if response.status_code == 202:
                    self.accepted += [d["id"] for d in response.json()["deliveries"]]
                else:
                    assert response.status_code == 429, response.text


def unfinished(state: Path) -> tuple[int, int]:
    """Deliveries not final, and of those how many had attempts already, as a kill left them
    (none when the kill came before the schema was made: the file exists from its first step)."""
    with sqlite3.connect(state / DB_NAME) as db:
        made = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'deliveries'").fetchone()
        if made is None:
            return 0, 0
        row = db.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE attempt_count > 0) FROM deliveries "
            "WHERE status IN ('pending', 'delivering')"
        ).fetchone()
    return int(row[0]), int(row[1])


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_accepted_event(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    bodies = iter(BulkGenerator(seed=SEED))
    accepted: list[str] = []
    left_at_kill: list[tuple[int, int]] = []
    mix = {"ok": 40, "slow": 45, "503": 15}
    with Hostile(seed=SEED, mix=mix, slow=(0.1, 0.4)) as consumer:
        config = _config(
            tmp_path / "serve.toml", consumer.url, f"http://127.0.0.1:{free_port()}/hook"
        )
        state = tmp_path / "state"
        serve = ("serve", "--port", "0", "--config", str(config), "--state", str(state))
        for run in range(KILLS):
            process, lines = start_cli(*serve, env={})
            poster = Poster(lines, bodies, accepted)
            if run == 0:  # from the spawn: during start-up (migration, recovery) or just after
                time.sleep(rng.uniform(0.5, 3.0))
            else:
                wait_until(
                    lambda p=poster, c=process: p.posted > 0 or c.poll() is not None, timeout=30
                )
                time.sleep(rng.uniform(0.05, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            poster.stop.set()
            poster.thread.join(10)
            finish(process, lines)
            assert process.returncode == -signal.SIGKILL
            if (state / DB_NAME).exists():
                left_at_kill.append(unfinished(state))

        process, lines = start_cli(*serve, env={})
        try:
            first = lines.next(timeout=30)
            with httpx.Client(base_url=first.split()[3], timeout=5) as api:

                def drained() -> dict[str, int] | None:
                    counts: dict[str, int] = api.get("/healthz").json()["deliveries"]
                    return counts if counts["pending"] + counts["delivering"] == 0 else None

                counts = wait_until(drained, timeout=60)
                listed = api.get("/v1/deliveries", params={"subscription": "consumer"}).json()
        finally:
            out, err = stop_cli(process, lines, signal.SIGTERM)
        assert process.returncode == 0, err
        consumer.settle()

    assert len(accepted) >= 2 * 20, f"too few events accepted to prove anything: {len(accepted)}"
    assert any(n for n, _ in left_at_kill), left_at_kill  # kills hit deliveries midway
    with sqlite3.connect(state / DB_NAME) as db:
        rows = db.execute(
            "SELECT id, subscription, status, reason, attempt_count, payload FROM deliveries"
        ).fetchall()
        last_ok = dict(
            db.execute(
                "SELECT d.id, a.status FROM deliveries d JOIN attempts a ON a.delivery = d.seq "
                "WHERE a.number = d.attempt_count"
            ).fetchall()
        )
    stored = {row[0]: row for row in rows}
    assert set(accepted) <= set(stored)  # every 202 is in the state
    states = Counter((sub, status) for _, sub, status, *_ in rows)
    assert set(states) <= {
        (s, f) for s in ("consumer", "dead") for f in ("delivered", "dead-lettered")
    }
    assert counts["delivered"] + counts["dead-lettered"] == len(rows)  # the API agrees
    assert listed["total"] == states["consumer", "delivered"] + states["consumer", "dead-lettered"]

    delivered = Counter()
    for id_, sub, status, reason, attempts, payload in rows:
        if sub == "dead":
            assert (status, reason, attempts) == ("dead-lettered", "exhausted", DEAD_ATTEMPTS), id_
        elif status == "delivered":
            assert 200 <= last_ok[id_] < 300, id_
            delivered[payload_key(json.loads(payload))] += 1
    # The consumer's own record: what it accepted is exactly what the state says was delivered.
    assert set(delivered) == set(consumer.accepted), (delivered, consumer.accepted)
    assert all(n == 1 for n in delivered.values())  # one delivery per event and subscription
    print(
        f"seed {SEED}: {len(accepted)} deliveries accepted, (unfinished, of those attempted) at "
        f"each kill {left_at_kill}, states {dict(states)}, events the consumer took twice "
        f"{sum(n > 1 for n in consumer.accepted.values())}"
    )
    assert "stopped (0 deliveries recorded as interrupted); 0 continue" in out
