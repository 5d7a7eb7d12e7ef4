"""Delivery speed: ``r360-webhooks send`` as users run it, the library's bulk path, and wrk.

Issue 14, item 2: the command reaches at least 0.9x of the library's bulk path, and the CLI
path at least 0.12x of ``wrk -t2 -c64`` against the same nginx (moonshot 0.25x, which
``--workers`` processes are for). All contenders post the same bodies, the stream
``BulkGenerator(seed=SEED)`` gives (wrk and raw aiohttp cycle through its first
PEER_BODIES), at 64 in flight, to one nginx answering 204 on loopback (``bench/nginx.py``), and
each is measured RUNS times, interleaved, and compared by the median:

* ``r360-webhooks send URL --count COUNT --concurrency 64 --retry none --no-progress``, as a
  subprocess timed from start to exit (interpreter start, imports, generating bodies and
  printing the summary all count), with ``--workers 1`` and with the default ``--workers auto``
  (one process per core at COUNT deliveries);
* the library: ``Sender(url, retry="none").deliver_many(...)`` on the aiohttp engine, timed
  from making the sender to closing it;
* ``wrk -t2 -c64 -dWRK_SECONDSs`` (the most this nginx takes from a client that does nothing
  else) and raw aiohttp with 64 tasks (a client with no semantics), both for information
  beside the library;
* the httpx thread engine (the fallback without aiohttp) at the CLI's default concurrency, 8.

COUNT is ``--workers auto``'s threshold (``contracts/cli/_send_work.py``), so the rows above show
one process and one per core. The issue's own command sits below it, and is measured as typed:
``r360-webhooks send URL --payload body.json --count 40000 --concurrency 64 --retry none`` (one
process, as ``auto`` decides at 40,000), with ``body.json`` the bundled
``schemas/v1/examples/transaction.create.json``, against ``wrk -t2 -c64`` posting the very bytes
the command sends for that file (target: at least 0.12x).

Run alone with ``python bench/run.py send``; about four minutes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, Target, cli_executable, interleaved, knob, timed
from bench.nginx import Wrk, ensure_tools, nginx_204
from contracts.bulk import BulkGenerator
from mockserver.delivery import Sender
from mockserver.delivery.records import encode_payload

RUNS = knob("R360_BENCH_RUNS", 5, 2)
#: Deliveries per run: at this count ``--workers auto`` uses one process per core.
COUNT = 50_000
SEED = 1
CONCURRENCY = 64
WRK_SECONDS = knob("R360_BENCH_WRK_SECONDS", 5, 2)
PEER_BODIES = 1000
#: Deliveries per run of the httpx thread engine (about 2 s each at ~2,500/s).
HTTPX_COUNT = 5_000
#: Issue 14's command, as typed there: its count, and the body a new user has at hand.
ISSUE_COUNT = 40_000
ISSUE_BODY = Path(__file__).resolve().parent.parent / "schemas/v1/examples/transaction.create.json"
ISSUE_COMMAND = (
    f"send --payload body.json --count {ISSUE_COUNT} --concurrency {CONCURRENCY} --retry none"
)


def cli_send(url: str, workers: str) -> float:
    command = [
        cli_executable(), "send", url, "--count", str(COUNT), "--concurrency", str(CONCURRENCY),
        "--retry", "none", "--seed", str(SEED), "--workers", workers, "--no-progress",
    ]  # fmt: skip
    return COUNT / timed(command)


def cli_issue(url: str, body: Path) -> float:
    """Issue 14's command word for word (``--workers`` left to ``auto``, no ``--no-progress``:
    stderr is a pipe, so no bar is drawn), deliveries per second from spawn to exit."""
    command = [cli_executable(), "send", url, *ISSUE_COMMAND.split()[1:]]
    command[command.index("body.json")] = str(body)
    return ISSUE_COUNT / timed(command)


def library(
    url: str, engine: str = "aiohttp", concurrency: int = CONCURRENCY, count: int = COUNT
) -> float:
    started = time.perf_counter()
    generator = BulkGenerator(seed=SEED)
    items = ((b.event, b.body) for b in itertools.islice(generator, count))
    with Sender(url, retry="none") as sender:
        summary = sender.deliver_many(items, concurrency=concurrency, engine=engine)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if summary.delivered != count:
        raise SystemExit(f"{engine} c={concurrency}: only {summary.delivered}/{count} delivered")
    return count / elapsed


def raw_aiohttp(url: str, bodies: list[bytes], tasks: int = CONCURRENCY) -> float:
    """aiohttp with no semantics at all: ``tasks`` tasks POST and read, on our engine's loop."""
    import aiohttp

    from mockserver.delivery.aiohttp_engine import loop_factory

    async def main() -> float:
        left = zip(range(COUNT), itertools.cycle(bodies), strict=False)
        connector = aiohttp.TCPConnector(limit=tasks)
        headers = {"Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                for _, body in left:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(tasks)))
            return COUNT / (time.perf_counter() - started)

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main())


