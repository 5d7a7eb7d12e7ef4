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


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_loads_nothing_heavy(command: str) -> None:
    """The lists a help text names (checks, retry presets, events) come from light modules."""
    assert loaded([command, "--help"]) == []


#: A value each command refuses after parsing (a range argparse cannot express).
OUT_OF_RANGE = {
    "send": ["send", "http://127.0.0.1:9/x", "--count", "-1"],
    "verify": ["verify", "http://127.0.0.1:9/x", "--examples", "-1"],
    "load": ["load", "http://127.0.0.1:9/x", "--rate", "-1", "--duration", "1"],
    "serve": ["serve", "--port", "70000"],
    "consumer": ["consumer", "--port", "70000"],
}


@pytest.mark.parametrize("command", OUT_OF_RANGE)
def test_a_value_out_of_range_is_refused_before_anything_heavy_loads(command: str) -> None:
    assert loaded(OUT_OF_RANGE[command]) == []


def test_the_probe_sees_a_heavy_import_when_there_is_one() -> None:
    """The check can fail: running a command that validates does load the validators."""
    assert "jsonschema_rs" in loaded(["validate", "/dev/null"])


#: What a plain-http ``send`` of generated bodies on the aiohttp engine must not load: the
#: strategies' Hypothesis (0.2 s), httpcore and the trio it probes for (70 ms, the httpx engine's
#: alone), PyJWT and cryptography (35 ms, JWT auth's alone). ``send``'s fixed cost was 0.8 s, a
#: sixth of a 50,000-delivery run; it is under 0.4 s with these left out.
NOT_FOR_PLAIN_SEND = ("hypothesis", "httpcore", "trio", "jwt", "cryptography", "pytest")


def test_send_over_plain_http_loads_only_what_it_uses(nothing_listening: str) -> None:
    argv = ["send", nothing_listening, "--count", "2", "--retry", "none", "--no-progress"]
    code = PROBE.format(argvs=[argv], heavy=(*NOT_FOR_PLAIN_SEND, "aiohttp"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded_now = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded_now == ["aiohttp"]  # it did send, on aiohttp, and loaded nothing else listed


@pytest.fixture
def nothing_listening(port: int) -> str:
    return f"http://127.0.0.1:{port}/hooks"


@pytest.mark.parametrize("module", ["contracts", "contracts.cli"])
def test_python_dash_m_runs_the_cli(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "usage: r360-webhooks" in done.stdout, done.stderr
