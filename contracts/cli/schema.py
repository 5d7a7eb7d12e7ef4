"""``r360-webhooks schema [NAME]``: print a schema, the reference docs, or where the files live."""

from __future__ import annotations

import argparse
import json
from typing import Any

from contracts.errors import UsageError

HELP = "print a v1 schema, the OpenAPI document, the Markdown reference, or where they live"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help=HELP,
        description=HELP + ". Without arguments, prints the folder and the schema names.",
    )
    parser.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="an event (transaction.create, task.completed), an object (transaction, task, "
        "asset...) or webhook",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--markdown", action="store_true", help="print the reference docs (docs/reference.md)"
    )
    output.add_argument("--openapi", action="store_true", help="print the OpenAPI 3.1 document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from contracts import schemas
    from contracts.reference import render_markdown

    if args.markdown or args.openapi:
        if args.name:
            flag = "--markdown" if args.markdown else "--openapi"
            raise UsageError(f"{flag} covers every schema; drop the name {args.name!r}")
        if args.markdown:
            print(render_markdown(), end="")
        else:
            print(schemas.schema_dir().joinpath("openapi.json").read_text(encoding="utf-8"), end="")
        return 0
    if args.name:
        print(json.dumps(schemas.load_schema(args.name), indent=2, ensure_ascii=False))
        return 0
    print(f"schemas: {schemas.schema_dir()}")
    print(f"events: {', '.join(spec.name for spec in schemas.known_events())}")
    print(f"all: {', '.join(schemas.schema_names())}")
    return 0
