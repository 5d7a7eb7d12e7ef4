"""``r360-webhooks drift CAPTURE...``: how real deliveries differ from the contract (issue 15).

The face of :mod:`contracts.drift`: read captures (or JSON Lines of bodies), print a summary,
optionally a Markdown report and a JSON report, and write the patched schema set with
``--apply``. See ``docs/drift.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from contracts.cli._outputs import check_output
from contracts.cli._width import echo
from contracts.errors import UsageError

if TYPE_CHECKING:  # imported when the command runs: --help and usage errors stay instant
    from contracts.drift_report import DriftReport

HELP = "report how captured deliveries differ from the contract, and propose the schema change"
EPILOG = """\
exit codes:
  0  no drift: every body valid, nothing undocumented, no unknown event
  1  violations of the contract (or deliveries whose body is not a JSON object), or no
     body to judge at all: an empty capture, or only refused deliveries (check the URL)
  2  bad input: a missing, unreadable or binary file, a bad option (one line, no traceback)
  3  no violations, but undocumented paths or unknown events (the contract is behind traffic)
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drift",
        help=HELP,
        description=textwrap.fill(
            HELP + ". Each CAPTURE is a JSON Lines file of r360-capture/1 deliveries (from "
            "`record`) or of plain webhook bodies; lines are streamed, in constant memory. "
            "See docs/drift.md.",
            width=79,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "captures",
        nargs="+",
        metavar="CAPTURE",
        help="a capture or .jsonl file; the rotated parts of one (capture.jsonl*) are read "
        "oldest first: FILE.1, FILE.2, ..., then FILE",
    )
    parser.add_argument(
        "--schemas",
        metavar="DIR",
        help="judge against the schema set in DIR (e.g. one written by --apply), not the bundled",
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        help="write the report as Markdown to FILE (- prints it instead of the summary)",
    )
    parser.add_argument("--report-json", metavar="FILE", help="write the report as JSON to FILE")
    parser.add_argument(
        "--apply",
        metavar="DIR",
        help="write the whole schema set, with the proposed patch applied, to DIR",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="processes for files over 64 MB (default 0: one per core; 1: this process only)",
    )
    parser.add_argument(
        "--top", type=int, default=20, metavar="N", help="rows per section in the summary"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.jobs < 0 or args.top < 1:
        raise UsageError("--jobs must be 0 or more and --top at least 1")
    for option in ("--report-json", "--markdown"):  # a typo must not cost a whole analysis
        check_output(option, getattr(args, option[2:].replace("-", "_")))
    from contracts import schemas
    from contracts._driftjobs import analyse, default_jobs
    from contracts.captures import in_rotation_order
    from contracts.drift_report import build_report
    from contracts.proposal import patched_set, write_set

    schema_set = schemas.SchemaSet.from_dir(args.schemas) if args.schemas else schemas.bundled()
    jobs = args.jobs or default_jobs()
    captures = in_rotation_order(args.captures)
    drift, counts = analyse(captures, schema_set=schema_set, schema_dir=args.schemas, jobs=jobs)
    report = build_report(drift, counts, captures)
    if args.report_json:
        _write(args.report_json, json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        _write(args.markdown, markdown(report, schema_set.origin))
    if args.markdown != "-":
        summary(report, schema_set.origin, args.top, sys.stdout)
    if args.apply:
        if report.incompatible:
            raise UsageError(f"the proposed patch is not compatible ({report.incompatible[0]}); "
                             "nothing written")  # fmt: skip
        written = write_set(patched_set(schema_set, report.proposed_patch), args.apply)
        changed = ", ".join(report.proposed_patch) or "none"
        print(f"wrote {len(written)} schema files to {args.apply} (patched: {changed})")
    return report.exit_code


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{target}: cannot write ({error.strerror or error})") from None


def summary(report: DriftReport, origin: str, top: int, out: TextIO) -> None:
    """The terminal summary: totals, then each section's first ``top`` rows."""
    when = f" ({report.first_date} to {report.last_date})" if report.first_date else ""
    files = f"{len(report.sources)} file{'s' if len(report.sources) > 1 else ''}"
    echo(f"{report.bodies} bodies from {files}{when}, judged against {origin}", stream=out)
    echo(f"events: {', '.join(f'{e} {n}' for e, n in report.events.items()) or 'none'}", stream=out)
    if report.refused:
        echo(f"refused deliveries (recorded without a body): {report.refused}", stream=out)
    problems = report.problems
    sections: list[tuple[str, list[dict[str, Any]], Any]] = [
        ("unknown events", report.unknown_events, _unknown_line),
        (f"unusable lines ({problems['count']})", problems["lines"], _problem_line),
        ("violations", report.violations, _violation_line),
        ("undocumented paths", report.undocumented, _undocumented_line),
        ("inferred fields confirmed", report.confirmed, _confirmed_line),
        ("fields never seen", report.unseen, _unseen_line),
    ]
    for title, rows, line in sections:
        if not rows:
            echo(f"{title}: none", stream=out)
            continue
        echo(f"{title}: {len(rows)}", stream=out)
        for row in rows[:top]:
            echo("  " + line(row), stream=out)
        if len(rows) > top:
            echo(f"  ... and {len(rows) - top} more (--report-json lists all)", stream=out)
    operations = sum(len(ops) for ops in report.proposed_patch.values())
    if operations:
        verdict = "compatible" if not report.incompatible else "NOT compatible"
        echo(
            f"proposed patch: {operations} added properties in "
            f"{', '.join(report.proposed_patch)} ({verdict}); --report-json has it, "
            "--apply DIR writes the patched schema set",
            stream=out,
        )
    for name, count in report.dropped.items():
        echo(f"note: {count} {name} beyond the first rows were counted, not kept", stream=out)
    echo(f"exit {report.exit_code}: {report.verdict}", stream=out)


def _unknown_line(r: dict[str, Any]) -> str:
    return f"{r['count']:>8}  event {r['event']} with {r['keys']}  (first {r['line']})"


def _problem_line(r: dict[str, Any]) -> str:
    return f"{r['line']}: {r['reason']}"


def _violation_line(r: dict[str, Any]) -> str:
    return f"{r['count']:>8}  {r['rule']:<10}{r['path']}  (first {r['line']})"


def _undocumented_line(r: dict[str, Any]) -> str:
    types = "|".join(r["types"])
    share = f"{100 * r['share']:5.1f}%"
    return f"{r['count']:>8}  {share}  {r['path']}  {types}  e.g. {r['example']}  ({r['line']})"


def _confirmed_line(r: dict[str, Any]) -> str:
    return f"{r['count']:>8}  {100 * r['share']:5.1f}%  {r['path']}  ({r['schema']})"


def _unseen_line(r: dict[str, Any]) -> str:
    return f"{r['path']}  ({r['provenance']}, {r['schema']})"


_HEADERS = {"count": "bodies", "line": "first line", "reason": "why"}
_UNDOCUMENTED_COLUMNS = ("path", "count", "share", "types", "example", "line")
_CONFIRMED_COLUMNS = ("path", "count", "share", "schema")


def markdown(report: DriftReport, origin: str) -> str:
    """The report as a Markdown document (tables, and the patch as a JSON block)."""
    when = f", {report.first_date} to {report.last_date}" if report.first_date else ""
    sources = ", ".join(f"`{s}`" for s in report.sources)
    lines = [
        "# Drift report",
        "",
        f"{report.bodies} bodies from {sources}{when}, judged against `{origin}`. "
        f"Exit code {report.exit_code}: {report.verdict}.",
    ]
    if report.refused:
        lines[-1] += f" Also {report.refused} refused deliveries (recorded without a body)."
    events = [{"event": e, "count": n} for e, n in report.events.items()]
    tables: list[tuple[str, list[dict[str, Any]], tuple[str, ...]]] = [
        ("Events", events, ("event", "count")),
        ("Unknown events", report.unknown_events, ("event", "keys", "count", "line")),
        ("Unusable lines", report.problems["lines"], ("line", "reason")),
        ("Violations", report.violations, ("path", "rule", "count", "line")),
        ("Undocumented paths", report.undocumented, _UNDOCUMENTED_COLUMNS),
        ("Inferred fields that traffic confirms", report.confirmed, _CONFIRMED_COLUMNS),
        ("Fields never seen", report.unseen, ("path", "provenance", "schema")),
    ]
    for title, rows, keys in tables:
        lines.extend(["", f"## {title}", ""])
        if not rows:
            lines.append("None.")
            continue
        lines.append("| " + " | ".join(_HEADERS.get(key, key) for key in keys) + " |")
        lines.append("|" + "---|" * len(keys))
        lines.extend("| " + " | ".join(_cell(key, row[key]) for key in keys) + " |" for row in rows)
    lines.extend(["", "## Proposed schema change", ""])
    if report.proposed_patch:
        verdict = "compatible" if not report.incompatible else "NOT compatible"
        lines.append(f"A JSON Patch (RFC 6902) per schema file ({verdict}):")
        lines.extend(["", "```json", json.dumps(report.proposed_patch, indent=2), "```"])
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _cell(key: str, value: Any) -> str:
    if key == "share":
        return f"{100 * value:.1f}%"
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if key in ("path", "example", "event") else text
