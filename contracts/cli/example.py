"""``r360-webhooks example EVENT``: print a generated (or evolved) body, reproducible by seed."""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

from contracts.errors import UsageError

HELP = "print a generated body of an event; --evolved applies compatible changes"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "example",
        help=HELP,
        description=HELP + ". The body goes to stdout; the seed and the changes applied go to "
        "stderr. The same seed prints the same body.",
    )
    parser.add_argument("event", metavar="EVENT", help="%(r360_events)s or any")
    parser.add_argument("--seed", type=int, help="seed for a reproducible body (default: random)")
    parser.add_argument(
        "--evolved", action="store_true", help="apply one to three compatible changes"
    )
    parser.add_argument(
        "--change",
        action="append",
        metavar="NAME",
        help="apply exactly this change (repeatable): %(r360_changes)s",
    )
    parser.add_argument(
        "--documented",
        action="store_true",
        help="print the bundled documented example instead of generating one",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from contracts import schemas
    from contracts.bulk import sample_body

    event = None if args.event == "any" else schemas.spec_for(args.event).name
    if args.documented:
        if event is None:
            raise UsageError("--documented needs an event name, not 'any'")
        sys.stdout.write(schemas.example_bytes(event).decode("utf-8") + "\n")
        return 0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    sample = sample_body(event, seed=seed, evolved=args.evolved, changes=args.change)
    print(f"seed: {seed} (same body: --seed {seed})", file=sys.stderr)
    for change in sample.changes:
        print(f"change: {change}", file=sys.stderr)
    print(json.dumps(sample.payload, indent=2, ensure_ascii=False))
    return 0
