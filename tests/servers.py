"""Real servers on loopback for end-to-end tests: Werkzeug on 127.0.0.1, port 0, in a thread.

The implementation ships in :mod:`mockserver.serving` (``demo`` and ``consumer`` use it too);
tests import it from here.

Usage::

    with serve_wsgi(app) as server:
        httpx.post(server.url + "/hook", ...)
"""

from __future__ import annotations

from mockserver.serving import LOOPBACK, RunningServer, WSGIApp, serve_wsgi

__all__ = ["LOOPBACK", "RunningServer", "WSGIApp", "serve_wsgi"]
