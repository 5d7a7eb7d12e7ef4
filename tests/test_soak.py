"""Soak: many events through a hostile consumer; nothing is lost, nothing is made up.

``tests/hostile.py`` answers every attempt with a fault drawn by seed (5xx, 429 with and without
``Retry-After``, resets, closes, read timeouts, slow answers, half-written answers, 2xx) and
keeps its own record of what it took. Each run sends ``R360_SOAK_EVENTS`` bodies with unique
resource ids (:class:`contracts.bulk.BulkGenerator`) on a fast retry schedule, through
``Sender.deliver_many`` on both engines and through ``serve``, and then holds the sender's log
against the consumer's record:

* every event ends ``delivered`` or ``dead-lettered`` (none pending, none missing, none extra);
* every delivered event was accepted by the consumer, exactly once, and every event the consumer
  accepted is delivered: the consumer's 2xx reached the sender each time;
* whatever else the consumer took is an *ambiguous* failure (it took the event, the answer never
  arrived), and the log shows each one as a failed attempt (``timeout``/``protocol``) followed by
  a retry or a dead letter: that is the only way an event reaches the consumer twice;
* attempt by attempt, the log records what the consumer did (the status it wrote, the
  ``Retry-After`` it sent, the transport error its fault causes), one attempt per arrival;
* the sender's memory stays flat: resident memory grows less than 30 MB from the middle of the
  run to its end (asserted from 5,000 events on; recorded for shorter runs).

``make test`` runs 500 events per path; ``make soak`` runs ``R360_SOAK_EVENTS=10000 pytest -m
soak``. ``R360_SOAK_SEED`` changes the faults; a failure prints the seed to rerun it with.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.bulk import BulkGenerator
from mockserver.auth import JwtAuth
from mockserver.delivery import Engine, Sender
from mockserver.delivery.delivery_log import DeliveryLog, read_log
from mockserver.delivery.records import Delivery
from mockserver.delivery.retry import RetryPolicy
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from tests._server import stored_deliveries
from tests.hostile import Arrival, Hostile, ShortTimeouts, payload_key, rss_mb
from tests.servers import serve_wsgi

pytestmark = pytest.mark.soak

EVENTS = int(os.environ.get("R360_SOAK_EVENTS", "500"))
SEED = int(os.environ.get("R360_SOAK_SEED", "360"))
READ_TIMEOUT = 0.5
CONCURRENCY = 16
#: Five attempts within about 0.4 s; a Retry-After may add at most 0.5 s to a delay.
RETRY = RetryPolicy("custom:0,0.05,0.1,0.2", (0.0, 0.05, 0.1, 0.2), retry_after_cap=0.5)
JWT_SECRET = "soak-jwt-secret-0123456789abcdef0123456789abcdef"
#: From this many events on, memory growth is asserted; shorter runs only record it.
LONG_RUN = 5000
RSS_GROWTH_LIMIT_MB = 30.0
TRANSPORT_ERRORS = frozenset({"timeout", "protocol"})
FINAL = frozenset({"delivered", "dead-lettered"})


class RssProbe:
    """Samples resident memory when half, and then all, of the deliveries have finished."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = rss_mb()
        self.middle: float | None = None
        self.end: float | None = None

    def tick(self, delivery: Delivery | None = None) -> None:
        self.done += 1
        if self.done == self.total // 2:
            self.middle = rss_mb()
        if self.done == self.total:
            self.end = rss_mb()

    @property
    def growth(self) -> float:
        assert self.middle is not None and self.end is not None, "the probe missed a sample"
        return self.end - self.middle


@dataclass
class Tally:
    """What a run did, counted from the log and the consumer's record."""

    path: str
    events: int
    seed: int = SEED
    elapsed_s: float = 0.0
    delivered: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Keys the consumer took more than once; each extra one explained by an ambiguous failure.
    duplicates_explained: int = 0
    #: Keys the consumer took that ended dead-lettered (every taking was ambiguous).
    taken_then_dead_lettered: int = 0
    #: Keys that more than one delivery carried (``serve`` draws resource ids at random).
    shared_keys: int = 0
    #: Answers begun after the sender could have given up, which its log shows as timeouts.
    answered_late: int = 0
    rss_mb: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        dead = sum(self.dead_lettered.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_lettered.items()))
        faults = ", ".join(f"{k} {v}" for k, v in self.faults.most_common())
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        rss = ", ".join(f"{k} {v:.1f}" for k, v in self.rss_mb.items())
        return "\n".join(
            [
                f"soak {self.path}: {self.events} events, seed {self.seed}, {self.elapsed_s:.1f} s",
                f"  delivered               {self.delivered}",
                f"  answered too late       {self.answered_late}",
                f"  dead-lettered           {dead}  ({reasons})",
                f"  attempts                {self.attempts}",
                f"  faults                  {faults}",
                f"  consumer outcomes       {outcomes}",
                f"  ambiguous               {self.outcomes['ambiguous']}",
                f"  duplicates explained    {self.duplicates_explained}",
                f"  taken, dead-lettered    {self.taken_then_dead_lettered}",
                f"  keys on >1 delivery     {self.shared_keys}",
                f"  rss MiB                 {rss}",
            ]
        )


