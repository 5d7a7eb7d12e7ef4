"""A threaded Werkzeug server that, when stopped, lets the deliveries it accepted finish.

Why this module exists: ``record --forward`` holds each delivery while the consumer behind it
answers, which may take seconds. Werkzeug's threaded server runs every request in a daemon
thread, so a command that closes its capture and exits right after SIGTERM kills those threads
mid-delivery: the sender sees a dropped connection and the capture misses the line, the very
traffic ``record`` exists to keep. :class:`DrainingServer` counts connections from the moment
they are accepted (in the serving thread, so none slips past a stop) until their thread is done;
:meth:`DrainingServer.drain` waits, bounded, until none is left. Werkzeug closes every connection
after one request (no keep-alive), so a connection is one delivery and an idle one never holds
the drain.

Its handler writes no access-log line: Werkzeug colours them with ANSI codes, which end up raw in
a log file, and the capture is the record of every delivery. Errors are still logged.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

if TYPE_CHECKING:
    import ssl

    from _typeshed.wsgi import WSGIApplication

__all__ = ["DrainingServer", "QuietHandler"]


class QuietHandler(WSGIRequestHandler):
    """No access-log line per request (errors are still logged, without colour codes)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class DrainingServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, counting the connections still being served."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApplication,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._idle = threading.Condition()
        self._open = 0
        super().__init__(host, port, app, QuietHandler, ssl_context=ssl_context)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._open += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._finished()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._idle:
            self._open -= 1
            self._idle.notify_all()

    def drain(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every accepted connection to be answered and closed;
        how many are still open (0: all done). Call after the server stopped accepting."""
        with self._idle:
            self._idle.wait_for(lambda: self._open == 0, timeout=timeout_s)
            return self._open
