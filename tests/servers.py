"""Real servers on loopback for end-to-end tests: Werkzeug on 127.0.0.1, port 0, in a thread.

The implementation ships in :mod:`mockserver.serving` (``demo`` and ``consumer`` use it too);
tests import it from here.

Usage::

    with serve_wsgi(app) as server:
        httpx.post(server.url + "/hook", ...)
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mockserver.serving import LOOPBACK, RunningServer, WSGIApp, serve_wsgi

if TYPE_CHECKING:
    import trustme

__all__ = ["LOOPBACK", "RunningServer", "WSGIApp", "free_port", "serve_https", "serve_wsgi"]


def free_port() -> int:
    """A loopback port nothing listens on right now (bound, read back and released)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serve_https(app: WSGIApp, cert: trustme.LeafCert, **options: Any) -> Iterator[RunningServer]:
    """``serve_wsgi`` over TLS with ``cert`` (from a trustme CA; ``ca.issue_cert("127.0.0.1")``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    with serve_wsgi(app, ssl_context=context, **options) as server:
        yield server
