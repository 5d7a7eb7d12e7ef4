"""``make bench``: run every benchmark, print one table of ratios, write bench/results.json."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import drift, generate, send, validate, verify
from bench.common import Row

BENCHMARKS = (generate, validate, drift, send, verify)


def print_table(rows: list[Row]) -> None:
    print(f"{'benchmark':<34} {'ours':>12} {'peer':>12}  {'ratio':>7}  target   peer")
    for row in rows:
        print(
            f"{row.name:<34} {_num(row.ours):>12} {_num(row.peer):>12}  {_ratio(row):>7}  "
            f"{row.target:<8} {row.peer_name} ({row.unit})"
        )


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _ratio(row: Row) -> str:
    return f"{row.ratio:.3g}x" if row.peer else "-"


def main() -> int:
    rows = [row for bench in BENCHMARKS for row in bench.run()]
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    print_table(rows)
    out = Path(__file__).with_name("results.json")
    out.write_text(
        json.dumps({"machine": platform.platform(), "rows": [r.to_json() for r in rows]}, indent=2)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
