"""Faults in our own tool: the sender, ``serve`` and ``send`` against a consumer that misbehaves.

``tests/hostile.py`` plays one fault on every request: it breaks off inside the status line or
the body, answers bytes that are not HTTP (once, or without end), redirects to itself, streams a
200 MB body (with a length, chunked, or as a gzip bomb the sender never asked for), switches
protocols nobody asked to switch, or never answers at all. For each, on both engines of
``Sender.deliver_many``, through ``serve`` and through the ``send`` command:

* the outcome is recorded: one log line (or stored delivery) per event with every attempt, the
  status or transport error each attempt met, and a final ``delivered`` or ``dead-lettered``;
* memory is bounded: resident memory grows by less than 40 MB, the consumer managed to write
  only what fits in socket buffers (the sender stopped reading), each body excerpt holds at most
  ``body_limit`` bytes and each error message at most :data:`MAX_MESSAGE` characters;
* time is bounded: two deliveries of two attempts end within a few seconds.

The statuses and rules themselves (5xx, 429, 410, 3xx to another path, ``Retry-After``) are in
``tests/test_fast_delivery.py``; ``tests/test_soak.py`` runs the faults at random, at volume.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.cli import main
from mockserver.auth import BearerAuth
from mockserver.delivery import Delivery, Engine, Sender
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from tests._server import stored_deliveries, wait_until
from tests.hostile import Hostile, PeakRss, ShortTimeouts, payload_key
from tests.servers import serve_wsgi

HUGE = 200 * 1024 * 1024
BODY_LIMIT = 2048  # the sender's default, also what serve and send use
READ_TIMEOUT = 0.5
#: An error message is cut to 512 characters plus a note of how much was cut.
MAX_MESSAGE = 560
MEMORY_LIMIT_MB = 40.0
#: What the consumer may write before the sender stops reading: socket buffers on loopback.
SENT_LIMIT = 32 * 1024 * 1024
TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class Expect:
    """What every delivery to a consumer playing one fault must end as (retry ``custom:0``)."""

    status: str
    reason: str | None
    attempt_status: int | None
    error: str | None
    excerpt: str = ""

    @property
    def attempts(self) -> int:
        return 2 if self.reason == "exhausted" else 1


EXPECTED = {
    "half-status": Expect("dead-lettered", "exhausted", None, "protocol"),
    "half-body": Expect("delivered", None, 200, "protocol", '{"status": "half a bo'),
    "garbage": Expect("dead-lettered", "exhausted", None, "protocol"),
    "garbage-stream": Expect("dead-lettered", "exhausted", None, "protocol"),
    "upgrade": Expect("dead-lettered", "exhausted", None, "protocol"),
    "redirect-loop": Expect("dead-lettered", "redirect", 302, None, '{"status": 302}'),
    "huge-body": Expect("delivered", None, 200, None, "x" * BODY_LIMIT),
    "huge-chunked": Expect("delivered", None, 200, None, "y" * BODY_LIMIT),
    # The raw bytes: the sender asked for identity and does not inflate what it did not ask for.
    "gzip-bomb": Expect("delivered", None, 200, None, "\x1f\ufffd\x08"),
    "never": Expect("dead-lettered", "exhausted", None, "timeout"),
}
FAULTS = list(EXPECTED)


@pytest.fixture(params=["httpx", "aiohttp"])
def engine(request: pytest.FixtureRequest) -> Engine:
    name: Engine = request.param
    return name


def check(fault: str, record: dict[str, Any], consumer: Hostile) -> None:
    """One delivery (a log line, or serve's record) against what the fault must lead to."""
    expect = EXPECTED[fault]
    where = f"{fault}, delivery {record['id']}"
    assert (record["status"], record["reason"]) == (expect.status, expect.reason), where
    attempts = record["attempts"]
    assert len(attempts) == expect.attempts, where
    for attempt in attempts:
        assert (attempt["status"], attempt["error_kind"]) == (expect.attempt_status, expect.error)
        message = attempt["error_message"] or ""
        assert len(message) <= MAX_MESSAGE, f"{where}: a {len(message)}-character error message"
        assert len(attempt["body_excerpt"].encode()) <= BODY_LIMIT * 3  # replacement chars: 3 B
        assert attempt["body_excerpt"].startswith(expect.excerpt), (where, attempt["body_excerpt"])
        assert len(attempt["body_excerpt"]) <= BODY_LIMIT, where
    assert len(record["detail"] or "") <= MAX_MESSAGE + 200, where
    if fault == "redirect-loop":
        location = attempts[0]["response_headers"]["location"]
        assert location == consumer.url  # to itself, and not followed: one arrival per attempt
        assert (
            record["detail"]
            == f"status 302 to {location}: redirects are not followed (3xx is a failure)"
        )
    key = payload_key(record["payload"])
    assert key is not None
    arrivals = consumer.arrivals[key]
    assert [a.fault for a in arrivals] == [fault] * len(attempts), where
    assert all(a.sent_bytes < SENT_LIMIT for a in arrivals), [a.sent_bytes for a in arrivals]


@contextmanager
def bounded() -> Iterator[PeakRss]:
    """Fails the test when the block takes too long or grows memory too much."""
    started = time.monotonic()
    with PeakRss() as memory:
        yield memory
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.1f} s"
    assert memory.growth < MEMORY_LIMIT_MB, f"resident memory grew {memory.growth:.0f} MB"


def two_bodies() -> list[tuple[str, dict[str, Any]]]:
    return [("transaction.create", {"n": n}) for n in range(2)]


