"""``serve`` at scale (issue 13, item 5): throughput, isolation from dead endpoints, flat memory.

Every figure comes from ``r360-webhooks serve`` run as users run it (a subprocess, ``--state`` on
disk, the config below), against a peer measured minutes apart on the same machine:

* **throughput**: 100,000 deliveries (TOTAL) posted through ``POST /v1/events`` (100 a request,
  the most one takes) to one nginx answering 204 (``bench/send.py``'s), from the first request
  until ``/healthz`` counts the last one delivered; against :meth:`Sender.deliver_many` on the
  httpx engine (the engine ``serve`` sends with) at the same concurrency, with no state, no API
  and no scheduler. Each SCALE_RUNS times (``R360_SERVE_SCALE_RUNS``, default 2: a run of serve
  takes about two minutes), interleaved (sender, serve, sender, serve), medians compared.
  Target: at least 0.5x.
* **memory and state**: during each of those runs, the serve process's VmRSS when a tenth and
  all of the deliveries are done (target: flat, at most 1.1x), and the state database's size at
  the end against the bytes of the bodies it holds (information: the overhead of attempts and
  indexes).
* **isolation**: 10 events a second for 10 s, one a request, to a healthy subscription (nginx)
  and to 50 dead ones (closed ports, the ``standard`` schedule: their first attempt fails at once,
  the next waits 5 s, then 5 min: about 800 refused attempts a second); the healthy
  subscription's p95 delivery latency, from the event's 202 to the end of its successful attempt
  (the attempt's times, from the state database), against the same run with no dead
  subscription; ``R360_SERVE_RUNS`` times each (default 3), interleaved, compared by the medians
  (a shared 2-core machine's load drifts by more than the effect). Target: at most 1.5x. Also
  shown: the same from the request's arrival, which adds the acceptance of 51 deliveries instead
  of 1 (committed before the 202).

Run alone with ``python bench/run.py serve``, or with the rest via ``make bench``; about 6
minutes, most of it the 100,000 deliveries, twice.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import INFO, Measure, Row, Target, cli_executable, interleaved, knob
from bench.nginx import ensure_tools, free_port, nginx_204, stop
from contracts.bulk import BulkGenerator
from mockserver.delivery import Sender
from mockserver.server.database import DB_NAME

WORKERS = 4
TOTAL = knob("R360_SERVE_TOTAL", 100_000, 10_000)
PER_REQUEST = 100
#: Deliveries the sender alone makes in each of its runs (about 6 s each).
PEER_COUNT = knob("R360_SERVE_PEER_COUNT", 10_000, 2_000)
DEAD = 50
#: Events per second of the isolation runs, and for how long.
EVENT_RATE = 10
EVENT_SECONDS = knob("R360_SERVE_EVENT_SECONDS", 10, 3)
#: VmRSS of serve is read when a tenth, then all, of the deliveries are done.
SAMPLES_AT = (TOTAL // 10, TOTAL)
RUNS = knob("R360_SERVE_RUNS", 3, 2)
SCALE_RUNS = knob("R360_SERVE_SCALE_RUNS", 2, 2)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Serve:
    """A running ``r360-webhooks serve`` subprocess."""

    process: subprocess.Popen[str]
    url: str
    state: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def serve(config: str, tmp: Path) -> Iterator[Serve]:
    """``serve`` on a free port with ``config`` and a fresh ``--state``; SIGTERM on exit."""
    path = tmp / "serve.toml"
    path.write_text(config)
    state = tmp / "state"
    process = subprocess.Popen(
        [cli_executable(), "serve", "--port", "0", "--config", str(path), "--state", str(state)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first.startswith("mock Record360 on "):
            raise SystemExit(f"serve did not start: {first!r}")
        yield Serve(process, first.split()[3], state)
    finally:
        stop(process, grace=60)


def _subscription(id_: str, url: str, retry: str) -> str:
    return f'[[subscriptions]]\nid = "{id_}"\nurl = "{url}"\nretry = "{retry}"\nconcurrency = {WORKERS}\n'


def throughput(url: str, tmp: Path, payload: dict[str, object]) -> dict[str, float]:
    """TOTAL deliveries through serve; deliveries/s, RSS samples, database size."""
    config = f"[server]\nworkers = {WORKERS}\nqueue = 10000\n\n" + _subscription(
        "nginx", url, "none"
    )
    samples: dict[int, float] = {}
    with serve(config, tmp) as running, httpx.Client(base_url=running.url, timeout=30) as api:
        body = {"payload": payload, "count": PER_REQUEST}
        posted = 0
        started = time.perf_counter()
        while True:  # post until the queue is full, then look now and then: a light driver
            while posted < TOTAL:
                response = api.post("/v1/events", json=body)
                if response.status_code == 429:
                    break
                if response.status_code != 202:
                    raise SystemExit(f"serve answered {response.status_code}: {response.text}")
                posted += PER_REQUEST
            time.sleep(0.1)
            counts = api.get("/healthz").json()["deliveries"]
            done = counts["delivered"] + counts["dead-lettered"]
            for mark in SAMPLES_AT:
                if done >= mark and mark not in samples:
                    samples[mark] = running.rss_mb()
            if done >= TOTAL:
                elapsed = time.perf_counter() - started
                break
        if counts["delivered"] != TOTAL:
            raise SystemExit(f"serve delivered {counts['delivered']} of {TOTAL}: {counts}")
        db = running.state / DB_NAME
        with sqlite3.connect(db) as connection:
            bodies = connection.execute("SELECT SUM(length(payload)) FROM deliveries").fetchone()[0]
        size = sum(p.stat().st_size for p in running.state.glob(DB_NAME + "*"))
    return {"rate": TOTAL / elapsed, "size_mb": size / 2**20, "bodies_mb": bodies / 2**20,
            **{f"rss_{k}": v for k, v in samples.items()}}  # fmt: skip


def sender_alone(url: str, body: bytes) -> float:
    items = (("transaction.create", body) for _ in range(PEER_COUNT))
    with Sender(url, retry="none") as sender:
        started = time.perf_counter()
        summary = sender.deliver_many(items, concurrency=WORKERS, engine="httpx")
        elapsed = time.perf_counter() - started
    if summary.delivered != PEER_COUNT:
        raise SystemExit(f"sender alone: {summary.delivered} of {PEER_COUNT} delivered")
    return PEER_COUNT / elapsed


def healthy_p95(url: str, tmp: Path, dead: int, payload: dict[str, object]) -> dict[str, float]:
    """p95 seconds from an event's 202 to the end of the healthy subscription's successful
    attempt (and, for information, from the request's arrival), ``dead`` subscriptions beside."""
    config = f"[server]\nworkers = {WORKERS}\n\n" + _subscription("healthy", url, "standard")
    for n in range(dead):
        config += _subscription(f"dead-{n}", f"http://127.0.0.1:{free_port()}/hook", "standard")
    accepted: dict[str, float] = {}
    with serve(config, tmp) as running, httpx.Client(base_url=running.url, timeout=30) as api:
        started = time.monotonic()
        for n in range(EVENT_RATE * EVENT_SECONDS):
            time.sleep(max(0.0, started + n / EVENT_RATE - time.monotonic()))
            response = api.post("/v1/events", json={"payload": payload})
            at = time.time()
            if response.status_code != 202:
                raise SystemExit(f"serve answered {response.status_code}: {response.text}")
            [healthy] = [d for d in response.json()["deliveries"] if d["subscription"] == "healthy"]
            accepted[healthy["id"]] = at
        deadline = time.monotonic() + 60
        query: dict[str, str | int] = {"subscription": "healthy", "status": "delivered", "limit": 1}
        while api.get("/v1/deliveries", params=query).json()["total"] < len(accepted):
            if time.monotonic() > deadline:
                raise SystemExit("the healthy subscription was not served in a minute")
            time.sleep(0.1)
        with sqlite3.connect(running.state / DB_NAME) as db:
            rows = db.execute(
                "SELECT d.id, a.started_at + a.duration_s, d.created_at FROM deliveries d "
                "JOIN attempts a ON a.delivery = d.seq AND a.number = d.attempt_count "
                "WHERE d.subscription = 'healthy'"
            ).fetchall()
    after_202 = [done - accepted[id_] for id_, done, _ in rows]
    after_arrival = [done - created for _, done, created in rows]
    return {
        "p95": statistics.quantiles(after_202, n=20)[-1],
        "p95_from_arrival": statistics.quantiles(after_arrival, n=20)[-1],
    }


def run() -> list[Row]:
    nginx, _ = ensure_tools()
    sample = next(iter(BulkGenerator(seed=1)))
    payload = json.loads(sample.body)
    with tempfile.TemporaryDirectory(prefix="r360-bench-serve-") as name:
        tmp = Path(name)
        (tmp / "nginx").mkdir()
        with nginx_204(nginx, tmp / "nginx") as url:
            print(f"nginx {url}, body {len(sample.body)} bytes, serve with {WORKERS} workers")
            scales: list[dict[str, float]] = []

            def serve_rate() -> float:
                folder = tmp / f"scale-{len(scales)}"
                folder.mkdir()
                scales.append(throughput(url, folder, payload))
                scale = scales[-1]
                print(
                    f"  serve: RSS {scale[f'rss_{SAMPLES_AT[0]}']:.0f} MB at {SAMPLES_AT[0]:,}, "
                    f"{scale[f'rss_{TOTAL}']:.0f} MB at {TOTAL:,}; state {scale['size_mb']:.0f} MB "
                    f"for {scale['bodies_mb']:.0f} MB of bodies",
                    flush=True,
                )
                return scale["rate"]

            rate = interleaved(
                {f"sender alone, httpx c={WORKERS}": lambda: sender_alone(url, sample.body),
                 f"serve, {WORKERS} workers": serve_rate},
                SCALE_RUNS, unit="deliveries/s",
            )  # fmt: skip
            runs = iter(range(1_000))

            def isolation(dead: int) -> dict[str, float]:
                folder = tmp / f"isolation-{next(runs)}"
                folder.mkdir()
                return healthy_p95(url, folder, dead, payload)

            found: dict[int, list[dict[str, float]]] = {0: [], DEAD: []}

            def p95_ms(dead: int) -> float:
                found[dead].append(isolation(dead))
                return found[dead][-1]["p95"] * 1000

            latency = interleaved(
                {"healthy p95, none dead": lambda: p95_ms(0),
                 f"healthy p95, {DEAD} dead": lambda: p95_ms(DEAD)},
                RUNS, unit="ms",
            )  # fmt: skip
    from_arrival = {
        dead: Measure(tuple(run["p95_from_arrival"] * 1000 for run in found[dead]))
        for dead in found
    }

    def scale(key: str) -> Measure:
        return Measure(tuple(run[key] for run in scales))

    return [
        Row.same_run(
            f"serve deliveries/s, {WORKERS} workers", rate[f"serve, {WORKERS} workers"],
            f"sender alone, httpx c={WORKERS}", rate[f"sender alone, httpx c={WORKERS}"],
            "deliveries/s", Target.at_least(0.5),
        ),
        Row.same_run(
            f"serve healthy p95, {DEAD} dead (standard)", latency[f"healthy p95, {DEAD} dead"],
            "healthy p95, none dead", latency["healthy p95, none dead"], "ms",
            Target.at_most(1.5),
        ),
        Row.same_run(
            "  same, from the request's arrival", from_arrival[DEAD],
            "the same, none dead", from_arrival[0], "ms", INFO,
        ),
        Row.same_run(
            f"serve RSS after {TOTAL:,} deliveries", scale(f"rss_{TOTAL}"),
            f"RSS after {SAMPLES_AT[0]:,} (same process)", scale(f"rss_{SAMPLES_AT[0]}"), "MB",
            Target.at_most(1.1, "(flat)"),
        ),
        Row.same_run(
            f"serve state after {TOTAL:,} deliveries", scale("size_mb"),
            "bytes of the bodies it holds", scale("bodies_mb"), "MB", INFO,
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import print_table

    print_table(run())
