"""``send``'s work: where bodies come from, and splitting a run over worker processes.

One Python process tops out near a tenth of what ``wrk`` pushes through the same nginx: the
event loop, not the network, is the limit. ``--workers N`` runs N processes, each with its own
event loop and sender, each taking every N-th body of the *same* stream (so ``--workers`` changes
how a run is sent, never what: the same seed sends the same bodies with the same IDs). Each
worker counts into a :class:`~mockserver.delivery.summary.SummaryBuilder` whose export the parent
merges (percentiles stay exact), writes its share of ``--log`` to a part file that the parent
joins, and reports progress through a shared counter.

Workers are started with ``spawn`` and rebuild their settings from the command line's own
values through the same settings factory, so a secret is resolved (``env:``, ``@file``) and
registered with a redactor in every process, exactly as in the parent.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import InputError

__all__ = ["Bodies", "Plan", "Share", "auto_workers", "deliver", "read_payload", "scan_capture"]

#: How many deliveries a worker counts before it tells the parent's progress bar.
_PROGRESS_BATCH = 64
#: Below this many deliveries, ``--workers auto`` stays in one process. A second process costs
#: about half a second to start and doubles the rate (10k/s per process here), so it pays from
#: about 10,000 deliveries on; this threshold leaves room for slower machines. Above it, one
#: process per :data:`PER_WORKER` deliveries, at most one per core.
AUTO_THRESHOLD = 20_000
PER_WORKER = 10_000


@dataclass(frozen=True)
class Bodies:
    """Where the bodies come from; plain data, so a worker process can rebuild the stream."""

    #: ``payload`` (the bodies below, cycled), ``generated`` (seeded) or ``capture`` (a file).
    kind: str
    payload: tuple[tuple[str, bytes], ...] = ()
    seed: int = 0
    event: str | None = None
    evolved: bool = False
    capture: str | None = None

    def stream(self) -> Iterator[tuple[str, bytes]]:
        """Every body, in order: the same sequence in every process."""
        if self.kind == "payload":
            return itertools.cycle(self.payload)
        if self.kind == "capture":
            return _captured(str(self.capture))
        return ((item.event, item.body) for item in self.generated())

    def generated(self) -> Iterator[Any]:
        """The ``generated`` bodies as :class:`contracts.bulk.BulkBody`, changes and all."""
        from contracts.bulk import BulkGenerator

        return BulkGenerator(seed=self.seed, event=self.event, evolved=self.evolved)


@dataclass(frozen=True)
class Plan:
    """One ``send`` run: the settings factory's inputs, the sender's options, the bodies."""

    url: str
    auth: str | None
    jwt_claims: tuple[str, ...]
    headers: tuple[str, ...]
    ca_bundle: str | None
    insecure: bool
    retry: str
    connect_timeout: float
    read_timeout: float
    bodies: Bodies
    #: Deliveries to make; ``None``: every body of the stream once (a capture).
    count: int | None
    concurrency: int
    rate: float | None


@dataclass(frozen=True)
class Share:
    """Worker ``index`` of ``workers``: every ``workers``-th body, starting at ``index``."""

    plan: Plan
    index: int
    workers: int
    log: str | None


def read_payload(source: str) -> tuple[tuple[str, bytes], ...]:
    """The bodies of ``--payload``, each encoded once (a run must not re-serialise them)."""
    import sys

    from contracts import schemas
    from contracts.bodies import read_bodies
    from mockserver.delivery.records import encode_payload

    bodies = []
    for result in read_bodies(source):
        if isinstance(result, InputError):
            raise result
        violations = schemas.validate(result.payload)
        if violations:
            print(
                f"warning: {result.label} is not a valid v1 body ({violations[0]}); "
                "sending it anyway",
                file=sys.stderr,
            )
        event = schemas.event_of(result.payload) or "unknown"
        bodies.append((event, encode_payload(result.payload)))
    if not bodies:
        raise InputError("no body in it; give a .json file or JSON Lines of bodies", source=source)
    return tuple(bodies)


def _captured(source: str) -> Iterator[tuple[str, bytes]]:
    """A capture's bodies, byte for byte, with the event each one is of (``unknown`` if none).

    A captured body that is not a JSON object (a BOM, bytes that are not UTF-8) is replayed
    too: it is what was sent, and how a consumer takes it is the point of a replay. Lines with
    no body (refused deliveries, broken lines) are skipped; :func:`scan_capture` counts them.
    """
    from contracts import schemas
    from contracts.captures import Delivery, Problem, read_captures

    for item in read_captures(source):
        if isinstance(item, Delivery):
            yield schemas.event_of(item.body) or "unknown", item.raw
        elif isinstance(item, Problem) and item.raw is not None:
            yield "unknown", item.raw


def scan_capture(source: str) -> tuple[int, Counter[str]]:
    """How many bodies ``send --from-capture`` replays from ``source``, and the lines it skips
    by reason (``refused by the recorder (no body)``, ``not JSON``...), to say so up front."""
    from contracts.captures import Delivery, Problem, Refused, read_captures

    bodies, skipped = 0, Counter[str]()
    for item in read_captures(source):
        if isinstance(item, Delivery) or (isinstance(item, Problem) and item.raw is not None):
            bodies += 1
        elif isinstance(item, Refused):
            skipped["refused by the recorder (no body)"] += 1
        else:
            skipped[item.reason.split(" (")[0]] += 1
    return bodies, skipped


def auto_workers(plan: Plan) -> int:
    """``--workers auto``: a process per core for a large unpaced run, else one."""
    if plan.rate is not None or plan.count is None or plan.count < AUTO_THRESHOLD:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, plan.count // PER_WORKER))


def deliver(
    plan: Plan,
    *,
    workers: int,
    log: str | None,
    progress: Callable[[int], None],
) -> tuple[Any, Any]:
    """Run ``plan`` on ``workers`` processes (1: this one); the summary and the first dead
    letter (or ``None``)."""
    from mockserver.delivery.summary import SummaryBuilder

    if workers == 1:
        builder = SummaryBuilder()
        started = time.monotonic()
        dead = run_share(Share(plan, 0, 1, log), builder=builder, progress=progress)
        return builder.build(elapsed_s=time.monotonic() - started), dead
    return _in_processes(plan, workers, log, progress)


def run_share(
    share: Share,
    *,
    builder: Any = None,
    progress: Callable[[int], None] | None = None,
    counter: Any = None,
) -> Any:
    """Deliver one share; count into ``builder``; report progress to ``progress`` (this
    process) or ``counter`` (a shared value); the first dead letter, or ``None``."""
    from mockserver.delivery import Delivery, DeliveryLog
    from mockserver.settings import delivery_settings

    plan = share.plan
    settings = delivery_settings(
        plan.url,
        auth=plan.auth,
        jwt_claims=list(plan.jwt_claims),
        headers=list(plan.headers),
        ca_bundle=plan.ca_bundle,
        insecure=plan.insecure,
    )
    sender = settings.sender(
        retry=plan.retry, connect_timeout=plan.connect_timeout, read_timeout=plan.read_timeout
    )
    first_dead: list[Delivery] = []
    pending = [0]

    def done(delivery: Delivery) -> None:
        if not delivery.delivered and not first_dead:
            first_dead.append(delivery)
        if progress is not None:
            progress(1)
            return
        pending[0] += 1
        if pending[0] >= _PROGRESS_BATCH:
            with counter.get_lock():
                counter.value += pending[0]
            pending[0] = 0

    rate = plan.rate / share.workers if plan.rate is not None else None
    with ExitStack() as stack:
        stack.enter_context(sender)
        mine = (share.index, plan.count, share.workers)  # this worker's bodies of the stream
        items: Iterator[tuple[str, bytes]] = itertools.islice(plan.bodies.stream(), *mine)
        out = None
        if share.log and plan.bodies.kind == "generated" and plan.bodies.evolved:
            from contracts.cli._evolution_log import EvolutionLog

            evolution = EvolutionLog(share.log)  # each line says how its body was evolved
            items = evolution.track(itertools.islice(plan.bodies.generated(), *mine))
            out = stack.enter_context(evolution)
        elif share.log:
            out = stack.enter_context(DeliveryLog(share.log))
        sender.deliver_many(
            items, concurrency=plan.concurrency, rate=rate, on_done=done, log=out, builder=builder
        )
    if counter is not None and pending[0]:
        with counter.get_lock():
            counter.value += pending[0]
    return first_dead[0] if first_dead else None


def _worker(share: Share, counter: Any) -> tuple[dict[str, Any], Any]:
    from mockserver.delivery.summary import SummaryBuilder

    builder = SummaryBuilder()
    dead = run_share(share, builder=builder, counter=counter)
    return builder.export(), dead


def _init(counter: Any) -> None:
    global _COUNTER
    _COUNTER = counter


_COUNTER: Any = None


def _run_worker(share: Share) -> tuple[dict[str, Any], Any]:
    return _worker(share, _COUNTER)


def _in_processes(
    plan: Plan, workers: int, log: str | None, progress: Callable[[int], None]
) -> tuple[Any, Any]:
    from mockserver.delivery.summary import SummaryBuilder

    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    parts = [f"{log}.part{index}" for index in range(workers)] if log else [None] * workers
    shares = [Share(plan, index, workers, part) for index, part in enumerate(parts)]
    stop = threading.Event()
    shown = [0]

    def report() -> None:
        while not stop.wait(0.1):
            _advance(counter, shown, progress)

    watcher = threading.Thread(target=report, name="r360-progress", daemon=True)
    started = time.monotonic()
    watcher.start()
    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init, initargs=(counter,)
        ) as pool:
            results = list(pool.map(_run_worker, shares))
    finally:
        stop.set()
        watcher.join()
        _advance(counter, shown, progress)
        if log:
            _join(log, [p for p in parts if p])
    builder = SummaryBuilder()
    for exported, _ in results:
        builder.merge(exported)
    dead = next((d for _, d in results if d is not None), None)
    return builder.build(elapsed_s=time.monotonic() - started), dead


def _advance(counter: Any, shown: list[int], progress: Callable[[int], None]) -> None:
    value = int(counter.value)
    if value > shown[0]:
        progress(value - shown[0])
        shown[0] = value


def _join(log: str, parts: list[str]) -> None:
    """The workers' part files, one after the other, into ``log`` (then removed)."""
    with open(log, "wb") as out:
        for part in parts:
            path = Path(part)
            if path.exists():
                with path.open("rb") as piece:
                    shutil.copyfileobj(piece, out)
                path.unlink()
