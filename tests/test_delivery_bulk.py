"""Bulk delivery: every event accounted for, the log streamed, pacing on the clock, memory flat."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.delivery import Sender
from mockserver.delivery.bulk import BulkRun
from mockserver.delivery.clock import FakeClock, SystemClock
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.delivery.pacing import TokenBucket
from mockserver.delivery.records import Attempt, Delivery
from mockserver.delivery.retry import RetryPolicy
from mockserver.delivery.summary import SummaryBuilder
from mockserver.errors import DeliveryError, UsageError

URL = "http://127.0.0.1:9/webhooks"
ONE_RETRY = RetryPolicy("one-retry", (1.0,), jitter=0.0)


class Behaviours:
    """Consumer whose answer depends on the payload's ``n``; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[int] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        n = json.loads(request.read())["n"]
        with self.lock:
            self.seen[n] += 1
            first = self.seen[n] == 1
        kind = n % 10
        if kind == 0:
            return httpx.Response(500)  # always fails: exhausted
        if kind == 1:
            return httpx.Response(503 if first else 200)  # delivered on the retry
        if kind == 2:
            return httpx.Response(404)  # rejected at once
        return httpx.Response(200)


def test_a_thousand_deliveries_all_end_delivered_or_dead_lettered(tmp_path: Path) -> None:
    count, concurrency = 1000, 8
    produced = 0
    finished: list[str] = []
    max_in_flight = 0
    lock = threading.Lock()

    def events() -> Iterator[tuple[str, dict[str, Any]]]:
        nonlocal produced, max_in_flight
        for n in range(count):
            with lock:
                produced += 1
                max_in_flight = max(max_in_flight, produced - len(finished))
            yield "transaction.create", {"n": n}

    def on_done(delivery: Delivery) -> None:
        with lock:
            finished.append(delivery.id)

    consumer = Behaviours()
    path = tmp_path / "deliveries.jsonl"
    with (
        Sender(
            URL, transport=httpx.MockTransport(consumer), retry=ONE_RETRY, clock=FakeClock()
        ) as sender,
        DeliveryLog(path) as log,
    ):
        summary = sender.deliver_many(events(), concurrency=concurrency, on_done=on_done, log=log)

    records = list(read_log(path))
    assert len(records) == count == len(finished) == summary.total
    assert [r["id"] for r in records] == finished  # one line per delivery, same ids, same order
    assert len(set(finished)) == count
    assert {r["status"] for r in records} == {"delivered", "dead-lettered"}
    assert all(r["attempts"] for r in records)
    assert summary.delivered == 800
    assert summary.dead_lettered == 200
    assert summary.reasons == {"exhausted": 100, "rejected": 100}
    assert summary.retried == 200  # kinds 0 and 1 need a second attempt
    assert summary.attempts == 1200
    assert summary.statuses == {"200": 800, "404": 100, "500": 200, "503": 100}
    assert sum(len(r["attempts"]) for r in records) == summary.attempts
    assert Counter(r["status"] for r in records) == {"delivered": 800, "dead-lettered": 200}
    assert summary.latency_p50_s is not None and summary.latency_p99_s is not None
    assert summary.latency_p50_s <= summary.latency_p95_s <= summary.latency_p99_s  # type: ignore[operator]
    # The input is consumed lazily: never more than the window (+1 being submitted) in flight.
    assert max_in_flight <= concurrency + 1


def test_rate_pacing_spaces_starts_one_over_rate_apart_on_the_clock() -> None:
    clock = FakeClock(start=0.0)  # small numbers: float spacing near 1.7e9 is ~2e-7 s
    items = (("e", {"n": n}) for n in range(20))
    starts: list[float] = []
    with Sender(
        URL, transport=httpx.MockTransport(lambda r: httpx.Response(200)), retry="none", clock=clock
    ) as sender:
        summary = sender.deliver_many(
            items,
            concurrency=1,
            rate=200,
            on_done=lambda d: starts.append(d.attempts[0].started_at),
        )

    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([1 / 200] * 19)
    assert clock.sleeps == pytest.approx([1 / 200] * 19)
    assert summary.elapsed_s == pytest.approx(19 / 200)


def test_token_bucket_allows_a_burst_then_paces() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(10, clock, burst=3)
    starts = [bucket.acquire() for _ in range(6)]

    assert starts == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2, 0.3])


def test_token_bucket_does_not_bank_tokens_beyond_the_burst() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(10, clock)
    bucket.acquire()
    clock.advance(60)  # idle for a minute: still only one start allowed at once
    first, second = bucket.acquire(), bucket.acquire()

    assert second - first == pytest.approx(0.1)


