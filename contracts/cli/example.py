"""``r360-webhooks example EVENT``: print a body of an event (the documented example for now)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from contracts import schemas

HELP = "print an example body of an event"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("example", help=HELP, description=HELP + ".")
    parser.add_argument("event", metavar="EVENT", help="transaction.create or task.completed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(schemas.example(args.event), indent=2, ensure_ascii=False))
    return 0
