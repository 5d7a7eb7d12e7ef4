"""Where ``serve`` may deliver: never to a link-local address or a cloud metadata service.

A mock server that delivers to any URL it is told hands an instance's credentials to whoever can
create a subscription, if that URL is the metadata service (``169.254.169.254``). Refusing the
address as written is not enough, because the same address has many spellings and many names:

* every IPv4 spelling the C library accepts (``inet_aton``): ``2852039166``, ``0xa9fea9fe``,
  ``0251.0376.0251.0376``, ``169.254.43518``; :func:`parse_ipv4` reads them all, as
  ``getaddrinfo`` would when connecting;
* IPv6 addresses that carry an IPv4 one: IPv4-mapped (``::ffff:169.254.169.254``),
  IPv4-compatible (``::a9fe:a9fe``), NAT64 (``64:ff9b::a9fe:a9fe``, RFC 6052) and 6to4
  (``2002:a9fe:a9fe::``, RFC 3056): :func:`embedded_ipv4` unwraps them;
* well-known names (``instance-data``, ``metadata.google.internal``), refused as written;
* any other name that resolves there (``169.254.169.254.nip.io``, a DNS rebinding): only the
  answer of the resolver says so, and it may change between two lookups. So the check is made
  again when connecting (:class:`GuardedBackend`): the name is resolved once, every address is
  checked, and the connection goes to a checked address, never to a second lookup's answer.

:func:`forbidden_host` is the check at creation (the config file, ``POST /v1/subscriptions``);
:func:`connect_guard` the sender's guard of every subscription's connections
(``--allow-link-local`` switches both off). Through a proxy from the environment, the proxy
connects, not this server.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import typing
from collections.abc import Callable, Sequence
from urllib.parse import unquote

import httpcore

from mockserver.delivery.httpx_deadline import ConnectGuard

__all__ = [
    "METADATA_HOSTS",
    "GuardedBackend",
    "Resolver",
    "connect_guard",
    "embedded_ipv4",
    "forbidden_address",
    "forbidden_host",
    "parse_host",
    "parse_ipv4",
    "system_resolver",
]

#: A host and a port in, the addresses to try out (what ``getaddrinfo`` answers).
Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Names of metadata services (AWS, GCP, generic), refused as written: inside the cloud they
#: resolve to a metadata address, and outside it nobody needs them.
METADATA_HOSTS = frozenset(
    {
        "instance-data", "instance-data.ec2.internal", "metadata", "metadata.goog",
        "metadata.google.internal",
    }
)  # fmt: skip
#: Metadata services that are not link-local: AWS over IPv6, Alibaba Cloud.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
#: One part of an inet_aton address: hexadecimal, octal (a leading 0) or decimal.
_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """``text`` read as ``inet_aton`` reads it (``a``, ``a.b``, ``a.b.c``, ``a.b.c.d``; each
    part decimal, ``0x`` hex or ``0`` octal; the last fills the bytes left), else ``None``."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(part) for part in parts):
        return None
    values = [int(part, 16) if part[:2] in ("0x", "0X") else int(part, 8 if part[0] == "0" else 10)
              for part in parts]  # fmt: skip
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (5 - len(values))):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def parse_host(host: str) -> IPAddress | None:
    """The address a URL's host names literally (any IPv4 spelling, IPv6 with or without
    brackets and zone), ``None`` for a name."""
    text = unquote(host).strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.partition("%")[0])
        except ValueError:
            return None
    return parse_ipv4(text)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), else ``None``."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def forbidden_address(address: IPAddress) -> tuple[IPAddress, str] | None:
    """The address a delivery to ``address`` would reach (itself, or the IPv4 one it carries)
    and what it is, when that is forbidden; else ``None``."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
    for candidate in candidates:
        if candidate in _METADATA_ADDRESSES:
            return candidate, "a cloud metadata service"
        if candidate.is_link_local:
            return candidate, "a link-local address"
    return None


def _said(written: str, address: IPAddress, verb: str = "is") -> str | None:
    found = forbidden_address(address)
    if found is None:
        return None
    target, kind = found
    if written.lower().strip("[]") == str(target):
        return f"{target} is {kind}"
    return f"{written} {verb} {target}, {kind}"


def forbidden_host(host: str) -> str | None:
    """Why a URL's ``host`` must not be delivered to, as written (no lookup), or ``None``."""
    name = unquote(host).strip().lower().rstrip(".")
    if name in METADATA_HOSTS:
        return f"{name} is a cloud metadata service"
    address = parse_host(name)
    return _said(host, address) if address is not None else None


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for ``host``, in its order, each once."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses :func:`forbidden_address` allows, resolving each name once.

    :param inner: the backend that makes the connection (given an address, never a name).
    :param resolver: how names become addresses (a fake one in tests: no DNS).
    """

    def __init__(self, inner: httpcore.NetworkBackend, resolver: Resolver | None = None) -> None:
        self._inner = inner
        self._resolver = resolver if resolver is not None else system_resolver

    def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses to try for ``host``; raises :class:`httpcore.ConnectError`
        when any of them is forbidden (a name resolving to one public and one metadata address
        could otherwise win the second try)."""
        literal = parse_host(host)
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = list(self._resolver(host, port))
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        for text in found:
            address = ipaddress.ip_address(text.partition("%")[0])
            problem = _said(host, address, "is" if literal is not None else "resolves to")
            if problem is not None:
                raise httpcore.ConnectError(
                    f"refused: {problem}; start serve with --allow-link-local to allow it"
                )
        if not found:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return found

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        options = list(socket_options) if socket_options is not None else None
        for address in self.addresses(host, port):
            try:
                stream = self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
            else:
                return stream
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def connect_guard(resolver: Resolver | None = None) -> ConnectGuard:
    """The sender's ``connect_guard`` for a subscription: :class:`GuardedBackend` over the
    network. It sits under the sender's per-attempt deadline, so a guarded attempt is bounded
    and worded as any other; TLS still checks the certificate against the URL's name (the TLS
    layer is given the name, the socket the address)."""
    return functools.partial(GuardedBackend, resolver=resolver)
