"""Delivery speed: the sender's bulk path against wrk, on one nginx answering 204 on loopback.

Issue: the sender must reach at least 0.12 of wrk's deliveries/s (the aiohttp class), pace
``--rate 1000`` within 2 %, and stay flat and under 150 MB over 200,000 deliveries. All figures
come from one run on one machine, minutes apart:

* nginx from Debian's packages (installed here with apt-get when missing, as root), started
  as a subprocess with its own config, pid and logs in a temp dir, one worker process, answering
  ``204`` to every POST on 127.0.0.1;
* ``wrk -t2 -c64 -d10s`` POSTing one generated body (the peer: the most this nginx can take);
* raw aiohttp with 64 tasks on the same event loop as our engine (a client with no semantics);
* ``Sender.deliver_many`` on the httpx thread engine at concurrency 1/4/16/64 and on the aiohttp
  engine at 16/64/128, BulkGenerator bodies, the best of each;
* pacing: 10,000 deliveries at ``rate=1000``, achieved starts/s over asked;
* memory: 200,000 deliveries (with a delivery log to /dev/null) in a subprocess that samples
  VmRSS every 10,000 deliveries and reads VmHWM (peak) at the end.

Run alone with ``python -m bench.send`` or with the rest via ``make bench``; about 90 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import Row
from contracts.bulk import BulkGenerator
from mockserver.delivery import Sender
from mockserver.delivery.delivery_log import DeliveryLog

WRK_SECONDS = 10
#: Deliveries per measurement of the aiohttp engine (about 4 s each at ~13,000/s).
AIO_COUNT = 50_000
#: Deliveries per measurement of the httpx engine (about 2 s each at ~2,500/s).
HTTPX_COUNT = 5_000
PACING_RATE = 1000
PACING_SECONDS = 10
RSS_COUNT = 200_000
RSS_BUDGET_MB = 150

_NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 204; }}
    }}
}}
"""

_WRK_LUA = """\
local f = assert(io.open("{body}", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
"""


def ensure_tools() -> tuple[str, str]:
    """Paths of nginx and wrk; installs Debian's ``nginx-light`` (or ``nginx``) and ``wrk``."""
    nginx, wrk = shutil.which("nginx") or _sbin("nginx"), shutil.which("wrk")
    if nginx and wrk:
        return nginx, wrk
    if os.geteuid() != 0:
        raise SystemExit("bench/send.py needs nginx and wrk: apt-get install nginx-light wrk")
    missing = [name for name, path in (("nginx", nginx), ("wrk", wrk)) if not path]
    print(f"installing {', '.join(missing)} from Debian's packages (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    for packages in (["nginx-light", "wrk"], ["nginx", "wrk"]):
        done = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env)
        if done.returncode == 0:
            print(f"installed: {' '.join(packages)}", flush=True)
            break
    nginx, wrk = shutil.which("nginx") or _sbin("nginx"), shutil.which("wrk")
    if not (nginx and wrk):
        raise SystemExit("apt-get did not provide nginx and wrk")
    return nginx, wrk


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def nginx_204(nginx: str, tmp: Path) -> Iterator[str]:
    """nginx on 127.0.0.1 answering 204 to everything; yields the URL, stops it on exit."""
    port = _free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(tmp=tmp, port=port))
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                error = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"nginx did not start: {error.strip()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def run_wrk(wrk: str, url: str, body: bytes, tmp: Path) -> float:
    (tmp / "body.json").write_bytes(body)
    script = tmp / "post.lua"
    script.write_text(_WRK_LUA.format(body=tmp / "body.json"))
    out = subprocess.run(
        [wrk, "-t2", "-c64", f"-d{WRK_SECONDS}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk did not run cleanly:\n{out}")
    return float(match.group(1))


def raw_aiohttp(url: str, body: bytes, tasks: int = 64, count: int = AIO_COUNT) -> float:
    """aiohttp with no semantics at all: ``tasks`` tasks POST and read, on our engine's loop."""
    import aiohttp

    from mockserver.delivery.aiohttp_engine import loop_factory

    async def main() -> float:
        left = iter(range(count))
        connector = aiohttp.TCPConnector(limit=tasks)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                for _ in left:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(tasks)))
            return count / (time.perf_counter() - started)

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main())


def sender_rate(url: str, engine: str, concurrency: int, count: int) -> float:
    generator = BulkGenerator(seed=concurrency)
    items = ((b.event, b.body) for b in itertools.islice(generator, count))
    with Sender(url, retry="none") as sender:
        started = time.perf_counter()
        summary = sender.deliver_many(items, concurrency=concurrency, engine=engine)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    if summary.delivered != count:
        raise SystemExit(f"{engine} c={concurrency}: only {summary.delivered}/{count} delivered")
    return count / elapsed


def pacing(url: str) -> float:
    count = PACING_RATE * PACING_SECONDS
    generator = BulkGenerator(seed=3)
    items = ((b.event, b.body) for b in itertools.islice(generator, count))
    starts: list[float] = []
    with Sender(url, retry="none") as sender:
        summary = sender.deliver_many(
            items,
            concurrency=16,
            rate=PACING_RATE,
            on_done=lambda d: starts.append(d.attempts[0].started_at),
        )
    assert summary.delivered == count
    return (count - 1) / (max(starts) - min(starts))