@pytest.mark.parametrize("fault", FAULTS)
def test_the_sender_records_every_fault_in_bounded_time_and_memory(
    engine: Engine, fault: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "deliveries.jsonl"
    with Hostile(fault=fault, huge_bytes=HUGE, hold_cap=10) as consumer:
        with (
            bounded(),
            Sender(
                consumer.url, retry="custom:0", read_timeout=READ_TIMEOUT, connect_timeout=2.0
            ) as sender,
            DeliveryLog(log_path) as log,
        ):
            summary = sender.deliver_many(two_bodies(), concurrency=2, log=log, engine=engine)
        consumer.settle()

    records = list(read_log(log_path))
    assert summary.total == len(records) == 2
    for record in records:
        check(fault, record, consumer)


@pytest.mark.parametrize("fault", FAULTS)
def test_serve_records_every_fault_and_keeps_serving(fault: str, tmp_path: Path) -> None:
    # serve has no timeout setting; a never-answering consumer would hold each attempt 10 s.
    transport = ShortTimeouts(READ_TIMEOUT) if fault == "never" else None
    with Hostile(fault=fault, huge_bytes=HUGE, hold_cap=15) as consumer:
        app = create_app(ServerConfig(state_dir=tmp_path, transport=transport))
        try:
            with (
                bounded(),
                serve_wsgi(app) as server,
                httpx.Client(base_url=server.url, timeout=10) as api,
            ):
                subscription = {"id": "hostile", "url": consumer.url, "retry": "custom:0"}
                assert api.post("/v1/subscriptions", json=subscription).status_code == 201
                accepted = api.post("/v1/events", json={"event": "any", "count": 2, "seed": 7})
                ids = [delivery["id"] for delivery in accepted.json()["deliveries"]]

                def final() -> list[dict[str, Any]] | None:
                    records = [api.get(f"/v1/deliveries/{id}").json() for id in ids]
                    done = all(r["status"] in ("delivered", "dead-lettered") for r in records)
                    return records if done else None

                records: list[dict[str, Any]] = wait_until(final)
                health = api.get("/healthz")
                assert health.status_code == 200
                assert health.json()["in_flight"] == 0
        finally:
            assert app.close(timeout=5) == 0
        consumer.settle()

    for record in records:
        check(fault, record, consumer)
    # No stored delivery carries the consumer's bulk: its attempts keep at most an excerpt
    # and a cut error message each, besides the payload.
    stored = stored_deliveries(tmp_path)
    assert set(stored) == set(ids)
    assert (
        max(len(json.dumps(record, ensure_ascii=False)) for record in stored.values()) < 48 * 1024
    )


@pytest.mark.parametrize("fault", FAULTS)
def test_the_send_command_reports_every_fault(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_path = tmp_path / "deliveries.jsonl"
    with Hostile(fault=fault, huge_bytes=HUGE, hold_cap=10) as consumer:
        with bounded():
            code = main(
                [
                    "send", consumer.url, "--count", "2", "--seed", "3", "--retry", "custom:0",
                    "--read-timeout", str(READ_TIMEOUT), "--connect-timeout", "2",
                    "--log", str(log_path), "--no-progress",
                ]
            )  # fmt: skip
        consumer.settle()

    out = capsys.readouterr()
    expect = EXPECTED[fault]
    assert code == (0 if expect.status == "delivered" else 1), out
    if expect.status == "delivered":
        assert "  delivered      2\n" in out.out, out.out
    else:
        assert f"  dead-lettered  2  ({expect.reason}: 2)\n" in out.out, out.out
    assert len(out.out) < 2000, out.out  # the first dead letter's detail is bounded too
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        check(fault, record, consumer)


def test_an_error_text_is_cut_after_the_secret_in_it_is_redacted(
    engine: Engine, tmp_path: Path
) -> None:
    """aiohttp quotes the bad line, the token in it straddles the cut: no part of it is kept."""
    token = "echoed-token-" + "0123456789" * 5
    done: list[Delivery] = []
    with (
        Hostile(fault="garbage-echo") as consumer,
        Sender(consumer.url, retry="none", auth=BearerAuth(token)) as sender,
    ):
        summary = sender.deliver_many(
            two_bodies(), concurrency=1, engine=engine, on_done=done.append
        )
    assert summary.dead_lettered == 2
    for delivery in done:
        message = delivery.attempts[0].error_message or ""
        assert len(message) <= MAX_MESSAGE
        assert token[:8] not in message, message
        assert token[:8] not in (delivery.detail or "")


def test_a_dripping_answer_is_cut_off_at_connect_plus_read_timeout(engine: Engine) -> None:
    """A byte every 0.2 s, each under the 0.5 s read timeout: the attempt ends at 1 + 0.5 s,
    not when the consumer is done (it would drip for 5 s here, for hours in real life)."""
    done: list[Delivery] = []
    with (
        Hostile(fault="trickle", hold_cap=5.0, drip_s=0.2) as consumer,
        Sender(consumer.url, retry="none", connect_timeout=1.0, read_timeout=READ_TIMEOUT) as s,
    ):
        started = time.monotonic()
        summary = s.deliver_many(
            two_bodies()[:1], concurrency=1, engine=engine, on_done=done.append
        )
        elapsed = time.monotonic() - started
    assert summary.dead_lettered == 1
    assert elapsed < 3.0
    [attempt] = done[0].attempts
    assert (attempt.status, attempt.error_kind) == (None, "timeout")
    assert attempt.error_message == (
        "attempt timeout: no complete answer within 1.5 s (connect + read timeout)"
    )
    assert 1.45 <= attempt.duration_s < 2.5  # uvloop keeps time in whole milliseconds
    assert [a.fault for a in consumer.arrivals["n:0"]] == ["trickle"]
