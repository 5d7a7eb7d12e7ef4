"""``make bench``: run the benchmarks, print one table, write results; exit 1 when a target misses.

``python bench/run.py`` runs all of them; ``python bench/run.py send validate`` runs the named
ones. ``--readme`` (what ``make bench`` passes) rewrites the table between the README's
``<!-- bench-table -->`` markers from this very run, and only when every benchmark ran, so the
README never shows figures from different runs side by side, and never from a quick run
(``R360_BENCH_QUICK=1``). The table's header and ``bench/results.json`` (which keeps every sample
of every row) name the git revision measured, ``+dirty`` when the tree had changes, and the date,
so a reader can tell a table older than the code beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cli, drift, generate, load, memory, send, serve, validate, verify
from bench.common import QUICK, Measure, Row, number

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
    """The median, and with more than one run the lowest, highest and how many; a single run
    says so, so that no figure passes for a median it is not."""
    if measure.runs == 1:
        return f"{number(measure.median)} (1 run)"
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
    if row.fixed:  # a figure we divide by, not a contender: no runs, no spread
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


def revision(root: Path = ROOT) -> str:
    """``git rev-parse --short HEAD``, with ``+dirty`` when tracked files differ from it.

    Read before the run (which rewrites the README), so ``+dirty`` means the measured code was
    not the commit named; untracked files do not count, as for ``git describe --dirty``.
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def header(started: datetime.datetime, rev: str, minutes: float) -> str:
    """The table's first line: when, which revision, on what, for how long."""
    return f"Run of {started.date().isoformat()} at {rev} on a {_machine()}, {minutes:.0f} minutes:"


def write_readme(rows: list[Row], heading: str, readme: Path = README) -> None:
    """Replace the table between the markers of ``readme`` with this run's."""
    text = readme.read_text(encoding="utf-8")
    if not _TABLE.search(text):
        raise SystemExit("README.md has no <!-- bench-table --> markers to write the table between")
    table = markdown(rows, heading)
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
    rev, began = revision(), datetime.datetime.now(datetime.UTC)
    quick = " QUICK (R360_BENCH_QUICK=1: a check, not a measurement)" if QUICK else ""
    print(f"revision {rev}, machine: {_machine()}{quick}", flush=True)
    started = time.monotonic()
    rows: list[Row] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        rows.extend(BENCHMARKS[name].run())
    minutes = (time.monotonic() - started) / 60
    heading = header(began, rev, minutes)
    print()
    print(heading)
    print_table(rows)
    results = {
        "revision": rev,
        "started": began.isoformat(timespec="seconds"),
        "minutes": round(minutes, 2),
        "machine": _machine(),
        "quick": QUICK,
        "benchmarks": chosen,
        "rows": [r.to_json() for r in rows],
    }
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")
    if args.readme:
        if args.names and set(chosen) != set(BENCHMARKS):
            print("README table left alone: it is written from full runs only")
        elif QUICK:
            print("README table left alone: a quick run's figures are not the benchmark's")
        else:
            write_readme(rows, heading)
    missed = [row for row in rows if row.missed]
    for row in missed:
        print(f"MISSED: {row.name}: {_ratio(row)}, target {row.target}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