def load_mode(url: str, *, ramp: bool) -> tuple[float, float]:
    """``r360-webhooks load`` at PACING_RATE for PACING_SECONDS: (sent, asked) requests."""
    from contracts.bulk import BodyMix
    from mockserver.load import LoadPlan, LoadRun

    plan = LoadPlan(rate=PACING_RATE, duration_s=PACING_SECONDS, ramp=ramp)
    with Sender(url, retry="none") as sender:
        result = LoadRun(sender, plan, BodyMix(seed=5, evolved_share=0.3)).run()
    return float(result.totals.sent), plan.total


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_child(url: str) -> dict[str, Any]:
    """In a fresh process: 200,000 deliveries logged to /dev/null, VmRSS sampled as they go."""
    generator = BulkGenerator(seed=5)
    items = ((b.event, b.body) for b in itertools.islice(generator, RSS_COUNT))
    samples: dict[int, float] = {0: _status_kb("VmRSS") / 1024}
    done = 0

    def on_done(delivery: object) -> None:
        nonlocal done
        done += 1
        if done % 10_000 == 0:
            samples[done] = _status_kb("VmRSS") / 1024

    with Sender(url, retry="none") as sender, DeliveryLog(os.devnull) as log:
        summary = sender.deliver_many(items, concurrency=64, on_done=on_done, log=log)
    return {
        "delivered": summary.delivered,
        "engine": sender.engine_for(),
        "samples_mb": samples,
        "peak_mb": _status_kb("VmHWM") / 1024,
    }


def rss(url: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "bench.send", "--rss", url],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    result["samples_mb"] = {int(k): v for k, v in result["samples_mb"].items()}
    return result


def run() -> list[Row]:
    from mockserver.delivery.aiohttp_engine import loop_name

    nginx, wrk = ensure_tools()
    body = next(BulkGenerator(seed=1)).body
    with tempfile.TemporaryDirectory(prefix="r360-bench-nginx-") as name:
        tmp = Path(name)
        with nginx_204(nginx, tmp) as url:
            print(f"nginx {url} (1 worker), body {len(body)} bytes, loop {loop_name()}")
            peak = run_wrk(wrk, url, body, tmp)
            print(f"  wrk -t2 -c64 -d{WRK_SECONDS}s: {peak:,.0f}/s", flush=True)
            aio = {}  # right after wrk: this machine is shared, and load drifts
            for concurrency in (16, 64, 128):
                aio[concurrency] = sender_rate(url, "aiohttp", concurrency, AIO_COUNT)
                print(
                    f"  sender, aiohttp engine, c={concurrency}: {aio[concurrency]:,.0f}/s "
                    f"({aio[concurrency] / peak:.3f} of wrk)",
                    flush=True,
                )
            raw = raw_aiohttp(url, body)
            print(f"  raw aiohttp, 64 tasks: {raw:,.0f}/s ({raw / peak:.3f} of wrk)", flush=True)
            threads = {}
            for concurrency in (1, 4, 16, 64):
                threads[concurrency] = sender_rate(url, "httpx", concurrency, HTTPX_COUNT)
                print(f"  sender, httpx threads, c={concurrency}: {threads[concurrency]:,.0f}/s")
            achieved = pacing(url)
            print(f"  pacing: asked {PACING_RATE}/s, achieved {achieved:,.1f}/s", flush=True)
            load_sent, load_asked = load_mode(url, ramp=False)
            ramp_sent, ramp_asked = load_mode(url, ramp=True)
            print(
                f"  load mode: {load_sent:,.0f} of {load_asked:,.0f}; ramp {ramp_sent:,.0f} of {ramp_asked:,.0f}"
            )
            memory = rss(url)
            samples = memory["samples_mb"]
            print(
                f"  RSS over {RSS_COUNT:,} deliveries ({memory['engine']}): "
                + ", ".join(
                    f"{k // 1000}k {v:.0f} MB" for k, v in samples.items() if k % 50_000 == 0
                )
                + f"; peak {memory['peak_mb']:.0f} MB",
                flush=True,
            )
    best_aio = max(aio, key=aio.__getitem__)
    best_threads = max(threads, key=threads.__getitem__)
    return [
        Row(f"sender bulk, aiohttp engine c={best_aio}", aio[best_aio], "wrk -t2 -c64 on nginx", peak, "deliveries/s", ">= 0.12x"),
        Row(f"sender bulk, aiohttp engine c={best_aio}", aio[best_aio], "raw aiohttp, 64 tasks", raw, "deliveries/s", "(info)"),
        Row(f"sender bulk, httpx threads c={best_threads}", threads[best_threads], "wrk -t2 -c64 on nginx", peak, "deliveries/s", "(info)"),
        Row(f"pacing at rate={PACING_RATE} for {PACING_SECONDS} s", achieved, "asked", PACING_RATE, "deliveries/s", "0.98-1.02x"),
        Row(f"load mode, {PACING_RATE}/s for {PACING_SECONDS} s", load_sent, "asked", load_asked, "requests", "0.98-1.02x"),
        Row(f"load mode, ramp to {PACING_RATE}/s", ramp_sent, "asked", ramp_asked, "requests", "0.98-1.02x"),
        Row(f"peak RSS over {RSS_COUNT:,} deliveries", memory["peak_mb"], f"{RSS_BUDGET_MB} MB budget", RSS_BUDGET_MB, "MB", "<= 1.0x"),
        Row("RSS after 200k vs after 50k", samples[RSS_COUNT], "RSS after 50k", samples[50_000], "MB", "<= 1.1x (flat)"),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        print(json.dumps(rss_child(sys.argv[2])))
    else:
        from bench.run import print_table

        print_table(run())
