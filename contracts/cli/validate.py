"""``r360-webhooks validate FILE...``: is each body a valid v1 webhook, and if not, where not."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contracts import schemas, strict
from contracts.bodies import read_bodies
from contracts.errors import InputError

HELP = "check webhook bodies (JSON, JSON Lines, - for stdin) against the v1 schemas"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=HELP,
        description=HELP + ". Exit 0 when all are valid, 1 when a body violates, 2 when an "
        "input cannot be read.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .json, .jsonl file or -")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also warn about paths the contract does not document (allowed, but worth knowing)",
    )
    parser.add_argument(
        "--event",
        metavar="EVENT",
        help="judge every body as this event instead of detecting it "
        f"({', '.join(s.name for s in schemas.known_events())})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.event is not None:
        schemas.spec_for(args.event)  # an unknown name is a usage error before any file is read
    bad_input = violated = False
    for source in args.files:
        for result in read_bodies(source):
            if isinstance(result, InputError):
                print(f"r360-webhooks: error: {result}", file=sys.stderr)
                bad_input = True
                continue
            violations = schemas.validate(result.payload, event=args.event)
            judged = args.event or getattr(schemas.envelope_of(result.payload), "name", None)
            event = judged or "unknown event"
            print(f"{result.label}: {'FAIL' if violations else 'OK'} ({event})")
            for violation in violations:
                print(f"  {violation}")
            if args.strict:
                for path in strict.undocumented(result.payload, event=args.event):
                    print(f"  warning: {path} is not documented")
            violated = violated or bool(violations)
    return 2 if bad_input else 1 if violated else 0