#: The transport error each fault that writes no status line must cause.
FAULT_ERRORS = {
    "reset": "protocol",
    "close": "protocol",
    "ok-then-reset": "protocol",
    "half-status": "protocol",
    "timeout": "timeout",
    "late-ok": "timeout",
}


def answered_too_late(arrival: Arrival, attempt: dict[str, Any]) -> bool:
    """Did the consumer begin its answer only when the sender may already have given up?

    The sender's read timer starts once the request is written, so it cannot give up before
    ``started_at + READ_TIMEOUT``; an answer begun before that was there to be read, and a
    ``timeout`` in the log would be the sender's fault. One begun after it (a starved consumer
    thread on a busy machine, or a ``slow`` pause that ran long) may have reached a sender that
    had stopped reading: the log's ``timeout`` is then the truth, and what the consumer took is
    ambiguous, as with ``late-ok``.
    """
    return (
        arrival.answered_at is not None
        and attempt["status"] is None
        and attempt["error_kind"] == "timeout"
        and arrival.answered_at >= attempt["started_at"] + READ_TIMEOUT
    )


def mismatch(arrival: Arrival, attempt: dict[str, Any]) -> str | None:
    """Why ``attempt`` does not record what the consumer did to ``arrival``; ``None``: it does."""
    status, error = attempt["status"], attempt["error_kind"]
    seen = f"log has status {status}, error {error} ({attempt['error_message']})"
    if arrival.status is None:  # no status line got out: a transport error, retried
        if status is not None or error not in TRANSPORT_ERRORS:
            return f"{arrival.fault} answered nothing, but the {seen}"
        wanted = FAULT_ERRORS.get(arrival.fault)  # None: an answer whose sender had gone
        if wanted is not None and error != wanted:
            return f"{arrival.fault} should be a {wanted} error, but the {seen}"
        return None
    if status != arrival.status:
        return f"{arrival.fault} wrote status {arrival.status}, but the {seen}"
    if error is not None and not (arrival.fault == "half-body" and error == "protocol"):
        return f"{arrival.fault} wrote a whole answer, but the {seen}"
    if arrival.fault == "429-ra" and attempt["retry_after_s"] != arrival.retry_after:
        return f"Retry-After {arrival.retry_after} was sent, the log has {attempt['retry_after_s']}"
    return None


def compare(
    path: str, records: Iterable[dict[str, Any]], consumer: Hostile, *, events: int
) -> Tally:
    """Hold the sender's records against the consumer's; every disagreement is a failure."""
    tally = Tally(path, events)
    by_key: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    problems: list[str] = []
    for record in records:
        key = payload_key(record["payload"])
        assert key is not None, f"delivery {record['id']}: no resource id in its payload"
        by_key[key].append(record)
        tally.attempts += len(record["attempts"])
        if record["status"] == "delivered":
            tally.delivered += 1
        elif record["status"] == "dead-lettered":
            tally.dead_lettered[str(record["reason"])] += 1
        else:
            problems.append(f"delivery {record['id']} ({key}) ended {record['status']!r}")
    for key in set(consumer.arrivals) - set(by_key):
        problems.append(f"the consumer got {key}, which no delivery in the log carries")
    for key, deliveries in by_key.items():
        problems += _compare_key(key, deliveries, consumer, tally)
    tally.faults = Counter(consumer.faults)
    tally.outcomes = consumer.outcomes()
    if consumer.bad_requests:
        problems.append(f"the consumer could not parse {consumer.bad_requests} request(s)")
    if sum(tally.faults.values()) != tally.attempts:
        problems.append(
            f"{tally.attempts} attempts in the log, {sum(tally.faults.values())} arrivals"
        )
    if problems:
        shown = "\n  ".join(problems[:25])
        pytest.fail(
            f"{len(problems)} disagreement(s) between the log and the consumer "
            f"(R360_SOAK_SEED={SEED}, R360_SOAK_EVENTS={events}):\n  {shown}\n{tally.report()}"
        )
    return tally


