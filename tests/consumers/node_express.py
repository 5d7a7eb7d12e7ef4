"""The Express consumer (``tests/consumers/node/server.js``) from Python: install, serve, stop.

Node teams are a large share of webhook consumers, and their stack (express, express-rate-limit,
jsonwebtoken) answers differently from any Python framework, so the zoo runs the real thing in a
``node`` subprocess. Its npm packages are pinned in ``package-lock.json`` and installed on first
use, the way ``make test`` installs Chromium for the browser test:

- :func:`install_node_modules` runs ``npm ci --no-audit --no-fund`` when ``node_modules`` is
  missing or was installed from another lock file (a marker in ``node_modules`` holds the digest
  of ``package.json`` and ``package-lock.json``). An exclusive ``flock`` on
  ``node/.npm-install.lock`` keeps two test runs from installing at once; the second one waits,
  then finds the marker current. No node or npm on ``PATH`` is a :class:`NodeSetupError` that
  says what to install, never a skip: a skipped consumer would hide a broken one.
- :func:`serve_node` starts ``node server.js`` on ``127.0.0.1`` (port 0: the OS picks), reads the
  port from the first stdout line (``{"listening": "http://127.0.0.1:PORT", "port": PORT}``),
  yields a :class:`~tests.servers.RunningServer` like :func:`~tests.servers.serve_wsgi` does,
  and on exit sends SIGTERM and waits for exit code 0. stdin is a pipe whose end also stops the
  server, so a killed test run leaves no node process behind. Anything node wrote to stderr (a
  500's stack, an express-rate-limit misconfiguration) is raised when the block exits.

Knobs (:func:`node_env` turns them into the server's environment variables):
``serve_node(scheme, *, rate_limit=20, window_ms=1000, port=0)``, where ``scheme`` is None
(no auth), a :class:`~mockserver.auth.BearerAuth` in ``Authorization: Bearer``, or an HS256
:class:`~mockserver.auth.JwtAuth` with an issuer (and optionally an audience).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mockserver.auth import AuthScheme, BearerAuth, JwtAuth, NoAuth
from tests.servers import LOOPBACK, RunningServer

__all__ = ["NODE_DIR", "NodeSetupError", "install_node_modules", "node_env", "serve_node"]

NODE_DIR = Path(__file__).parent / "node"
#: express 5 needs Node.js 18 or newer.
MIN_NODE_MAJOR = 18
#: Inside node_modules, so that ``npm ci`` (which removes node_modules first) resets it.
_MARKER = "node_modules/.r360-lock-digest"
_LOCK = ".npm-install.lock"
INSTALL_TIMEOUT_S = 300.0
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
_HINT = "install Node.js >= 18 with npm (Debian: apt-get install nodejs npm)"


class NodeSetupError(RuntimeError):
    """Node.js or its packages are missing or broken; the message says what to do."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise NodeSetupError(f"{name!r} is not on PATH; {_HINT}")
    return found


def _check_node_version(node: str) -> None:
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    match = re.fullmatch(r"v(\d+)\..*", version)
    if match is None or int(match[1]) < MIN_NODE_MAJOR:
        raise NodeSetupError(f"node {version or '(no version)'} is too old or unknown; {_HINT}")


def _lock_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def install_node_modules(folder: Path = NODE_DIR, *, timeout: float = INSTALL_TIMEOUT_S) -> Path:
    """``npm ci`` into ``folder`` unless its ``node_modules`` matches the lock file; ``folder``."""
    _check_node_version(_tool("node"))
    npm = _tool("npm")
    wanted = _lock_digest(folder)
    marker = folder / _MARKER
    with _exclusive(folder / _LOCK):
        if marker.is_file() and marker.read_text().strip() == wanted:
            return folder
        env = {**os.environ, "npm_config_update_notifier": "false"}
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise NodeSetupError(f"npm ci in {folder} took more than {timeout:g} s") from None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise NodeSetupError(f"npm ci in {folder} failed (exit {done.returncode}):\n{tail}")
        marker.write_text(wanted + "\n")
    return folder


def node_env(
    scheme: AuthScheme | None, *, rate_limit: int = 20, window_ms: int = 1000, port: int = 0
) -> dict[str, str]:
    """The ``R360_*`` variables ``server.js`` reads (see its header) for these settings."""
    env = {
        "R360_RATE_LIMIT": str(rate_limit),
        "R360_RATE_WINDOW_MS": str(window_ms),
        "R360_PORT": str(port),
    }
    if scheme is None or isinstance(scheme, NoAuth):
        return {**env, "R360_AUTH": "none"}
    if (scheme.header_name, scheme.scheme_prefix) != ("Authorization", "Bearer"):
        raise ValueError("the Express consumer reads only 'Authorization: Bearer ...'")
    if isinstance(scheme, BearerAuth):
        return {**env, "R360_AUTH": "bearer", "R360_BEARER_TOKEN": scheme.token}
    if isinstance(scheme, JwtAuth):
        key = scheme.verification_key
        if scheme.algorithm != "HS256" or not isinstance(key, bytes) or scheme.issuer is None:
            raise ValueError("the Express consumer verifies HS256 JWTs with an issuer only")
        env |= {
            "R360_AUTH": "jwt",
            "R360_JWT_SECRET": key.decode(),
            "R360_JWT_ISSUER": scheme.issuer,
        }
        if scheme.audience is not None:
            env["R360_JWT_AUDIENCE"] = scheme.audience
        return env
    raise ValueError(f"the Express consumer takes bearer or JWT auth, not {scheme.describe()}")


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first stdout line, or b"" when the process exits or ``timeout`` passes first."""
    assert process.stdout is not None
    deadline, buffer = time.monotonic() + timeout, b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return b""
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                return b""
            buffer += chunk
    return buffer.split(b"\n", 1)[0]


def _stop(process: subprocess.Popen[bytes]) -> str | None:
    """SIGTERM, then wait (kill after STOP_TIMEOUT_S); what went wrong as one line, or None."""
    problem = None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
            problem = f"node did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM; killed"
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    if problem is None and process.returncode != 0:
        problem = f"node exited with code {process.returncode}"
    return problem


def _read(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace").strip()


@contextlib.contextmanager
def serve_node(
    scheme: AuthScheme | None,
    *,
    rate_limit: int = 20,
    window_ms: int = 1000,
    port: int = 0,
    folder: Path = NODE_DIR,
) -> Iterator[RunningServer]:
    """Run ``node server.js`` on 127.0.0.1 until the block exits (call install first)."""
    settings = node_env(scheme, rate_limit=rate_limit, window_ms=window_ms, port=port)
    if not (folder / _MARKER).is_file():
        raise NodeSetupError(f"no node_modules in {folder}; call install_node_modules() first")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("R360_")}
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [_tool("node"), "server.js"],
            cwd=folder, env={**inherited, **settings},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
        running: RunningServer | None = None
        try:
            line = _first_line(process, STARTUP_TIMEOUT_S)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                running = RunningServer(LOOPBACK, int(json.loads(line)["port"]), "http")
            if running is None:
                _stop(process)
                raise NodeSetupError(
                    f"node server.js did not start (first line {line!r}): {_read(stderr)}"
                )
            yield running
        finally:
            problem = _stop(process)
            if running is not None:
                said = _read(stderr)
                running.errors.extend(RuntimeError(text) for text in (problem, said) if text)
    if running is not None:
        running.check()
