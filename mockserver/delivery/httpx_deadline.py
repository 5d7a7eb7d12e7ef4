"""httpx's transport with every socket operation bound by the attempt's deadline.

The why is in :mod:`mockserver.delivery.deadline`. This half wraps httpcore's network backend,
and lives apart so that a run on the aiohttp engine never imports httpcore (and the trio it
probes for): 70 ms of a command's start.
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from mockserver.delivery.deadline import budget as _budget

__all__ = ["ConnectGuard", "deadline_transport"]


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget = _budget(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        budget = _budget(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, budget, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        budget = _budget(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, budget, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


#: Wraps the network backend to refuse some connections (``serve``'s egress guard).
ConnectGuard = typing.Callable[[httpcore.NetworkBackend], httpcore.NetworkBackend]


def deadline_transport(
    *, verify: ssl.SSLContext | bool, limits: httpx.Limits, guard: ConnectGuard | None = None
) -> httpx.HTTPTransport:
    """httpx's own transport for the network, its sockets bound by :func:`attempt_deadline`,
    and with ``guard``, connecting only where the guard allows (it sits under the deadline).

    httpx offers no way to pass httpcore a network backend, so the backend of the transport's
    connection pool is wrapped after it is made (``tests/test_hostile_faults.py`` fails if a
    new httpx moves it; with a guard, a moved backend is an error: the guard fails closed).
    """
    transport = httpx.HTTPTransport(verify=verify, limits=limits)
    pool = transport._pool
    if isinstance(pool, httpcore.ConnectionPool):
        inner = pool._network_backend
        pool._network_backend = _Backend(guard(inner) if guard is not None else inner)
    elif guard is not None:
        raise TypeError("httpx's transport has no httpcore pool to guard; pin httpx 0.28")
    return transport
