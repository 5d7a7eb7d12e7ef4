"""``r360-webhooks validate FILE...``: is each body a valid v1 webhook, and if not, where not.

``--summary`` is for files of many bodies (a day of captured traffic): no line per body, but each
(rule, path) with the number of bodies that break it and where it was first seen. It counts with
:class:`contracts.verdicts.Judge`, so its numbers are the ones per-body ``validate`` would give.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs: --help and usage errors stay instant
    from contracts.bodies import Body
    from contracts.verdicts import Judge

HELP = "check webhook bodies (JSON, JSON Lines, - for stdin) against the v1 schemas"
_SKIP = "an examples index, not a webhook body"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=HELP,
        description=HELP + ". Exit 0 when all are valid, 1 when a body violates, 2 when an "
        "input cannot be read. An examples index (schemas/v1/examples/index.json) is skipped.",
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
        help="judge every body as this event instead of detecting it (%(r360_events)s)",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="no line per body: count bodies per event, and per violation (rule, path with [*] "
        "for array indices) the bodies that break it and the first FILE:LINE",
    )
    parser.set_defaults(func=run)


@dataclass
class _Tally:
    """What ``--summary`` prints: totals, bodies per event, bodies per (section, rule, path)."""

    bodies: int = 0
    invalid: int = 0
    events: Counter[str] = field(default_factory=Counter)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    first: dict[tuple[str, str, str], str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def add(self, section: str, rule: str, path: str, label: str) -> None:
        key = (section, rule, path)
        self.counts[key] += 1
        self.first.setdefault(key, label)

    def print(self, *, strict: bool) -> None:
        valid = self.bodies - self.invalid
        print(f"bodies: {self.bodies} ({valid} valid, {self.invalid} invalid)")
        print("events: " + (", ".join(f"{e} {n}" for e, n in self.events.most_common()) or "-"))
        for section in ("violations", "undocumented") if strict else ("violations",):
            rows = sorted(
                ((n, key) for key, n in self.counts.items() if key[0] == section),
                key=lambda row: (-row[0], row[1]),
            )
            if not rows:
                print(f"{section}: none")
                continue
            rule = "rule, " if section == "violations" else ""
            print(f"{section} (bodies, {rule}path, first seen):")
            for count, key in rows:
                text = f"{key[1]:<12}{key[2]}" if key[1] else key[2]
                print(f"  {count:>8}  {text}  {self.first[key]}")
        for label in self.skipped:
            print(f"skipped: {label} ({_SKIP})")


def run(args: argparse.Namespace) -> int:
    from contracts import schemas
    from contracts.bodies import is_examples_index, read_bodies
    from contracts.errors import InputError
    from contracts.verdicts import Judge

    if args.event is not None:
        schemas.spec_for(args.event)  # an unknown name is a usage error before any file is read
    tally = _Tally() if args.summary else None
    judge = Judge()
    bad_input = violated = False
    for source in args.files:
        for result in read_bodies(source):
            if isinstance(result, InputError):
                print(f"r360-webhooks: error: {result}", file=sys.stderr)
                bad_input = True
            elif is_examples_index(result.payload):
                if tally is None:
                    print(f"{result.label}: SKIP ({_SKIP})")
                else:
                    tally.skipped.append(result.label)
            elif tally is not None:
                violated = _count(tally, judge, result, args) or violated
            else:
                violated = _report(result, args) or violated
    if tally is not None:
        tally.print(strict=args.strict)
    return 2 if bad_input else 1 if violated else 0


def _report(result: Body, args: argparse.Namespace) -> bool:
    from contracts import schemas, strict

    violations = schemas.validate(result.payload, event=args.event)
    judged = args.event or getattr(schemas.envelope_of(result.payload), "name", None)
    print(f"{result.label}: {'FAIL' if violations else 'OK'} ({judged or 'unknown event'})")
    for violation in violations:
        print(f"  {violation}")
    if args.strict:
        for path in strict.undocumented(result.payload, event=args.event):
            print(f"  warning: {path} is not documented")
    return bool(violations)


def _count(tally: _Tally, judge: Judge, result: Body, args: argparse.Namespace) -> bool:
    from contracts import strict
    from contracts.verdicts import normalise

    verdict = judge.judge(result.payload, event=args.event)
    tally.bodies += 1
    tally.events[verdict.event or "unknown event"] += 1
    tally.invalid += not verdict.valid
    for path, rule in verdict.violations:
        tally.add("violations", rule, path, result.label)
    if args.strict:
        for path in {normalise(p) for p in strict.undocumented(result.payload, event=args.event)}:
            tally.add("undocumented", "", path, result.label)
    return not verdict.valid
