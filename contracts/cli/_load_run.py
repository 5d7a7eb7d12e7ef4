"""The ``load`` command's run: checks, the live progress, the per-second table and the report.

Split from :mod:`contracts.cli.load` (which only registers the options) so that ``--help`` and a
usage error never import the engines, Rich or the body generator.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contracts.bulk import DEFAULT_EVOLVED_SHARE, BodyMix
from contracts.cli._delivery_options import settings_from_args
from contracts.cli._outputs import check_output
from contracts.errors import UsageError
from mockserver.delivery.sender import check_concurrency
from mockserver.load import (
    DEFAULT_CONCURRENCY,
    LoadPlan,
    LoadResult,
    LoadRun,
    SecondStats,
)
from mockserver.load_plot import save_plot

#: Plain progress lines (stderr not a terminal) come this often.
PROGRESS_EVERY_S = 10.0
#: The printed table has at most this many rows; longer runs are shown in wider buckets.
TABLE_ROWS = 60
#: Rows of the live table (the most recent seconds).
LIVE_ROWS = 12


def _check_args(args: argparse.Namespace) -> LoadPlan:
    plan = LoadPlan(args.rate, args.duration, ramp=args.ramp)  # refuses rate/duration <= 0
    if not 0.0 <= args.evolved_share <= 1.0:
        raise UsageError(
            f"--evolved-share {args.evolved_share:g} must be between 0 and 1 (0.3: 30 % evolved)"
        )
    check_concurrency(args.concurrency, "--concurrency")
    check_output("--report", args.report)
    check_output("--plot", args.plot)
    if args.plot is not None:
        if Path(args.plot).suffix.lower() != ".png":
            raise UsageError(f"--plot {args.plot!r} must name a .png file")
        if importlib.util.find_spec("matplotlib") is None:
            raise UsageError("--plot needs matplotlib: pip install 'r360-webhooks[plot]'")
    return plan


def run_load(args: argparse.Namespace) -> int:
    """Run ``r360-webhooks load`` with parsed ``args``; the exit code."""
    if args.evolved_share is None:
        args.evolved_share = DEFAULT_EVOLVED_SHARE
    if args.concurrency is None:
        args.concurrency = DEFAULT_CONCURRENCY
    plan = _check_args(args)
    settings = settings_from_args(args)
    sender = settings.sender(
        retry="none",
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        max_connections=args.concurrency,
    )
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed: {seed}", file=sys.stderr)
    with sender:
        bodies = BodyMix(seed=seed, evolved_share=args.evolved_share)
        load = LoadRun(
            sender,
            plan,
            bodies,
            concurrency=args.concurrency,
            seed=seed,
            evolved_share=args.evolved_share,
        )
        mode = "off" if args.no_progress else ("live" if sys.stderr.isatty() else "lines")
        interrupted = False
        with _progress(load, mode):
            try:
                result = load.run()
            except KeyboardInterrupt:
                interrupted = True
                result = load.result(interrupted=True)
    _print_result(result)
    if args.report:
        path = Path(args.report).expanduser()
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"report: {path}")
    if args.plot:
        save_plot(result, Path(args.plot).expanduser())
        print(f"plot: {Path(args.plot).expanduser()}")
    if interrupted:
        print("r360-webhooks: interrupted", file=sys.stderr)
        return 130
    return 1 if result.totals.error_count else 0


# -- progress while it runs --------------------------------------------------------------------


@contextmanager
def _progress(load: LoadRun, mode: str) -> Iterator[None]:
    if mode == "live":
        with _live_table(load):
            yield
    elif mode == "lines":
        with _progress_lines(load):
            yield
    else:
        yield


@contextmanager
def _live_table(load: LoadRun) -> Iterator[None]:
    from rich.console import Console
    from rich.live import Live

    with Live(
        get_renderable=lambda: _live_renderable(load),
        console=Console(stderr=True),
        refresh_per_second=4,
        transient=True,
    ):
        yield


def _live_renderable(load: LoadRun) -> Any:
    from rich.table import Table

    seconds = load.snapshot()
    plan = load.plan
    table = Table(
        title=f"load {_shape(plan)}: {min(load.elapsed(), plan.duration_s):.0f} of "
        f"{plan.duration_s:g} s, {load.engine} engine",
        title_justify="left",
    )
    for name in ("second", "asked/s", "sent", "2xx", "429", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(name, justify="right")
    table.add_column("errors")
    for stats in seconds[-LIVE_ROWS:]:
        table.add_row(*_cells(str(stats.second), stats))
    if seconds:
        totals = load.series.window(0, len(seconds) - 1)
        table.add_row(*_cells("total", totals, asked=False), style="bold")
    return table


@contextmanager
def _progress_lines(load: LoadRun) -> Iterator[None]:
    stop = threading.Event()

    def report() -> None:
        while not stop.wait(PROGRESS_EVERY_S):
            seconds = load.snapshot()
            if not seconds:
                continue
            t = load.series.window(0, len(seconds) - 1)
            elapsed = load.elapsed()
            print(
                f"  {elapsed:5.0f} s: sent {t.sent} ({t.sent / max(elapsed, 1e-9):.1f}/s), "
                f"2xx {t.ok}, 429 {t.throttled}, errors {t.error_count}",
                file=sys.stderr,
                flush=True,
            )

    thread = threading.Thread(target=report, name="r360-load-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


# -- the final report ----------------------------------------------------------------------------


def _shape(plan: LoadPlan) -> str:
    if plan.ramp:
        return f"ramp {plan.start_rate:g} to {plan.rate:g}/s"
    return f"{plan.rate:g}/s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.1f}"


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {n}" for kind, n in errors.items()) or "-"


def _cells(label: str, stats: SecondStats, *, asked: bool = True) -> list[str]:
    return [
        label,
        f"{stats.asked_rate:.1f}" if asked else "",
        str(stats.sent),
        str(stats.ok),
        str(stats.throttled),
        _ms(stats.latency_p50_s),
        _ms(stats.latency_p95_s),
        _ms(stats.latency_p99_s),
        _errors(stats.errors),
    ]


_WIDTHS = (9, 8, 7, 7, 7, 8, 8, 8)


def _line(cells: list[str]) -> str:
    fixed = "  ".join(cell.rjust(width) for cell, width in zip(cells, _WIDTHS, strict=False))
    return f"{fixed}  {cells[-1]}".rstrip()


def _print_result(result: LoadResult) -> None:
    plan = result.plan
    share = f", {result.evolved_share:.0%} evolved" if result.evolved_share is not None else ""
    print(f"load {_shape(plan)} for {plan.duration_s:g} s to {result.url}")
    print(f"  engine {result.engine}, concurrency {result.concurrency}, seed {result.seed}{share}")
    step = max(1, math.ceil(len(result.seconds) / TABLE_ROWS))
    header = ["second", "asked/s", "sent", "2xx", "429", "p50 ms", "p95 ms", "p99 ms", "errors"]
    if step > 1:
        header[0] = "seconds"
        print(f"  (rows of {step} s; --report has every second)")
    print(_line(header))
    for stats in result.windows(step):
        last = min(stats.second + step - 1, len(result.seconds) - 1)
        label = str(stats.second) if last == stats.second else f"{stats.second}-{last}"
        print(_line(_cells(label, stats)))
    print(_line(_cells("total", result.totals, asked=False)))
    totals = result.totals
    covered = sum(s.width_s for s in result.seconds)
    asked_rate = result.asked_total / covered if covered > 0 else 0.0
    print(
        f"achieved {result.achieved_rate:.1f}/s of {asked_rate:.1f}/s asked "
        f"({totals.sent} of {result.asked_total:.0f} requests in {covered:g} s)"
    )
    held, first_error, first_429 = result.held, result.first_error, result.first_429
    if held is None:
        print("held without errors (429 aside): nothing, the first second already had errors")
    elif first_error is None:
        print(f"held without errors (429 aside): {held.rate:.0f}/s (second {held.second})")
    else:
        print(
            f"held without errors (429 aside): {held.rate:.0f}/s (second {held.second}); "
            f"errors from second {first_error.second} at {first_error.rate:.0f}/s"
        )
    if first_429 is None:
        print("429: none")
    else:
        print(f"first 429: second {first_429.second} at {first_429.rate:.0f}/s")
    if totals.sent and result.achieved_rate < 0.95 * asked_rate and not result.interrupted:
        print(
            f"warning: the sender fell {1 - result.achieved_rate / asked_rate:.0%} short of the "
            f"asked rate; raise --concurrency ({result.concurrency}) if the consumer is slow",
            file=sys.stderr,
        )
