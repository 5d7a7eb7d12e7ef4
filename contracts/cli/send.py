"""``r360-webhooks send URL``: deliver webhooks the way Record360 does, and say what happened."""

from __future__ import annotations

import argparse
import random
import sys
from typing import TYPE_CHECKING, Any

from contracts.cli._delivery_options import add_delivery_options, settings_from_args
from contracts.cli._outputs import check_output
from contracts.cli._progress import progress_bar
from contracts.cli._send_work import Bodies, Plan, auto_workers, deliver, read_payload
from contracts.cli._width import echo
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
    bodies.add_argument(
        "--from-capture",
        metavar="CAPTURE",
        help="replay every body of a capture (from `record`, or JSON Lines of bodies) byte for "
        "byte, each once, bodies that are not JSON too; in the capture's order with the default "
        "--concurrency 1 (more in flight may reorder them); lines without a body are skipped, "
        "and counted",
    )
    bodies.add_argument("--event", default="any", help="event to generate: %(r360_events)s or any")
    bodies.add_argument("--evolved", action="store_true", help="generate evolved bodies")
    bodies.add_argument("--seed", type=int, help="seed for generated bodies (default: random)")
    bodies.add_argument(
        "--count",
        type=int,
        default=None,
        help="deliveries to make (default: 1, one per body in --payload, or every body of "
        "--from-capture)",
    )
    pace = parser.add_argument_group("how to send")
    pace.add_argument(
        "--rate", type=float, help="deliveries started per second (default: as fast as possible)"
    )
    pace.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="deliveries in flight, per worker process (default: 8; 1 with --from-capture, "
        "so a capture is replayed in its order)",
    )
    pace.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="processes that share the deliveries, each with its own event loop (default auto: "
        "one per core for 50,000 unpaced deliveries or more, else 1); the bodies are the same",
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
    # The light checks first: a usage error answers before the engines load.
    from mockserver.delivery.pacing import check_rate
    from mockserver.delivery.retry import parse_retry

    if args.count is not None and args.count < 1:
        raise UsageError(f"--count {args.count} must be at least 1")
    if args.rate is not None:
        check_rate(args.rate, "--rate")
    parse_retry(args.retry)  # a bad schedule is a usage error before anything else happens
    from mockserver.delivery.sender import MAX_TIMEOUT_S, check_concurrency

    if args.concurrency is None:  # a replay keeps the capture's order unless told otherwise
        args.concurrency = 1 if args.from_capture else 8
    check_concurrency(args.concurrency, "--concurrency")
    workers = _workers(args.workers)
    for flag, value in (("--connect-timeout", args.connect_timeout),
                        ("--read-timeout", args.read_timeout)):  # fmt: skip
        if not 0 < value <= MAX_TIMEOUT_S:
            raise UsageError(f"{flag} {value!r} must be a number of seconds > 0 and <= 600")
    check_output("--log", args.log)
    settings = settings_from_args(args)  # every secret checked (and the insecure warning) once
    plan = _plan(args)
    if workers is None:
        workers = auto_workers(plan)
    if workers > 1 and plan.count is not None:
        workers = min(workers, plan.count)
    total = plan.count if plan.count is not None else _replayed(str(args.from_capture))
    show = not args.no_progress and total > 1 and sys.stderr.isatty()
    with progress_bar(total, enabled=show, label="delivering") as advance:
        summary, dead = deliver(plan, workers=workers, log=args.log, progress=advance)
    _print_summary(summary, settings.redactor.text(str(settings.url)), dead, args.log, workers)
    return 0 if summary.dead_lettered == 0 else 1


def _workers(text: str) -> int | None:
    """``--workers``: a number of processes, or ``auto`` (``None``: decided by the run's size)."""
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise UsageError(f"--workers {text!r} must be auto or a number of processes from 1 to 64")
    return value


def _plan(args: argparse.Namespace) -> Plan:
    """The run as plain data. The URL is the one given (user info and all): each worker turns it
    into credentials through the settings factory again, never a stripped copy without them."""
    bodies = _bodies(args)
    count = args.count
    if count is None and bodies.kind != "capture":  # a capture is sent whole by default
        count = len(bodies.payload) if bodies.kind == "payload" else 1
    return Plan(
        url=args.url,
        auth=args.auth,
        jwt_claims=tuple(args.jwt_claim),
        headers=tuple(args.header),
        ca_bundle=args.ca_bundle,
        insecure=args.insecure,
        retry=args.retry,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        bodies=bodies,
        count=count,
        concurrency=args.concurrency,
        rate=args.rate,
    )


def _bodies(args: argparse.Namespace) -> Bodies:
    given = [flag for flag, value in (("--payload", args.payload),
                                      ("--from-capture", args.from_capture)) if value]  # fmt: skip
    if len(given) > 1:
        raise UsageError("--payload and --from-capture both name the bodies; pick one")
    if given and (args.evolved or args.seed is not None or args.event != "any"):
        raise UsageError(f"{given[0]} sends the file as it is; drop --event/--evolved/--seed")
    if args.payload:
        return Bodies("payload", payload=read_payload(args.payload))
    if args.from_capture:
        from contracts.captures import check_readable

        check_readable(args.from_capture)
        return Bodies("capture", capture=args.from_capture)
    from contracts import schemas

    event = None if args.event == "any" else schemas.spec_for(args.event).name
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed: {seed}", file=sys.stderr)
    return Bodies("generated", seed=seed, event=event, evolved=args.evolved)


def _replayed(path: str) -> int:
    """How many bodies of the capture at ``path`` are replayed; says so, and what is skipped."""
    from contracts.cli._send_work import scan_capture
    from contracts.errors import InputError

    bodies, skipped = scan_capture(path)
    if not bodies:
        raise InputError("no body in it to replay; give a capture from `record`", source=path)
    said = f"replaying {bodies} bodies from {path}"
    if skipped:
        why = ", ".join(f"{count} {reason}" for reason, count in skipped.most_common())
        said += f"; skipped {skipped.total()} lines: {why}"
    print(said, flush=True)
    return bodies


def _print_summary(
    summary: Summary, url: str, dead: Delivery | None, log: str | None, workers: int
) -> None:
    rate = summary.total / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    how = f", {workers} worker processes" if workers > 1 else ""
    echo(f"sent {summary.total} to {url} in {summary.elapsed_s:.2f} s ({rate:.1f}/s{how})")
    echo(f"  delivered      {summary.delivered}")
    echo(f"  retried        {summary.retried}  (needed more than one attempt)")
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary.reasons.items()))
    echo(f"  dead-lettered  {summary.dead_lettered}" + (f"  ({reasons})" if reasons else ""))
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.statuses.items()))
    echo(f"  attempts       {summary.attempts}  ({statuses})")
    if summary.latency_p50_s is not None:
        p50, p95, p99 = (
            1000 * (v or 0.0)
            for v in (summary.latency_p50_s, summary.latency_p95_s, summary.latency_p99_s)
        )
        echo(f"  latency        p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")
    if dead is not None:
        echo(f"  first dead letter: {dead.id}: {dead.detail}")
    if log:
        echo(f"  log            {log}")
