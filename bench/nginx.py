"""The delivery benchmarks' consumer and ceiling: nginx answering 204, and wrk posting to it.

* nginx from Debian's packages (installed with apt-get when missing, as root), started as a
  subprocess with its own config, pid and logs in a temp dir, one worker process, answering
  ``204`` to every POST on 127.0.0.1;
* ``wrk -t2 -c64`` (the peer: the most this nginx takes from a client that does nothing else),
  posting the same bodies our sender posts, in turn, so both move the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

# Each wrk thread loads every body (one per line) and posts them in turn.
_WRK_LUA = """\
local bodies = {{}}
for line in io.lines("{bodies}") do bodies[#bodies + 1] = line end
local headers = {{["Content-Type"] = "application/json"}}
local next_body = 0
request = function()
    next_body = next_body % #bodies + 1
    return wrk.format("POST", nil, headers, bodies[next_body])
end
"""


def ensure_tools() -> tuple[str, str]:
    """Paths of nginx and wrk; installs Debian's ``nginx-light`` (or ``nginx``) and ``wrk``."""
    nginx, wrk = shutil.which("nginx") or _sbin("nginx"), shutil.which("wrk")
    if nginx and wrk:
        return nginx, wrk
    if os.geteuid() != 0:
        raise SystemExit(
            "the delivery benchmarks need nginx and wrk: apt-get install nginx-light wrk"
        )
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


def stop(process: subprocess.Popen[Any], *, grace: float) -> None:
    """SIGTERM, ``grace`` seconds to finish (a server drains), then SIGKILL; pipes closed."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def nginx_204(nginx: str, tmp: Path) -> Iterator[str]:
    """nginx on 127.0.0.1 answering 204 to everything; yields the URL, stops it on exit."""
    port = free_port()
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
        stop(proc, grace=10)


class Wrk:
    """``wrk -t2 -c64`` posting ``bodies`` in turn to ``url`` for ``seconds``; call for a rate."""

    def __init__(self, wrk: str, url: str, bodies: list[bytes], tmp: Path, seconds: int) -> None:
        if any(b"\n" in body for body in bodies):
            raise ValueError("wrk reads one body per line: bodies must be compact JSON")
        lines = tmp / "bodies.jsonl"
        lines.write_bytes(b"\n".join(bodies) + b"\n")
        self.script = tmp / "post.lua"
        self.script.write_text(_WRK_LUA.format(bodies=lines))
        self.command = [wrk, "-t2", "-c64", f"-d{seconds}s", "-s", str(self.script), url]

    def __call__(self) -> float:
        out = subprocess.run(self.command, check=True, capture_output=True, text=True).stdout
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if match is None or "Non-2xx" in out or "Socket errors" in out:
            raise SystemExit(f"wrk did not run cleanly:\n{out}")
        return float(match.group(1))