def run() -> list[Row]:
    from mockserver.delivery.aiohttp_engine import loop_name

    nginx, wrk_path = ensure_tools()
    bodies = [b.body for b in itertools.islice(BulkGenerator(seed=SEED), PEER_BODIES)]
    size = sum(map(len, bodies)) / len(bodies)
    workers = str(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="r360-bench-send-") as name:
        tmp = Path(name)
        body = tmp / "body.json"
        shutil.copyfile(ISSUE_BODY, body)
        wire = encode_payload(json.loads(body.read_bytes()))  # the bytes --payload sends
        (tmp / "one").mkdir()
        with nginx_204(nginx, tmp) as url:
            print(
                f"nginx {url} (1 worker), bodies {size:,.0f} bytes on average, loop {loop_name()}; "
                f"body.json {len(wire):,} bytes on the wire"
            )
            wrk = Wrk(wrk_path, url, bodies, tmp, WRK_SECONDS)
            wrk_one = Wrk(wrk_path, url, [wire], tmp / "one", WRK_SECONDS)
            cli_send(url, "1")  # warm the page cache and nginx
            m = interleaved(
                {
                    "wrk": wrk,
                    "cli w1": lambda: cli_send(url, "1"),
                    "library": lambda: library(url),
                    "cli auto": lambda: cli_send(url, "auto"),
                    "raw aiohttp": lambda: raw_aiohttp(url, bodies),
                    "httpx threads": lambda: library(url, "httpx", 8, HTTPX_COUNT),
                    "cli issue": lambda: cli_issue(url, body),
                    "wrk body.json": wrk_one,
                },
                RUNS,
                unit="deliveries/s",
            )
    wrk_name, unit = "wrk -t2 -c64 on nginx", "deliveries/s"
    library_name = "library bulk (aiohttp engine, c=64)"
    return [
        Row.same_run("send --workers 1 (CLI)", m["cli w1"], library_name, m["library"], unit, Target.at_least(0.9)),
        Row.same_run(f"send --workers auto (CLI, {workers} here)", m["cli auto"], wrk_name, m["wrk"], unit, Target.at_least(0.12, "(moonshot 0.25x)")),
        Row.same_run("send --workers 1 (CLI)", m["cli w1"], wrk_name, m["wrk"], unit),
        Row.same_run(library_name, m["library"], wrk_name, m["wrk"], unit),
        Row.same_run(library_name, m["library"], "raw aiohttp, 64 tasks", m["raw aiohttp"], unit),
        Row.same_run("library bulk (httpx threads, c=8)", m["httpx threads"], wrk_name, m["wrk"], unit),
        Row.same_run(f"{ISSUE_COMMAND} (CLI, issue 14's command)", m["cli issue"], f"{wrk_name}, the same body", m["wrk body.json"], unit, Target.at_least(0.12, "(moonshot 0.25x)")),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["send"]))
