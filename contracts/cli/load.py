"""``r360-webhooks load URL``: a sustained or ramped rate of webhooks, measured per second.

The logic is :mod:`mockserver.load`; this module parses, shows progress and prints. While it
runs, a terminal (stderr a TTY) gets a live table of the last seconds; anything else (CI logs,
pipes) gets one plain line every :data:`PROGRESS_EVERY_S` seconds, so a long run still shows
life without a line per second. The per-second table, the totals and the findings go to stdout
at the end; ``--report`` writes the series as JSON and ``--plot`` draws it (matplotlib).
"""

from __future__ import annotations

import argparse
from typing import Any

from contracts.cli._delivery_options import add_delivery_options

HELP = "send webhooks at a sustained or ramped rate and report what the consumer held, per second"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "load",
        help=HELP,
        description=HELP + ". Each request is sent once (no retries): per second it counts "
        "sent, 2xx, 429 and other answers, with latency p50/p95/p99, then names the highest "
        "rate held without errors (429 aside) and where 429s began. Exit 0 when every request "
        "got 2xx or 429, 1 when any got another answer or none, 2 on bad usage.",
    )
    parser.add_argument("url", metavar="URL", help="the consumer endpoint, http(s)://...")
    plan = parser.add_argument_group("the load")
    plan.add_argument(
        "--rate",
        type=float,
        required=True,
        help="requests started per second (with --ramp: at the end)",
    )
    plan.add_argument("--duration", type=float, required=True, metavar="S", help="seconds to run")
    plan.add_argument(
        "--ramp",
        action="store_true",
        help="climb linearly from %(r360_ramp_start)s/s to --rate over --duration",
    )
    plan.add_argument(
        "--evolved-share",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of evolved bodies, 0 to 1 (default %(r360_evolved_share)s)",
    )
    plan.add_argument("--seed", type=int, help="seed for the bodies (default: random, printed)")
    plan.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests in flight at most (default %(r360_load_concurrency)s); "
        "a slow consumer needs about rate x latency",
    )
    plan.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (default 5)")
    plan.add_argument("--read-timeout", type=float, default=10.0, help="seconds (default 10)")
    out = parser.add_argument_group("output")
    out.add_argument("--report", metavar="FILE", help="write the per-second series as JSON")
    out.add_argument(
        "--plot", metavar="FILE.png", help="draw requests/s and p95 latency (needs matplotlib)"
    )
    out.add_argument("--no-progress", action="store_true", help="no live table or progress lines")
    add_delivery_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mockserver.load_plan import LoadPlan

    LoadPlan(args.rate, args.duration, args.ramp)  # rate and duration checked before the engines
    from contracts.cli._load_run import run_load  # the run and its tables: only when asked for

    return run_load(args)
