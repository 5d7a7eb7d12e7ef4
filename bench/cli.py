"""CLI start: ``r360-webhooks --help`` and a usage error, against a bare interpreter.

Issue 14, item 1: every command pays the CLI's start, a usage error included, so both are at
most about 10x ``python -c pass`` (the same interpreter, started the same way: a subprocess
timed from spawn to exit). RUNS runs of each, interleaved, medians compared.
``tests/test_cli_startup.py`` pins *why* it is fast (no heavy module imported); this is *how*
fast. Run alone with ``python bench/run.py cli``; about 10 s.
"""

from __future__ import annotations

import sys

from bench.common import Row, Target, cli_executable, interleaved, knob, timed

RUNS = knob("R360_BENCH_START_RUNS", 21, 5)


def run() -> list[Row]:
    cli = cli_executable()
    m = interleaved(
        {
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"]),
            "r360-webhooks --help": lambda: timed([cli, "--help"]),
            "r360-webhooks send --count x": lambda: timed(
                [cli, "send", "--count", "x", "http://127.0.0.1:9/"], exit_codes=(2,)
            ),
        },
        RUNS,
        unit="s",
    )
    bare = "python -c pass (same interpreter)"
    return [
        Row.same_run("r360-webhooks --help", m["r360-webhooks --help"], bare, m["python -c pass"], "s", Target.at_most(10)),
        Row.same_run("usage error (send --count x)", m["r360-webhooks send --count x"], bare, m["python -c pass"], "s", Target.at_most(10)),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["cli"]))
