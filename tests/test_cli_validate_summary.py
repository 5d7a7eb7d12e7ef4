"""``r360-webhooks validate --summary`` and the examples index that ``validate`` skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import schemas
from contracts.cli import main


def _lines(path: Path, bodies: list[object]) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    return path


def test_summary_counts_bodies_events_and_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, task = schemas.example("transaction.create"), schemas.example("task.completed")
    integer_id = json.loads(json.dumps(good))
    integer_id["transaction"]["id"] = 40849
    two_photos = json.loads(json.dumps(good))
    stamp, url = "2024-01-16T10:00:13.716Z", "https://x.example/"
    two_photos["transaction"]["photos"] = [
        {"id": "1", "created_at": stamp, "url": "not a uri"},
        {"id": "2", "created_at": stamp, "url": url},
        {"id": "3", "created_at": "2020-01-01T00:00:00", "url": "bad uri"},
    ]
    path = _lines(
        tmp_path / "day.jsonl",
        [good, integer_id, task, integer_id, two_photos, {"event": "created", "work_order": {}}],
    )
    assert main(["validate", "--summary", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "bodies: 6 (2 valid, 4 invalid)",
        "events: transaction.create 4, task.completed 1, unknown event 1",
        "violations (bodies, rule, path, first seen):",
        f"         2  type        $.transaction.id  {path}:2",
        f"         1  event       $  {path}:6",
        f"         1  format      $.transaction.photos[*].created_at  {path}:5",
        f"         1  format      $.transaction.photos[*].url  {path}:5",
    ]


def test_summary_of_valid_bodies_exits_0_and_strict_counts_undocumented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = schemas.example("task.completed")
    body["task"]["activities"][0]["ip"] = "10.0.0.1"
    path = _lines(tmp_path / "x.jsonl", [body, body, schemas.example("task.completed")])
    assert main(["validate", "--summary", "--strict", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "bodies: 3 (3 valid, 0 invalid)",
        "events: task.completed 3",
        "violations: none",
        "undocumented (bodies, path, first seen):",
        f"         2  $.task.activities[*].ip  {path}:1",
    ]


def test_summary_reports_bad_lines_on_stderr_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(schemas.example("task.completed")) + "\n{oops\n[1]\n\n")
    assert main(["validate", "--summary", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "bodies: 1 (1 valid, 0 invalid)"
    assert captured.err.splitlines() == [
        f"r360-webhooks: error: {path}:2: not JSON (Expecting property name enclosed in double quotes at column 2)",
        f"r360-webhooks: error: {path}:3: body is a JSON array, not an object; a webhook body is an object",
    ]


def test_the_bundled_examples_validate_and_their_index_is_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = schemas.schema_dir().joinpath("examples")
    files = sorted(str(folder.joinpath(name)) for name in ("index.json", *(f"{s.name}.json" for s in schemas.known_events())))  # fmt: skip
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{folder.joinpath('index.json')}: SKIP (an examples index, not a webhook body)" in out
    assert (
        sum(line.endswith(("OK (transaction.create)", "OK (task.completed)")) for line in out) == 2
    )
    assert main(["validate", "--summary", *files]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"skipped: {folder.joinpath('index.json')} (an examples index, not a webhook body)"
    )


def test_a_body_shaped_like_an_index_is_still_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"event": "create", "x": {"file": "a", "provenance": "b"}}))
    assert main(["validate", str(path)]) == 1
    assert ": FAIL (unknown event)" in capsys.readouterr().out