def test_rate_pacing_with_the_real_clock() -> None:
    items = (("e", {"n": n}) for n in range(6))
    began = time.monotonic()
    with Sender(URL, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sender:
        summary = sender.deliver_many(items, concurrency=3, rate=50)

    assert time.monotonic() - began >= 5 / 50 * 0.9
    assert summary.delivered == 6


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency 0 must be from 1 to 4096"),
        ({"concurrency": 1, "rate": 0}, "rate 0 must be from 0.001 to 1e.06 per second"),
        ({"concurrency": 1, "rate": -5.0}, "rate -5 must be from 0.001"),
        ({"concurrency": 1, "rate": 1.0, "burst": 0}, "burst 0 must be at least 1"),
    ],
)
def test_bad_bulk_options_are_usage_errors(options: dict[str, Any], message: str) -> None:
    with (
        Sender(URL, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sender,
        pytest.raises(UsageError, match=message),
    ):
        sender.deliver_many([("e", {})], **options)


def test_a_sender_side_failure_stops_the_run_and_is_raised() -> None:
    pulled = 0

    def events() -> Iterator[tuple[str, dict[str, Any]]]:
        nonlocal pulled
        for n in range(10_000):
            pulled += 1
            yield "e", {"n": n}

    class Broken:
        def headers(self) -> dict[str, str]:
            raise RuntimeError("no key")

    with (
        Sender(
            URL, transport=httpx.MockTransport(lambda r: httpx.Response(200)), auth=Broken()
        ) as s,
        pytest.raises(DeliveryError, match="auth header source failed: no key"),
    ):
        s.deliver_many(events(), concurrency=4)
    assert pulled < 100


def test_the_bulk_run_hands_out_nothing_once_a_failure_stopped_it() -> None:
    """The stop rule lives in the run, so no engine can keep sending after a failure."""
    run = BulkRun(iter([("e", 1), ("e", 2), ("e", 3)]), clock=FakeClock())
    assert run.next_item() == ("e", 1)
    run.fail(RuntimeError("the log's disk is full"))
    assert run.next_item() is None
    with pytest.raises(RuntimeError, match="disk is full"):
        run.summary()


def test_consumer_failures_never_raise_from_bulk() -> None:
    def chaos(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.read())["n"]
        if n % 3 == 0:
            raise httpx.ConnectError("refused", request=request)
        if n % 3 == 1:
            raise ValueError("app crashed")
        return httpx.Response(302, headers={"Location": "/x"})

    with Sender(URL, transport=httpx.MockTransport(chaos), retry="none", clock=FakeClock()) as s:
        summary = s.deliver_many((("e", {"n": n}) for n in range(30)), concurrency=5)

    assert summary.dead_lettered == 30
    assert summary.statuses == {"302": 10, "connect": 10, "error": 10}
    assert summary.reasons == {"exhausted": 20, "redirect": 10}


def test_summary_percentiles_use_nearest_rank() -> None:
    builder = SummaryBuilder()
    for n in range(1, 101):
        attempt = Attempt(
            number=1, started_at=0.0, duration_s=n / 100, request_headers={}, status=200
        )
        delivery = Delivery(id=str(n), event="e", payload={}, url=URL, policy="none")
        delivery.attempts.append(attempt)
        delivery.status = "delivered"
        builder.add(delivery)
    summary = builder.build()

    assert (summary.latency_p50_s, summary.latency_p95_s, summary.latency_p99_s) == (
        0.5,
        0.95,
        0.99,
    )
    assert summary.all_delivered
    assert summary.to_json()["latency_p95_s"] == 0.95


def test_an_empty_run_has_no_percentiles() -> None:
    with Sender(URL, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sender:
        summary = sender.deliver_many([], concurrency=2)

    assert summary.total == summary.attempts == 0
    assert summary.latency_p50_s is None


def test_the_log_appends_and_accepts_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    delivery = Delivery(id="d1", event="e", payload={"a": 1}, url=URL, policy="none")
    for _ in range(2):
        with DeliveryLog(path) as log:
            log.write(delivery)
    assert [r["id"] for r in read_log(path)] == ["d1", "d1"]

    with path.open("w", encoding="utf-8") as stream:
        log = DeliveryLog(stream)
        log.write(delivery)
        log.close()
        assert not stream.closed  # the caller owns a stream it passed in


def test_an_unwritable_log_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot open for writing"):
        DeliveryLog(tmp_path / "missing-dir" / "log.jsonl")


def test_system_clock_is_wall_time() -> None:
    assert abs(SystemClock().now() - time.time()) < 1


def test_jitter_draws_from_the_injected_random() -> None:
    results = []
    for _ in range(2):
        with Sender(
            URL,
            transport=httpx.MockTransport(lambda r: httpx.Response(500)),
            retry=RetryPolicy("j", (10.0, 10.0), jitter=0.5),
            clock=FakeClock(),
            rng=random.Random(99),
        ) as sender:
            results.append([a.delay_s for a in sender.deliver({}, event="e").attempts])
    assert results[0] == results[1]