def _compare_key(
    key: str, deliveries: list[dict[str, Any]], consumer: Hostile, tally: Tally
) -> list[str]:
    problems: list[str] = []
    # In the order the sender sent them: on a busy machine a starved consumer thread may read an
    # attempt that had already timed out after the retry that followed it.
    arrivals = sorted(consumer.arrivals.get(key, []), key=lambda arrival: arrival.received_at)
    attempts = [attempt for record in deliveries for attempt in record["attempts"]]
    delivered = sum(record["status"] == "delivered" for record in deliveries)
    if len(deliveries) == 1 and len(arrivals) == len(attempts):
        for arrival, attempt in zip(arrivals, attempts, strict=True):
            if answered_too_late(arrival, attempt):
                consumer.unread(arrival)
                tally.answered_late += 1
    accepted, ambiguous = consumer.accepted[key], consumer.ambiguous[key]
    ids = ", ".join(record["id"] for record in deliveries)
    # Every delivered event was accepted, and every acceptance reached the sender as a 2xx.
    if accepted != delivered:
        problems.append(
            f"{key} ({ids}): consumer accepted it {accepted}x, log delivered {delivered}x"
        )
    # Anything else the consumer took is an ambiguous failure, and the log shows each one.
    failed = sum(1 for a in attempts if a["status"] is None and a["error_kind"] in TRANSPORT_ERRORS)
    if ambiguous > failed:
        problems.append(
            f"{key} ({ids}): taken {ambiguous}x without a readable answer, but the log has "
            f"only {failed} failed attempt(s) to explain it"
        )
    if accepted + ambiguous > 1:
        tally.duplicates_explained += 1
    if ambiguous and not delivered:
        tally.taken_then_dead_lettered += 1
    if len(deliveries) > 1:  # only serve's random ids repeat; arrivals cannot be told apart
        tally.shared_keys += 1
        return problems
    [record] = deliveries
    # One attempt in the log per arrival at the consumer, each recording what the consumer did.
    if len(arrivals) != len(attempts):
        faults = [a.fault for a in arrivals]
        problems.append(
            f"{key} ({ids}): {len(arrivals)} arrival(s) {faults}, {len(attempts)} attempt(s)"
        )
        return problems
    for arrival, attempt in zip(arrivals, attempts, strict=True):
        why = mismatch(arrival, attempt)
        if why is not None:
            problems.append(f"{key} ({ids}) attempt {attempt['number']}: {why}")
    last = arrivals[-1]
    if record["status"] == "delivered" and last.outcome != "accepted":
        problems.append(f"{key} ({ids}): delivered, but the last arrival was {last.outcome}")
    if record["status"] == "dead-lettered":
        reason = "rejected" if last.fault == "400" else "exhausted"
        if record["reason"] != reason:
            problems.append(f"{key} ({ids}): dead-lettered {record['reason']}, not {reason}")
        if reason == "exhausted" and len(attempts) != RETRY.max_attempts:
            problems.append(f"{key} ({ids}): exhausted after {len(attempts)} attempt(s)")
    return problems


def bodies(count: int) -> Iterable[tuple[str, bytes]]:
    return ((body.event, body.body) for body in itertools.islice(BulkGenerator(seed=SEED), count))


@pytest.mark.parametrize("engine", ["httpx", "aiohttp"])
def test_the_sender_loses_nothing_to_a_hostile_consumer(engine: Engine, tmp_path: Path) -> None:
    log_path = tmp_path / "deliveries.jsonl"
    probe = RssProbe(EVENTS)
    started = time.monotonic()
    with Hostile(seed=SEED) as consumer:
        with (
            Sender(
                consumer.url,
                retry=RETRY,
                connect_timeout=2.0,
                read_timeout=READ_TIMEOUT,
                auth=JwtAuth("HS256", JWT_SECRET),
                rng=random.Random(SEED),
            ) as sender,
            DeliveryLog(log_path) as log,
        ):
            summary = sender.deliver_many(
                bodies(EVENTS), concurrency=CONCURRENCY, log=log, on_done=probe.tick, engine=engine
            )
        consumer.settle()
    elapsed = time.monotonic() - started

    records = list(read_log(log_path))
    assert len(records) == summary.total == EVENTS
    sent = {body.key for body in BulkGenerator(seed=SEED).take(EVENTS)}
    assert {payload_key(record["payload"]) for record in records} == sent
    tally = compare(engine, records, consumer, events=EVENTS)
    tally.elapsed_s = elapsed
    tally.rss_mb = {"start": probe.start, "middle": probe.middle or 0, "end": probe.end or 0}
    tally.rss_mb["growth"] = probe.growth
    print(tally.report())
    assert (summary.delivered, summary.dead_lettered) == (
        tally.delivered,
        sum(tally.dead_lettered.values()),
    )
    assert summary.attempts == tally.attempts
    assert tally.shared_keys == 0
    if EVENTS >= LONG_RUN:
        assert probe.growth < RSS_GROWTH_LIMIT_MB, tally.report()


