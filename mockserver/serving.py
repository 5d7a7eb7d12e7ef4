"""Run the reference consumer on loopback, over HTTP or HTTPS, for ``demo`` and end-to-end tests.

Werkzeug's server binds ``127.0.0.1`` port 0, so the OS picks a free port and parallel runs never
collide; ``serve_forever`` runs in a daemon thread and exit calls ``shutdown()`` then ``join()``.
With ``tls=True`` a throwaway trustme CA issues a certificate for ``127.0.0.1`` and ``localhost``
and its PEM is written to a temporary file, so a client verifies the chain as it would in
production (``--ca-bundle``) instead of switching verification off. The reference consumer must
never raise: an exception from the app is collected and re-raised when the block exits cleanly,
because a 500 alone would pass for a consumer failure.

Usage::

    with serve_consumer(ConsumerConfig(auth=scheme), tls=True) as running:
        httpx.post(running.url, json=body, headers=scheme.headers(),
                   verify=ssl.create_default_context(cafile=running.ca_pem_path))
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import trustme
from werkzeug.serving import WSGIRequestHandler, make_server

from mockserver.consumer import Consumer, ConsumerConfig, create_consumer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["LOOPBACK", "RunningConsumer", "RunningServer", "serve_consumer", "serve_wsgi"]

LOOPBACK = "127.0.0.1"

WSGIApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request; errors are still logged (and collected)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class RunningServer:
    """A WSGI app being served on loopback."""

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
    port: int = 0,
) -> Iterator[RunningServer]:
    """Serve ``app`` on ``host`` (port 0: a free one) in a thread; stop cleanly on exit.

    Exceptions the app raises are collected and re-raised when the block exits, as
    pytest-httpserver's ``check`` does: a 500 alone would hide the bug.
    """
    errors: list[BaseException] = []

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except Exception as exc:
            errors.append(exc)
            raise

    server = make_server(
        host, port, guarded, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
    )
    running = RunningServer(
        host, server.socket.getsockname()[1], "https" if ssl_context else "http", errors
    )
    # A short poll interval makes shutdown() return quickly (the default is 0.5 s).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
        name=f"r360-wsgi-{running.port}",
    )  # fmt: skip
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    running.check()


@dataclass
class RunningConsumer:
    """A consumer being served: where to send webhooks and, for HTTPS, which CA to trust."""

    consumer: Consumer
    base_url: str
    """``http(s)://127.0.0.1:PORT`` without a trailing slash."""
    ca_pem_path: Path | None = None
    """The CA certificate (PEM) that signed the server's certificate; ``None`` over HTTP."""
    errors: list[BaseException] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The webhook URL, e.g. ``https://127.0.0.1:54321/webhooks``."""
        return self.base_url + self.consumer.config.path

    @property
    def ledger_url(self) -> str:
        return self.base_url + "/ledger"

    def check(self) -> None:
        """Re-raise the first exception the consumer raised, if any."""
        if self.errors:
            raise self.errors[0]


#: The throwaway certificate's life: a public CA's 90 days (trustme's default runs to the year
#: 3000, which the tls check would report as "expires in 355413 days").
CERT_DAYS = 90


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # what Record360 requires of consumers
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=CERT_DAYS, hours=1)
    ca.issue_cert(LOOPBACK, "localhost", not_after=until).configure_cert(context)
    return context


@contextmanager
def serve_consumer(
    config: ConsumerConfig, *, tls: bool = False, port: int = 0
) -> Iterator[RunningConsumer]:
    """Serve a fresh reference consumer on ``127.0.0.1`` until the block exits.

    ``port`` 0 (the default) lets the OS pick a free one; ``r360-webhooks consumer`` passes a
    fixed port so that a ``serve`` config can name it.
    """
    consumer = create_consumer(config)
    with ExitStack() as stack:
        context, ca_pem = None, None
        if tls:
            ca = trustme.CA()
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="r360-ca-")))
            ca_pem = folder / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_pem))
            context = _server_context(ca)
        server = stack.enter_context(serve_wsgi(consumer, ssl_context=context, port=port))
        yield RunningConsumer(consumer, server.url, ca_pem, server.errors)
