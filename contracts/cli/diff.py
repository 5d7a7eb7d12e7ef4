"""``r360-webhooks diff OLD NEW``: is NEW safe for consumers written against OLD?

The face of :mod:`contracts.diff` for people and CI: one line per difference, or JSON, Markdown
(a pull-request comment) and JUnit XML (a CI test report), and an exit code that fails the build
at the chosen severity. Exit codes as everywhere in the CLI: 0 nothing at or above ``--fail-on``,
1 something is, 2 bad input (a missing folder, a file that is not JSON, no schemas).
"""

from __future__ import annotations

import argparse
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contracts.cli._width import echo
from contracts.schemas import BUNDLED

if TYPE_CHECKING:  # imported when the command runs: --help and usage errors stay instant
    from contracts.diff import Difference, Severity

HELP = "classify the differences between two schema sets, as consumers of OLD meet NEW"
FORMATS = ("text", "json", "markdown", "junit")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help=HELP,
        description=HELP + ". Exit 0 when no difference reaches --fail-on, 1 when one does, 2 "
        "on bad input. Rules and severities: docs/diff.md.",
    )
    where = f"a folder laid out like schemas/v1, or {BUNDLED!r} for the shipped set"
    parser.add_argument("old", metavar="OLD", help=f"what consumers were written against: {where}")
    parser.add_argument("new", metavar="NEW", help=f"what Record360 would send: {where}")
    parser.add_argument(
        "--fail-on",
        default="breaking",
        metavar="SEVERITY",
        help="exit 1 when a difference is at least this severe: breaking, warning or info "
        "(default: breaking)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from contracts.diff import Severity, diff
    from contracts.schemaset import load_set

    fail_on = Severity.parse(args.fail_on)
    old, new = load_set(args.old), load_set(args.new)
    differences = diff(old, new)
    failed = any(d.severity >= fail_on for d in differences)
    render = {"text": text, "json": as_json, "markdown": markdown, "junit": junit}[args.format]
    shown = render(differences, old=old.source, new=new.source, fail_on=fail_on)
    if args.format == "text":
        echo(shown, end="")  # a CI log gets 100 columns; json, markdown and junit stay whole
    else:
        print(shown, end="")
    return 1 if failed else 0


def summary(differences: Sequence[Difference]) -> dict[str, int]:
    """How many differences of each severity, most severe first (every severity present)."""
    from contracts.diff import Severity

    counts = Counter(str(d.severity) for d in differences)
    return {str(s): counts[str(s)] for s in sorted(Severity, reverse=True)}


def _verdict(differences: Sequence[Difference], fail_on: Severity) -> str:
    counts = ", ".join(f"{n} {name}" for name, n in summary(differences).items())
    failed = any(d.severity >= fail_on for d in differences)
    return f"{counts} (--fail-on {fail_on}: {'fail' if failed else 'pass'})"


def text(differences: Sequence[Difference], *, old: str, new: str, fail_on: Severity) -> str:
    """One line each, ``SEVERITY  RULE  POINTER  message`` in aligned columns, then a summary."""
    if not differences:
        return f"no differences between {old} and {new}\n"
    width = max(len(d.rule) for d in differences)
    lines = [f"{d.severity!s:<8}  {d.rule:<{width}}  {d.pointer}  {d.message}" for d in differences]
    count = f"{len(differences)} difference{'' if len(differences) == 1 else 's'}"
    lines.append(f"{count}: {_verdict(differences, fail_on)}")
    return "\n".join(lines) + "\n"


def as_json(differences: Sequence[Difference], *, old: str, new: str, fail_on: Severity) -> str:
    """``{"old", "new", "fail_on", "failed", "summary": {severity: n}, "differences": [...]}``."""
    report = {
        "old": old,
        "new": new,
        "fail_on": str(fail_on),
        "failed": any(d.severity >= fail_on for d in differences),
        "summary": summary(differences),
        "differences": [d.as_dict() for d in differences],
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def markdown(differences: Sequence[Difference], *, old: str, new: str, fail_on: Severity) -> str:
    """A heading, the summary and a table: ready for a pull-request comment."""
    lines = [f"### Schema diff: `{old}` → `{new}`", ""]
    if not differences:
        return "\n".join([*lines, "No differences.", ""])
    lines += [_verdict(differences, fail_on), ""]
    lines += ["| Severity | Rule | Pointer | Change |", "|---|---|---|---|"]
    for d in differences:
        cells = (f"**{d.severity}**" if d.severity >= fail_on else str(d.severity), f"`{d.rule}`")
        pointer, message = _cell(f"`{d.pointer}`"), _cell(d.message)
        lines.append(f"| {cells[0]} | {cells[1]} | {pointer} | {message} |")
    return "\n".join([*lines, ""])


def junit(differences: Sequence[Difference], *, old: str, new: str, fail_on: Severity) -> str:
    """JUnit XML: one testcase per difference, a ``<failure>`` for those at or above --fail-on."""
    failures = sum(d.severity >= fail_on for d in differences)
    counts = {"tests": str(len(differences)), "failures": str(failures), "errors": "0"}
    suites = ET.Element("testsuites", {"name": "r360-webhooks diff", **counts})
    suite = ET.SubElement(
        suites, "testsuite", {"name": _xml(f"r360-webhooks diff {old} {new}"), **counts}
    )
    suite.set("skipped", "0")
    for d in differences:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"r360-webhooks.diff.{d.rule}", "name": _xml(d.pointer)},
        )
        line = _xml(f"{d.severity}  {d.rule}  {d.pointer}  {d.message}")
        if d.severity >= fail_on:
            failure = ET.SubElement(
                case, "failure", {"type": str(d.severity), "message": _xml(d.message)}
            )
            failure.text = line
        else:
            ET.SubElement(case, "system-out").text = line
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


# Characters XML 1.0 cannot carry at all, even escaped (schema strings may hold them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)
