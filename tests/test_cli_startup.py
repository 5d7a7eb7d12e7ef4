"""The CLI starts at once: ``--help`` and a usage error import none of the heavy machinery.

``r360-webhooks --help`` took 1.8 s (75x a bare interpreter) when every command module imported
its engines, the format checkers and Hypothesis at load time. Now a command module registers its
options with the standard library only and imports the rest when it runs; this test pins it, in
a fresh interpreter, for the top-level help, every command's usage error and building the parser.
The speed itself is a ``make bench`` row (a ratio against a bare interpreter).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Top-level packages a start-up must not load (each costs 50 ms to 1.5 s).
HEAVY = (
    "hypothesis", "jsonschema", "jsonschema_rs", "rfc3987_syntax", "referencing", "httpx",
    "httpcore", "aiohttp", "rich", "werkzeug", "jwt", "cryptography", "trustme", "matplotlib",
    "locust", "gevent",
)  # fmt: skip
COMMANDS = ("validate", "drift", "schema", "example", "send", "verify", "demo", "serve",
            "consumer", "load", "diff", "record")  # fmt: skip

PROBE = """
import contextlib, io, json, sys
from contracts.cli import build_parser, main
build_parser()
with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
    for argv in {argvs!r}:
        try:
            main(argv)
        except SystemExit:
            pass
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


def loaded(*argvs: list[str]) -> list[str]:
    code = PROBE.format(argvs=list(argvs), heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_help_loads_nothing_heavy() -> None:
    assert loaded(["--help"]) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_usage_error_of_each_command_loads_nothing_heavy(command: str) -> None:
    assert loaded([command, "--no-such-option"]) == []


def test_the_probe_sees_a_heavy_import_when_there_is_one() -> None:
    """The check can fail: running a command that validates does load the validators."""
    assert "jsonschema_rs" in loaded(["validate", "/dev/null"])
