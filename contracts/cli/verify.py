"""``r360-webhooks verify URL``: prove a consumer handles auth, evolution, events and load."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.cli._delivery_options import add_delivery_options, settings_from_args
from contracts.cli._outputs import check_output
from contracts.cli._width import PIPED_WIDTH
from contracts.errors import UsageError

if TYPE_CHECKING:  # imported when the command runs: --help and usage errors stay instant
    from contracts.verifier import Finding, VerifyOptions
    from contracts.verifier.report import Report
    from contracts.verifier.target import Target

HELP = "verify a consumer endpoint: auth, evolution, unknown events, rate limiting, TLS, latency"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help=HELP,
        description=HELP + ". Exit 0 when no check failed or was inconclusive, 1 when one did, "
        "2 on bad usage.",
    )
    parser.add_argument("url", metavar="URL", help="the consumer endpoint, http(s)://...")
    add_check_options(parser)
    add_delivery_options(parser)
    parser.add_argument("--report-json", metavar="FILE", help="write the JSON report here")
    parser.set_defaults(func=run)


def add_check_options(parser: Any) -> None:
    group = parser.add_argument_group("checks")
    group.add_argument("--checks", metavar="A,B", help="run only these: %(r360_checks)s")
    group.add_argument(
        "--ledger", metavar="URL", help="idempotency ledger (URL or /path on the target)"
    )
    group.add_argument("--seed", type=int, help="replay a run (the report prints its seed)")
    group.add_argument(
        "--examples", type=int, default=40, help="generated valid bodies (default 40)"
    )
    group.add_argument(
        "--latency-bound", type=float, default=5.0, metavar="S", help="p95 bound (default 5 s)"
    )
    group.add_argument("--burst", type=int, default=150, help="rate-limit burst size (default 150)")
    group.add_argument(
        "--burst-rate", type=float, help="burst starts per second (default: unpaced)"
    )
    group.add_argument(
        "--burst-concurrency", type=int, default=16, help="burst in flight (default 16)"
    )
    group.add_argument(
        "--require-rate-limit", action="store_true", help="fail rate-limit when no 429 is seen"
    )
    group.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="CAPTURE",
        help="real bodies (a capture from `record`, or JSON Lines of bodies) to add to "
        "accepts-valid and, evolved, to tolerates-evolution (repeatable)",
    )
    group.add_argument(
        "--max-time",
        metavar="S",
        default="120",
        help="seconds the whole run may take: waits for 429s, recovery, shrinking and the "
        "ledger share them; checks the time runs out in are inconclusive (default 120)",
    )


def options_from(args: argparse.Namespace) -> tuple[list[str] | None, VerifyOptions]:
    from mockserver.delivery.pacing import check_rate

    # The numbers first, before the verifier (httpx, Hypothesis, Rich) loads.
    for flag, value, high in (("--examples", args.examples, 10_000),
                              ("--burst", args.burst, 100_000),
                              ("--burst-concurrency", args.burst_concurrency, 4096)):  # fmt: skip
        if not 1 <= value <= high:
            raise UsageError(f"{flag} {value} must be from 1 to {high}")
    if not 0 < args.latency_bound <= 3600:
        raise UsageError(f"--latency-bound {args.latency_bound} must be seconds > 0 and <= 3600")
    if args.burst_rate is not None:
        check_rate(args.burst_rate, "--burst-rate")
    from contracts.verifier import REGISTRY, VerifyOptions
    from contracts.verifier.context import check_ledger, parse_max_time
    from contracts.verifier.corpus import read_corpus

    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    REGISTRY.select(checks)  # unknown names fail before anything is sent
    options = VerifyOptions(
        examples=args.examples,
        seed=args.seed,
        latency_bound_s=args.latency_bound,
        burst_count=args.burst,
        burst_rate=args.burst_rate,
        burst_concurrency=args.burst_concurrency,
        require_rate_limit=args.require_rate_limit,
        ledger=check_ledger(args.ledger),
        max_time_s=parse_max_time(args.max_time) or 120.0,
        corpus=read_corpus(args.corpus) if args.corpus else (),
    )
    return checks, options


def run(args: argparse.Namespace) -> int:
    checks, options = options_from(args)
    from contracts.verifier.target import Target

    check_output("--report-json", args.report_json)
    settings = settings_from_args(args)
    assert settings.url is not None
    target = Target.from_url(settings.url, ca_bundle=settings.ca_bundle, insecure=settings.insecure)
    report = run_and_print(target, settings, checks, options, report_json=args.report_json)
    return report.exit_code


def run_and_print(
    target: Target,
    settings: Any,
    checks: list[str] | None,
    options: VerifyOptions,
    *,
    report_json: str | None = None,
) -> Report:
    """Run the checks, write the JSON report (first: nothing printed can lose it), print the
    report (the probe's line first), then say where the JSON report is."""
    from rich.console import Console

    from contracts.verifier.report import print_report, verify

    # Not a terminal (a CI log, a pipe): 100 columns, long messages folded inside their cell.
    console = Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)
    err = Console(stderr=True)
    status = err.status("verifying...") if err.is_terminal else nullcontext()
    with status as spinner:

        def progress(finding: Finding) -> None:
            if spinner is not None:
                spinner.update(f"verifying... {finding.check}: {finding.status}")

        report = verify(
            target,
            settings=settings,
            checks=checks,
            options=options,
            on_finding=progress,
        )
    if report_json:
        write_report(report, report_json)
    print_report(report, console)
    if report_json:
        print(f"report: {report_json}", file=sys.stderr)
    return report


def write_report(report: Report, path: str) -> None:
    try:
        Path(path).write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    except OSError as error:
        raise UsageError(f"cannot write --report-json {path!r}: {error.strerror}") from None
