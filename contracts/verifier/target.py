"""What the verifier talks to: a URL, or a WSGI/ASGI app reached in-process with no server.

In-process targets go through httpx transports (``WSGITransport``; ASGI through
:class:`SyncASGITransport`), so Flask, Django and FastAPI consumers are verified in a unit-test
run exactly as over the wire, minus TLS.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.errors import UsageError
from mockserver.urls import parse_webhook_url, shown_url

__all__ = ["SyncASGITransport", "Target", "is_asgi"]

IN_PROCESS_BASE = "http://consumer.in-process"


@dataclass(frozen=True)
class Target:
    """A consumer endpoint: ``url`` and, for an in-process app, the transport that reaches it."""

    url: str
    transport: httpx.BaseTransport | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    app_name: str | None = None

    @property
    def in_process(self) -> bool:
        return self.transport is not None

    @property
    def label(self) -> str:
        url = shown_url(self.url)  # no user info, no ?token= value
        return f"{self.app_name} (in-process) {url}" if self.in_process else url

    @classmethod
    def from_url(cls, url: str, *, ca_bundle: str | None = None, insecure: bool = False) -> Target:
        """A consumer on the network, checked by the one URL validator; user info in ``url``
        becomes credentials when the run's settings are made (:mod:`mockserver.settings`)."""
        parse_webhook_url(url, option="target")
        return cls(url, ca_bundle=ca_bundle, insecure=insecure)

    @classmethod
    def from_app(cls, app: Any, *, path: str = "/webhooks") -> Target:
        """An in-process WSGI (Flask, Django) or ASGI (FastAPI, Starlette) app."""
        if not path.startswith("/"):
            raise UsageError(f"path {path!r} must start with '/', e.g. /webhooks")
        name = type(app).__name__
        if is_asgi(app):
            return cls(IN_PROCESS_BASE + path, transport=SyncASGITransport(app), app_name=name)
        if callable(app):
            return cls(
                IN_PROCESS_BASE + path, transport=httpx.WSGITransport(app=app), app_name=name
            )
        raise UsageError(f"{app!r} is neither a WSGI nor an ASGI app, nor a URL")

    @classmethod
    def coerce(cls, value: Any, *, ca_bundle: str | None = None, insecure: bool = False) -> Target:
        """A Target from what a user gives: a Target, a URL string, or an app."""
        if isinstance(value, Target):
            return value
        if isinstance(value, str):
            return cls.from_url(value, ca_bundle=ca_bundle, insecure=insecure)
        return cls.from_app(value)


def is_asgi(app: Any) -> bool:
    """ASGI apps are coroutine functions, or objects whose ``__call__`` is one (Starlette)."""
    call = inspect.getattr_static(type(app), "__call__", None)
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


class SyncASGITransport(httpx.BaseTransport):
    """Drive an ASGI app from a sync ``httpx.Client``: the app runs on its own event-loop thread.

    httpx's ``ASGITransport`` is async-only and the sender is sync; running one loop in a daemon
    thread (rather than ``asyncio.run`` per request) keeps the app's loop-bound state, such as a
    rate limiter's lock, alive across requests, as under a real ASGI server.
    """

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="r360-asgi", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def exchange() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = asyncio.run_coroutine_threadsafe(exchange(), self._loop).result()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()
