"""Real servers on loopback for end-to-end tests: Werkzeug on 127.0.0.1, port 0, in a thread.

Binding port 0 lets the OS pick a free port, so parallel runs never collide; the real port is read
back from the socket. The server runs ``serve_forever`` in a daemon thread and is stopped with
``shutdown()`` then ``join()`` behind a context manager. Exceptions raised by the app are
collected and re-raised in the test thread on exit (a 500 alone would hide the bug), as
pytest-httpserver's ``check`` does.

Usage::

    with serve_wsgi(app) as server:
        httpx.post(server.url + "/hook", ...)
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

LOOPBACK = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request; errors are still logged (and collected by the wrapper)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class RunningServer:
    host: str
    port: int
    scheme: str
    errors: list[BaseException] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def check(self) -> None:
        """Re-raise the first exception the app raised, if any."""
        if self.errors:
            raise self.errors[0]


@contextmanager
def serve_wsgi(
    app: WSGIApp,
    *,
    ssl_context: ssl.SSLContext | None = None,
    host: str = LOOPBACK,
) -> Iterator[RunningServer]:
    """Serve ``app`` on ``host``, a free port, in a thread; stop cleanly on exit."""
    errors: list[BaseException] = []

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except Exception as exc:
            errors.append(exc)
            raise

    server = make_server(
        host, 0, guarded, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
    )
    running = RunningServer(
        host=host,
        port=server.socket.getsockname()[1],
        scheme="https" if ssl_context is not None else "http",
        errors=errors,
    )
    thread = threading.Thread(
        # A short poll interval makes shutdown() return quickly (the default is 0.5 s).
        target=lambda: server.serve_forever(poll_interval=0.05),
        name=f"wsgi-{running.port}",
        daemon=True,
    )
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    running.check()
