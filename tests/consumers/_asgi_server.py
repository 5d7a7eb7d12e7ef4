"""A real ASGI server on loopback for zoo cases: uvicorn on 127.0.0.1, port 0, in a thread.

The twin of :func:`tests.servers.serve_wsgi`, with the same interface: a context manager that
yields a :class:`~tests.servers.RunningServer` (``.url``, ``.port``) and re-raises, on exit, the
first exception the app let escape. Port 0 lets the OS pick a free port; the bound port is read
back from the listening socket. HTTPS takes a ready :class:`ssl.SSLContext`, handed to uvicorn
through ``Config(ssl_context_factory=...)`` (uvicorn >= 0.54), so a case's certificate factory
works for WSGI and ASGI alike. The server stops with ``should_exit`` and a join.

Usage::

    with serve_asgi(app) as server:
        httpx.post(server.url + "/webhooks", ...)
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.servers import LOOPBACK, RunningServer

__all__ = ["serve_asgi"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Longest wait for uvicorn to bind and start serving.
STARTUP_TIMEOUT_S = 10.0
#: Longest wait for the serving thread to finish after ``should_exit``.
SHUTDOWN_TIMEOUT_S = 10.0


@contextmanager
def serve_asgi(
    app: ASGIApp,
    *,
    ssl_context: ssl.SSLContext | None = None,
    host: str = LOOPBACK,
) -> Iterator[RunningServer]:
    """Serve ``app`` on ``host``, a free port, in a thread; stop cleanly on exit."""
    errors: list[BaseException] = []

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            errors.append(exc)
            raise

    config = uvicorn.Config(
        guarded,
        host=host,
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # No websocket protocol: nothing here upgrades, and importing one can warn.
        ws="none",
        ssl_context_factory=(
            None if ssl_context is None else lambda _config, _default: ssl_context
        ),
    )
    server = uvicorn.Server(config)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # SystemExit on a failed startup, too
            failed.append(exc)

    thread = threading.Thread(target=run, name="asgi-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if failed or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start: {failed[0] if failed else 'exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=SHUTDOWN_TIMEOUT_S)
            raise RuntimeError(f"uvicorn did not start within {STARTUP_TIMEOUT_S:g} s")
        time.sleep(0.01)
    sockets = server.servers[0].sockets
    running = RunningServer(
        host=host,
        port=sockets[0].getsockname()[1],
        scheme="https" if ssl_context is not None else "http",
        errors=errors,
    )
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_TIMEOUT_S)
    if thread.is_alive():
        raise RuntimeError(
            f"uvicorn on port {running.port} did not stop within {SHUTDOWN_TIMEOUT_S:g} s"
        )
    if failed:
        raise failed[0]
    running.check()