def _trigger(api: httpx.Client, count: int, deadline: float) -> list[str]:
    """POST /v1/events in batches of 100 (the API's most); a full queue (429) is waited out."""
    ids: list[str] = []
    while len(ids) < count:
        size = min(100, count - len(ids))
        body = {"event": "any", "count": size, "seed": SEED + len(ids)}
        response = api.post("/v1/events", json=body)
        if response.status_code == 429:
            assert time.monotonic() < deadline, "the queue never drained"
            time.sleep(0.05)
            continue
        assert response.status_code == 202, response.text
        ids += [delivery["id"] for delivery in response.json()["deliveries"]]
    return ids


def _wait_final(api: httpx.Client, count: int, deadline: float) -> dict[str, int]:
    while True:
        counts: dict[str, int] = api.get("/healthz").json()["deliveries"]
        if counts["delivered"] + counts["dead-lettered"] + counts["interrupted"] >= count:
            return counts
        assert time.monotonic() < deadline, f"deliveries not final in time: {counts}"
        time.sleep(0.1)


def test_serve_loses_nothing_to_a_hostile_consumer(tmp_path: Path) -> None:
    state = tmp_path / "state"
    deadline = time.monotonic() + 120 + EVENTS * 0.1
    started = time.monotonic()
    with Hostile(seed=SEED) as consumer:
        config = ServerConfig(
            state_dir=state,
            workers=CONCURRENCY,
            transport=ShortTimeouts(READ_TIMEOUT),
        )
        app = create_app(config)
        try:
            with serve_wsgi(app) as server, httpx.Client(base_url=server.url, timeout=30) as api:
                subscription = {"id": "hostile", "url": consumer.url, "retry": RETRY.name}
                assert api.post("/v1/subscriptions", json=subscription).status_code == 201
                ids = _trigger(api, EVENTS, deadline)
                counts = _wait_final(api, EVENTS, deadline)
                end_rss = rss_mb()
        finally:
            interrupted = app.close(timeout=5)
        consumer.settle()
    elapsed = time.monotonic() - started

    assert interrupted == 0
    assert (counts["pending"], counts["delivering"], counts["interrupted"]) == (0, 0, 0)
    assert len(set(ids)) == len(ids) == EVENTS
    records = stored_deliveries(state)
    assert set(records) == set(ids)
    tally = compare("serve", records.values(), consumer, events=EVENTS)
    tally.elapsed_s = elapsed
    tally.rss_mb = {"end": end_rss}
    print(tally.report())
    assert (counts["delivered"], counts["dead-lettered"]) == (
        tally.delivered,
        sum(tally.dead_lettered.values()),
    )


@pytest.mark.parametrize(
    ("answered_after", "error", "late"),
    [
        (READ_TIMEOUT + 0.01, "timeout", True),  # begun after the sender could give up
        (READ_TIMEOUT - 0.01, "timeout", False),  # there to be read: a timeout is a sender bug
        (READ_TIMEOUT + 0.01, "protocol", False),  # only a read timeout can miss an answer
    ],
)
def test_only_an_answer_begun_after_the_read_timeout_may_go_unread(
    answered_after: float, error: str, late: bool
) -> None:
    arrival = Arrival("k", 1, "slow", outcome="accepted", status=200)
    arrival.answered_at = 1000.0 + answered_after
    attempt = {"status": None, "error_kind": error, "started_at": 1000.0}
    assert answered_too_late(arrival, attempt) is late


def test_arrivals_are_compared_in_the_order_they_were_sent() -> None:
    """A starved consumer thread read attempt 1 (already timed out) after attempt 2, so it
    numbered them the other way round; the comparison follows when each reached it."""
    consumer = Hostile(seed=SEED)
    late_read = Arrival("k", 2, "503", status=503, received_at=10.0)
    late_read.answered_at = 2000.0  # after the sender's read timeout of attempt 1
    first_read = Arrival("k", 1, "ok", outcome="accepted", status=200, received_at=11.0)
    consumer.arrivals["k"] = [first_read, late_read]
    consumer.accepted["k"] = 1
    attempts = [
        {"number": 1, "status": None, "error_kind": "timeout", "error_message": "read timeout",
         "started_at": 1000.0, "retry_after_s": None},
        {"number": 2, "status": 200, "error_kind": None, "error_message": None,
         "started_at": 1000.6, "retry_after_s": None},
    ]  # fmt: skip
    record = {"id": "d1", "status": "delivered", "reason": None, "attempts": attempts}
    tally = Tally("httpx", 1)
    assert _compare_key("k", [record], consumer, tally) == []
    assert tally.answered_late == 1
    # Compared in the order read, the same run is a disagreement: the test can fail.
    late_read.received_at = 12.0
    late_read.status = 503
    assert _compare_key("k", [record], consumer, Tally("httpx", 1)) != []
