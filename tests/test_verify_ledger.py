"""The idempotency ledger is read like the target, and bounded (README, "The ledger").

Each rule with a real consumer on loopback whose ``GET /ledger`` breaks it: an answer over
1 MiB, an answer dripped a byte at a time, a 401/403, and a ledger on another origin, which must
never see the run's credentials.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from contracts.verifier import Report, VerifyOptions, verify
from contracts.verifier.ledger import MAX_LEDGER_BYTES
from mockserver.auth import BearerAuth
from tests.servers import serve_wsgi

TOKEN = "ledger-test-token-7f3e9a1c"
TENANT = "ledger-test-tenant-header-51b2"
OPTIONS = VerifyOptions(seed=11, timeout_s=2.0, max_time_s=30.0)


class Consumer:
    """Accepts every delivery and counts it by (event, id); ``ledger`` answers ``GET /ledger``
    (the reference format by default). Records the headers each ledger request came with."""

    def __init__(self, ledger: str = "ok") -> None:
        self.ledger = ledger
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.ledger_headers: list[dict[str, str]] = []
        self.stop = threading.Event()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "GET" and request.path == "/ledger":
            self.ledger_headers.append({k.lower(): v for k, v in request.headers.items()})
            return self.read_ledger()(environ, start_response)
        body = json.loads(request.get_data())
        resource = "transaction" if "transaction" in body else "task"
        self.counts[(body["event"], body[resource]["id"])] = 1  # a repeat is processed once
        return Response('{"status": "ok"}', status=202)(environ, start_response)

    def processed(self) -> bytes:
        entries = [{"event": e, "id": i, "count": n} for (e, i), n in self.counts.items()]
        return json.dumps({"processed": entries}).encode()

    def read_ledger(self) -> Response:
        if self.ledger in ("401", "403"):
            return Response("no", status=int(self.ledger))
        if self.ledger == "huge":
            padding = b" " * (MAX_LEDGER_BYTES + 1)
            return Response(self.processed()[:-1] + padding + b"}", mimetype="application/json")
        if self.ledger == "drip":
            return Response(self.drip(), mimetype="application/json")
        return Response(self.processed(), mimetype="application/json")

    def drip(self) -> Iterator[bytes]:
        """The whole ledger, one byte every half second (each byte well within a read timeout)."""
        for byte in self.processed():
            if self.stop.wait(0.5):
                return
            yield bytes([byte])


def _idempotency(consumer: Consumer, ledger: str = "/ledger") -> Report:
    """``idempotency`` alone, with credentials and a header of the run's own configured."""
    with serve_wsgi(consumer) as server:
        try:
            return verify(
                server.url + "/webhooks",
                auth=BearerAuth(TOKEN),
                headers={"X-Tenant": TENANT},
                checks=["idempotency"],
                options=dataclasses.replace(OPTIONS, ledger=ledger),
            )
        finally:
            consumer.stop.set()


def test_a_ledger_over_1_mib_is_inconclusive() -> None:
    report = _idempotency(Consumer("huge"))
    finding = report.finding("idempotency")
    assert finding.status == "inconclusive", finding.message
    assert "is larger than 1024 KiB" in finding.message


def test_a_dripping_ledger_is_cut_off_at_the_read_timeout() -> None:
    started = time.monotonic()
    report = _idempotency(Consumer("drip"))
    finding = report.finding("idempotency")
    assert finding.status == "inconclusive", finding.message
    assert "could not be read" in finding.message
    assert time.monotonic() - started < OPTIONS.timeout_s + 5  # not the minutes of the drip


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_ledger_refusing_the_credentials_is_inconclusive_never_not_processed(
    status: str,
) -> None:
    consumer = Consumer(status)
    report = _idempotency(consumer)
    finding = report.finding("idempotency")
    assert finding.status == "inconclusive", finding.message
    assert f"answered {status}" in finding.message and "check that the ledger takes" in (
        finding.message
    )
    assert "not processed" not in finding.message
    # Same origin: it was sent the run's own credentials and headers.
    [headers] = consumer.ledger_headers
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["x-tenant"] == TENANT


def test_no_credentials_travel_to_a_ledger_on_another_origin() -> None:
    consumer = Consumer()
    with serve_wsgi(consumer) as elsewhere:
        report = _idempotency(consumer, ledger=elsewhere.url + "/ledger")
    finding = report.finding("idempotency")
    assert finding.status == "passed", finding.message
    [headers] = consumer.ledger_headers
    assert "authorization" not in headers and "x-tenant" not in headers, headers
    assert TOKEN not in json.dumps(headers) and TENANT not in json.dumps(headers)
