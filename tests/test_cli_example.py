"""``r360-webhooks example``: a body on stdout, the seed and changes on stderr, reproducible."""

from __future__ import annotations

import json

import pytest

from contracts import schemas
from contracts.cli import main


def test_same_seed_prints_the_same_body(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "transaction.create", "--seed", "42"]) == 0
    first = capsys.readouterr()
    assert main(["example", "transaction.create", "--seed", "42"]) == 0
    assert capsys.readouterr().out == first.out
    assert schemas.validate(json.loads(first.out)) == []
    assert first.err == "seed: 42 (same body: --seed 42)\n"


def test_evolved_lists_changes_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "any", "--evolved", "--seed", "9"]) == 0
    captured = capsys.readouterr()
    changes = [line for line in captured.err.splitlines() if line.startswith("change: ")]
    assert 1 <= len(changes) <= 3
    assert schemas.validate(json.loads(captured.out)) == []


def test_one_named_change(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "task.completed", "--change", "added-field", "--seed", "1"]) == 0
    assert capsys.readouterr().err.splitlines()[1].startswith("change: added-field: added $.task")


def test_documented_prints_the_bundled_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "transaction.create", "--documented"]) == 0
    assert capsys.readouterr().out.encode() == schemas.example_bytes("transaction.create") + b"\n"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["example", "nope"],
            "unknown event 'nope'; known events: transaction.create, task.completed",
        ),
        (
            ["example", "task.completed", "--change", "new-workflow-module"],
            "change 'new-workflow-module' does not apply to 'task.completed'; it applies to ['transaction.create']",
        ),
        (["example", "any", "--documented"], "--documented needs an event name, not 'any'"),
    ],
)
def test_bad_usage_is_one_line_exit_2(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == f"r360-webhooks: error: {error}\n"
