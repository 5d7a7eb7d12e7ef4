"""Where ``serve`` may deliver (``mockserver.server.egress``): the check of a host as written,
every spelling of a metadata address, and the check of what a name resolves to at connect time.

Nothing here leaves the machine: names are resolved by a fake resolver, a refused address is
never connected to, and the deliveries that do go out go to a consumer on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.server.egress import (
    GuardedBackend,
    embedded_ipv4,
    forbidden_host,
    parse_host,
    parse_ipv4,
)
from tests._server import wait_for_status
from tests.hostile import Hostile
from tests.servers import serve_wsgi

#: inet_aton spellings (and non-spellings): parse_ipv4 must read each as the C library does.
INET_ATON = [
    "169.254.169.254", "2852039166", "0xa9fea9fe", "0XA9FEA9FE", "0251.0376.0251.0376",
    "169.254.43518", "169.16689662", "0xa9.0xfe.0xa9.0xfe", "0x7f.1", "127.1", "0177.0.0.1",
    "2130706433", "0", "00000000000000000001", "1.2.3.4", "255.255.255.255",
    "4294967296", "0x100000000", "256.1.1.1", "1.256.1.1", "1.2.65536", "08.1.1.1", "0x",
    "1.2.3.4.5", "1..2", "", ".", "1.2.3.4.", "a.b.c.d", "-1", "1e3", "0x1g",
]  # fmt: skip


@pytest.mark.parametrize("text", INET_ATON)
def test_ipv4_is_read_as_the_c_library_reads_it(text: str) -> None:
    try:
        expected: Any = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert parse_ipv4(text) == expected


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("0:0:0:0:0:ffff:a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::169.254.1.2", "169.254.1.2"),
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("::a9fe:a9fe", "169.254.169.254"),
        ("2001:db8::1", None),
    ],
)
def test_the_ipv4_address_inside_an_ipv6_one_is_unwrapped(address: str, inner: str | None) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert found == (ipaddress.IPv4Address(inner) if inner else None)


#: Hosts as a URL writes them, each the metadata service or another link-local address.
FORBIDDEN_HOSTS = [
    "169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518",
    "169.16689662", "169.254.1.1", "169.254.169.254.", "%31%36%39.254.169.254",
    "::ffff:169.254.169.254", "[::ffff:169.254.169.254]", "0:0:0:0:0:ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe", "fe80::1", "fe80::1%25eth0",
    "FE80::1", "fd00:ec2::254", "100.100.100.200", "instance-data", "INSTANCE-DATA.",
    "instance-data.ec2.internal", "metadata.google.internal", "metadata.goog", "metadata",
]  # fmt: skip


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_every_spelling_of_a_forbidden_host_is_refused_as_written(host: str) -> None:
    problem = forbidden_host(host)
    assert problem is not None
    assert problem.endswith(("a link-local address", "a cloud metadata service")), problem


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "::1", "::ffff:127.0.0.1",
     "localhost", "consumer.example", "10.0.0.1", "2001:db8::1", "169.255.0.1", "fec0::1"],
)  # fmt: skip
def test_other_hosts_pass(host: str) -> None:
    assert forbidden_host(host) is None


def test_a_spelling_says_which_address_it_is() -> None:
    assert forbidden_host("0xa9fea9fe") == (
        "0xa9fea9fe is 169.254.169.254, a cloud metadata service"
    )
    assert (
        forbidden_host("64:ff9b::a9fe:1") == "64:ff9b::a9fe:1 is 169.254.0.1, a link-local address"
    )
    assert parse_host("[::1]") == ipaddress.IPv6Address("::1")


class FakeNetwork(httpcore.NetworkBackend):
    """Records where it was asked to connect, and connects nowhere."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((host, port))
        return "a stream"


def guard(answers: dict[str, list[str]]) -> tuple[GuardedBackend, FakeNetwork, list[str]]:
    network, asked = FakeNetwork(), []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return GuardedBackend(network, resolver), network, asked


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("169.254.169.254.nip.io", ["169.254.169.254"]),
        ("instance-data.example", ["fd00:ec2::254"]),
        ("rebind.example", ["127.0.0.1", "169.254.169.254"]),  # any bad answer refuses
        ("mapped.example", ["::ffff:169.254.169.254"]),
        ("nat64.example", ["64:ff9b::a9fe:a9fe"]),
        ("scoped.example", ["fe80::1%eth0"]),
    ],
)
def test_a_name_that_resolves_to_a_forbidden_address_is_never_connected_to(
    name: str, answer: list[str]
) -> None:
    backend, network, asked = guard({name: answer})
    with pytest.raises(httpcore.ConnectError) as caught:
        backend.connect_tcp(name, 80, timeout=1.0)
    message = str(caught.value)
    assert message.startswith(f"refused: {name} resolves to ") and "\n" not in message
    assert message.endswith("; start serve with --allow-link-local to allow it")
    assert network.calls == [] and asked == [name]


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    backend, network, asked = guard({"consumer.example": ["127.0.0.1", "::1"]})
    assert backend.connect_tcp("consumer.example", 8000) == "a stream"  # the network's own
    assert network.calls == [("127.0.0.1", 8000)] and asked == ["consumer.example"]


