"""``make bench``: run the benchmarks, print one table, write results; exit 1 when a target misses.

``python bench/run.py`` runs all of them; ``python bench/run.py send validate`` runs the named
ones. ``--readme`` (what ``make bench`` passes) rewrites the table between the README's
``<!-- bench-table -->`` markers from this very run, and only when every benchmark ran, so the
README never shows figures from different runs side by side. ``bench/results.json`` keeps every
sample of every row.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cli, drift, generate, load, memory, send, serve, validate, verify
from bench.common import Measure, Row, number

BENCHMARKS: dict[str, ModuleType] = {
    "cli": cli,
    "generate": generate,
    "validate": validate,
    "drift": drift,
    "send": send,
    "load": load,
    "memory": memory,
    "verify": verify,
    "serve": serve,
}
ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = Path(__file__).with_name("results.json")
_TABLE = re.compile(r"(<!-- bench-table -->\n).*?(<!-- /bench-table -->)", re.DOTALL)


def _figure(measure: Measure) -> str:
    if measure.runs == 1:
        return number(measure.median)
    return f"{number(measure.median)} ({number(measure.low)}-{number(measure.high)}, {measure.runs} runs)"


def _ratio(row: Row) -> str:
    ratio, spread = row.ratio, row.ratio_range
    if ratio is None:
        return "-"
    if spread is None or row.ours.runs * (row.peer.runs if row.peer else 1) == 1:
        return f"{ratio:.3g}x"
    return f"{ratio:.3g}x ({spread[0]:.3g}-{spread[1]:.3g})"


def _peer(row: Row) -> str:
    if row.peer is None:
        return "(none)"
    if row.fixed:
        return f"fixed: {row.peer_name}, {number(row.peer.median)}"
    return f"{row.peer_name}: {_figure(row.peer)}"


def print_table(rows: list[Row]) -> None:
    for row in rows:
        verdict = f"  [{row.verdict}]" if row.verdict else ""
        print(f"{row.name} ({row.unit})")
        print(f"    ours {_figure(row.ours)}")
        print(f"    peer {_peer(row)}")
        print(f"    ratio {_ratio(row)}, target {row.target}{verdict}")


def markdown(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| benchmark | ours: median (low-high, runs) | peer | ratio (range) | target | |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {_figure(row.ours)} {row.unit} | {_peer(row)} | {_ratio(row)} "
            f"| {row.target} | {row.verdict} |"
        )
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cores = os.cpu_count() or 0
    return (
        f"{cores}-core {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.freedesktop_os_release().get('PRETTY_NAME', platform.system())}"
        if hasattr(platform, "freedesktop_os_release")
        else f"{cores}-core {platform.machine()}, Python {platform.python_version()}"
    )


def write_readme(rows: list[Row], minutes: float, readme: Path = README) -> None:
    """Replace the table between the markers of ``readme`` with this run's."""
    today = datetime.date.today().isoformat()
    header = f"Run of {today} on a {_machine()}, {minutes:.0f} minutes:"
    text = readme.read_text(encoding="utf-8")
    if not _TABLE.search(text):
        raise SystemExit("README.md has no <!-- bench-table --> markers to write the table between")
    table = markdown(rows, header)
    readme.write_text(_TABLE.sub(lambda m: m.group(1) + table + m.group(2), text), encoding="utf-8")
    print(f"wrote the table into {readme.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="run the benchmarks; exit 1 when a target misses"
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default all: {' '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--readme", action="store_true", help="write the table into README.md (full runs only)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {' '.join(BENCHMARKS)}")
    chosen = args.names or list(BENCHMARKS)
    print(f"machine: {_machine()}", flush=True)
    started = time.monotonic()
    rows: list[Row] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        rows.extend(BENCHMARKS[name].run())
    minutes = (time.monotonic() - started) / 60
    print()
    print_table(rows)
    RESULTS.write_text(
        json.dumps(
            {"machine": _machine(), "benchmarks": chosen, "rows": [r.to_json() for r in rows]},
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")
    if args.readme:
        if args.names and set(chosen) != set(BENCHMARKS):
            print("README table left alone: it is written from full runs only")
        else:
            write_readme(rows, minutes)
    missed = [row for row in rows if row.missed]
    for row in missed:
        print(f"MISSED: {row.name}: {_ratio(row)}, target {row.target}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
