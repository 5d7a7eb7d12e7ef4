"""``r360-webhooks send URL``: deliver webhooks the way Record360 does, and say what happened."""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from contracts.cli._delivery_options import add_delivery_options, settings_from_args
from contracts.cli._outputs import check_output
from contracts.cli._progress import progress_bar
from contracts.errors import UsageError

if TYPE_CHECKING:  # imported when the command runs: --help and usage errors stay instant
    from mockserver.delivery import Delivery, Summary

HELP = "deliver webhooks to URL as Record360 does (auth headers, TLS, retries, pacing)"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "send",
        help=HELP,
        description=HELP + ". Bodies come from --payload or are generated. Exit 0 when every "
        "delivery was acknowledged, 1 when any was dead-lettered, 2 on bad usage or input.",
    )
    parser.add_argument("url", metavar="URL", help="the consumer endpoint, http(s)://...")
    bodies = parser.add_argument_group("what to send")
    bodies.add_argument(
        "--payload", metavar="FILE", help="send this body (.json or .jsonl, - for stdin)"
    )
    bodies.add_argument("--event", default="any", help="event to generate: %(r360_events)s or any")
    bodies.add_argument("--evolved", action="store_true", help="generate evolved bodies")
    bodies.add_argument("--seed", type=int, help="seed for generated bodies (default: random)")
    bodies.add_argument(
        "--count",
        type=int,
        default=None,
        help="deliveries to make (default: 1, or one per body in --payload)",
    )
    pace = parser.add_argument_group("how to send")
    pace.add_argument(
        "--rate", type=float, help="deliveries started per second (default: as fast as possible)"
    )
    pace.add_argument(
        "--concurrency", type=int, default=8, help="deliveries in flight (default: 8)"
    )
    pace.add_argument(
        "--retry",
        default="quick",
        help="retry schedule: %(r360_presets)s or custom:D1,D2,... (default: quick)",
    )
    pace.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (default 5)")
    pace.add_argument("--read-timeout", type=float, default=10.0, help="seconds (default 10)")
    pace.add_argument(
        "--log", metavar="FILE", help="write every delivery, all attempts, as JSON Lines"
    )
    pace.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_delivery_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mockserver.delivery import DeliveryLog
    from mockserver.delivery.pacing import check_rate
    from mockserver.delivery.sender import check_concurrency

    if args.count is not None and args.count < 1:
        raise UsageError(f"--count {args.count} must be at least 1")
    if args.rate is not None:
        check_rate(args.rate, "--rate")
    check_concurrency(args.concurrency, "--concurrency")
    check_output("--log", args.log)
    settings = settings_from_args(args)
    # Every option is checked (the sender refuses bad timeouts and schedules) before the seed
    # is printed: a usage error is one line, nothing else.
    sender = settings.sender(
        retry=args.retry, connect_timeout=args.connect_timeout, read_timeout=args.read_timeout
    )
    first_dead: list[Delivery] = []
    log = None
    try:
        with sender:
            payloads, count = _payloads(args)
            log = DeliveryLog(args.log) if args.log else None
            show = not args.no_progress and count > 1 and sys.stderr.isatty()
            with progress_bar(count, enabled=show, label="delivering") as advance:

                def done(delivery: Delivery) -> None:
                    if not delivery.delivered and not first_dead:
                        first_dead.append(delivery)
                    advance()

                summary = sender.deliver_many(
                    payloads, concurrency=args.concurrency, rate=args.rate, on_done=done, log=log
                )
    finally:
        if log is not None:
            log.close()
    _print_summary(summary, sender.url, first_dead[0] if first_dead else None, args.log)
    return 0 if summary.dead_lettered == 0 else 1


def _payloads(args: argparse.Namespace) -> tuple[Iterator[tuple[str, Any]], int]:
    from contracts import schemas
    from contracts.bodies import read_bodies
    from contracts.bulk import BulkGenerator
    from contracts.errors import InputError

    if args.payload:
        if args.evolved or args.seed is not None or args.event != "any":
            raise UsageError("--payload sends the file as it is; drop --event/--evolved/--seed")
        bodies = []
        for result in read_bodies(args.payload):
            if isinstance(result, InputError):
                raise result
            violations = schemas.validate(result.payload)
            if violations:
                print(
                    f"warning: {result.label} is not a valid v1 body ({violations[0]}); "
                    "sending it anyway",
                    file=sys.stderr,
                )
            bodies.append((schemas.event_of(result.payload) or "unknown", result.payload))
        count = args.count or len(bodies)
        return itertools.islice(itertools.cycle(bodies), count), count
    wanted = None if args.event == "any" else schemas.spec_for(args.event).name
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed: {seed}", file=sys.stderr)
    generator = BulkGenerator(seed=seed, event=wanted, evolved=args.evolved)
    count = args.count or 1
    return ((item.event, item.body) for item in itertools.islice(generator, count)), count


def _print_summary(summary: Summary, url: str, dead: Delivery | None, log: str | None) -> None:
    rate = summary.total / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    print(f"sent {summary.total} to {url} in {summary.elapsed_s:.2f} s ({rate:.1f}/s)")
    print(f"  delivered      {summary.delivered}")
    print(f"  retried        {summary.retried}  (needed more than one attempt)")
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary.reasons.items()))
    print(f"  dead-lettered  {summary.dead_lettered}" + (f"  ({reasons})" if reasons else ""))
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.statuses.items()))
    print(f"  attempts       {summary.attempts}  ({statuses})")
    if summary.latency_p50_s is not None:
        p50, p95, p99 = (
            1000 * (v or 0.0)
            for v in (summary.latency_p50_s, summary.latency_p95_s, summary.latency_p99_s)
        )
        print(f"  latency        p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")
    if dead is not None:
        print(f"  first dead letter: {dead.id}: {dead.detail}")
    if log:
        print(f"  log            {log}")