def test_an_address_is_not_looked_up_and_a_spelling_is_connected_as_read() -> None:
    backend, network, asked = guard({})
    backend.connect_tcp("2130706433", 8000)
    with pytest.raises(httpcore.ConnectError, match=r"0xa9fea9fe is 169\.254\.169\.254"):
        backend.connect_tcp("0xa9fea9fe", 80)
    assert network.calls == [("127.0.0.1", 8000)] and asked == []


def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    backend, network, _ = guard({})
    with pytest.raises(httpcore.ConnectError, match=r"cannot resolve nowhere\.example"):
        backend.connect_tcp("nowhere.example", 80)
    assert network.calls == []


# -- end to end: the guard is the transport of every subscription of serve ----------------------


@pytest.fixture
def consumer() -> Iterator[tuple[str, list[str]]]:
    """A consumer on 127.0.0.1; yields its port and the Host headers it saw."""
    hosts: list[str] = []
    lock = threading.Lock()

    @Request.application
    def app(request: Request) -> Response:
        with lock:
            hosts.append(request.host)
        return Response("ok", status=202)

    with serve_wsgi(app) as server:
        yield str(server.port), hosts


def test_serve_connects_through_the_guard_to_loopback_spellings_and_names(
    consumer: tuple[str, list[str]],
) -> None:
    port, hosts = consumer
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if host == "localhost" else []

    with create_app(ServerConfig(resolver=resolver)) as app:
        client = Client(app)
        for url in (f"http://2130706433:{port}/hook", f"http://localhost:{port}/hook"):
            created = client.post("/v1/subscriptions", json={"url": url})
            assert created.status_code == 201, created.json
            accepted = client.post("/v1/events", json={"event": "task.completed"}).json
            delivery = wait_for_status(client, accepted["deliveries"][-1]["id"], "delivered")
            assert delivery["last_status"] == 202
            client.delete(f"/v1/subscriptions/{created.json['id']}")
    assert sorted(hosts) == sorted([f"2130706433:{port}", f"localhost:{port}"])
    assert asked == ["localhost"]  # the name went through the guard's resolver


def test_serve_refuses_a_name_that_resolves_to_the_metadata_service(
    consumer: tuple[str, list[str]],
) -> None:
    """The resolver answers loopback first: if the guard let the answer through, the delivery
    would reach the loopback consumer (and the test fail), never the network."""
    port, hosts = consumer

    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "::ffff:169.254.169.254"]

    with create_app(ServerConfig(resolver=resolver)) as app:
        client = Client(app)
        url = f"http://localhost:{port}/hook"
        created = client.post("/v1/subscriptions", json={"url": url, "retry": "none"})
        assert created.status_code == 201, created.json
        accepted = client.post("/v1/events", json={"event": "task.completed"}).json
        delivery = wait_for_status(client, accepted["deliveries"][0]["id"], "dead-lettered")
    [attempt] = delivery["attempts"]
    assert attempt["error_kind"] == "connect"
    assert (
        "refused: localhost resolves to 169.254.169.254, a cloud metadata service; start serve "
        "with --allow-link-local to allow it" in attempt["error_message"]
    )
    assert hosts == []


def test_an_attempt_through_the_guard_keeps_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A byte every 0.2 s, each under the read timeout: cut off at the attempt's deadline, as
    the sender cuts off attempts on a network it reaches itself."""
    from mockserver.delivery import core

    monkeypatch.setattr(core.Timeouts, "attempt", property(lambda self: 1.0))
    with (
        Hostile(fault="trickle", hold_cap=5.0, drip_s=0.2) as consumer,
        create_app(ServerConfig()) as app,
    ):
        client = Client(app)
        client.post("/v1/subscriptions", json={"url": consumer.url, "retry": "none"})
        accepted = client.post("/v1/events", json={"event": "task.completed"}).json
        delivery = wait_for_status(client, accepted["deliveries"][0]["id"], "dead-lettered")
    [attempt] = delivery["attempts"]
    assert attempt["error_kind"] == "timeout" and 0.95 <= attempt["duration_s"] < 2.5
    # Worded as the sender words a cut-off on its own network: the guard is under its deadline.
    assert attempt["error_message"] == (
        "attempt timeout: no complete answer within 1 s (connect + read timeout)"
    )


@pytest.mark.parametrize(("names", "outcome"), [(["localhost"], 200), (["other.example"], None)])
def test_tls_through_the_guard_checks_the_certificate_against_the_name(
    ca: Any, ca_pem: Any, names: list[str], outcome: int | None
) -> None:
    """The socket goes to the checked address; the certificate is still checked for the name
    in the URL (here only a certificate for localhost is accepted)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)

    @Request.application
    def app(request: Request) -> Response:
        return Response("ok")

    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "localhost" else []

    with (
        serve_wsgi(app, ssl_context=context) as server,
        create_app(ServerConfig(resolver=resolver)) as mock,
    ):
        client = Client(mock)
        url = f"https://localhost:{server.port}/hook"
        body = {"url": url, "ca_bundle": str(ca_pem), "retry": "none"}
        assert client.post("/v1/subscriptions", json=body).status_code == 201
        accepted = client.post("/v1/events", json={"event": "task.completed"}).json
        delivery = wait_for_status(
            client, accepted["deliveries"][0]["id"], "delivered", "dead-lettered"
        )
    [attempt] = delivery["attempts"]
    assert attempt["status"] == outcome
    if outcome is None:
        assert attempt["tls_failure"] == "hostname-mismatch"
