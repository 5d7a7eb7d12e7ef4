"""``r360-webhooks validate`` and ``schema``: verdicts, paths, exit codes, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import schemas
from contracts.cli import main


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    path.write_bytes(schemas.example_bytes("transaction.create"))
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    body = schemas.example("transaction.create")
    del body["transaction"]["user"]["username"]
    body["transaction"]["created_at"] = "yesterday"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(body))
    return path


def test_valid_body_prints_ok(seed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(seed)]) == 0
    assert capsys.readouterr().out == f"{seed}: OK (transaction.create)\n"


def test_broken_body_prints_each_path(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{broken}: FAIL (transaction.create)",
        '  $.transaction.created_at: "yesterday" is not a valid date-time [format]',
        "  $.transaction.user.username: missing [required]",
    ]


def test_strict_lists_undocumented_paths_as_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = schemas.example("task.completed")
    body["task"]["asset"]["vin"] = "X"
    path = tmp_path / "task.json"
    path.write_text(json.dumps(body))
    assert main(["validate", "--strict", str(path)]) == 0
    assert "  warning: $.task.asset.vin is not documented" in capsys.readouterr().out
    assert main(["validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out


def test_json_lines_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps(schemas.example(e)) for e in ("transaction.create", "task.completed")]
    path = tmp_path / "bodies.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}:1: OK (transaction.create)" in out and f"{path}:2: OK (task.completed)" in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines)))
    assert main(["validate", "-"]) == 0
    assert "<stdin>:2: OK (task.completed)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing.json: no such file; check the path"),
        (
            "{not json",
            "bad.json: not JSON (Expecting property name enclosed in double quotes at line 1 column 2)",
        ),
        ("[1, 2]", "bad.json: body is a JSON array, not an object; a webhook body is an object"),
        ('"text"', "bad.json: body is a JSON str, not an object; a webhook body is an object"),
        ("", "bad.json: not JSON (Expecting value at line 1 column 1)"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_other_files_still_checked(
    tmp_path: Path,
    seed: Path,
    content: str | None,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "missing.json" if content is None else "bad.json"
    bad = tmp_path / name
    if content is not None:
        bad.write_text(content)
    assert main(["validate", str(bad), str(seed)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"r360-webhooks: error: {tmp_path}/{message}\n"
    assert captured.out == f"{seed}: OK (transaction.create)\n"


def test_empty_and_broken_jsonl_lines_name_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps(schemas.example("task.completed"))
    path = tmp_path / "mixed.jsonl"
    path.write_text(f"{good}\n\n{{oops\n{good}\n")
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"r360-webhooks: error: {path}:2: empty line in JSON Lines input; remove it",
        f"r360-webhooks: error: {path}:3: not JSON (Expecting property name enclosed in double quotes at column 2)",
    ]
    assert captured.out.splitlines() == [
        f"{path}:1: OK (task.completed)",
        f"{path}:4: OK (task.completed)",
    ]


def test_unknown_event_name_is_a_usage_error(
    seed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--event", "inspection.created", str(seed)]) == 2
    assert capsys.readouterr().err == (
        "r360-webhooks: error: unknown event 'inspection.created'; "
        "known events: transaction.create, task.completed\n"
    )


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "transaction.create"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "transaction.create event"
    assert main(["schema"]) == 0
    assert "events: transaction.create, task.completed" in capsys.readouterr().out
    assert main(["schema", "--openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["openapi"] == "3.1.0"
    assert main(["schema", "nope"]) == 2
    assert capsys.readouterr().err.startswith(
        "r360-webhooks: error: unknown schema 'nope'; known schemas: "
    )


def test_console_script_exit_codes_without_traceback(seed: Path, broken: Path) -> None:
    exe = Path(sys.executable).with_name("r360-webhooks")
    ok = subprocess.run([exe, "validate", str(seed)], capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout.endswith("OK (transaction.create)\n")) == (0, True)
    bad = subprocess.run(
        [exe, "validate", str(broken)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and "$.transaction.user.username: missing" in bad.stdout
    usage = subprocess.run(
        [exe, "validate", "--no-such-flag", str(seed)], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 2
    assert usage.stderr.splitlines() == [
        "r360-webhooks: error: unrecognized arguments: --no-such-flag (see --help)"
    ]
    assert "Traceback" not in ok.stderr + bad.stderr + usage.stderr
