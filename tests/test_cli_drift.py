"""``r360-webhooks drift``: exit codes 0/1/2/3, bad input, --markdown, --report-json, --apply."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import schemas
from contracts.cli import main

TASK = schemas.example("task.completed")


def _file(path: Path, *bodies: object) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    return path


def _with(**task: object) -> dict[str, object]:
    return {**TASK, "task": {**TASK["task"], **task}}


@pytest.mark.parametrize(
    ("bodies", "code", "last"),
    [
        ([TASK, TASK], 0, "exit 0: no drift"),
        ([TASK, _with(id=7)], 1, "exit 1: violations of the contract"),
        (
            [TASK, _with(priority_level=3)],
            3,
            "exit 3: the contract is behind traffic (undocumented paths or unknown events)",
        ),
        (
            [TASK, {"event": "created", "work_order": {}}],
            3,
            "exit 3: the contract is behind traffic (undocumented paths or unknown events)",
        ),
        ([_with(id=7, priority_level=3)], 1, "exit 1: violations of the contract"),
    ],
    ids=["clean", "violation", "undocumented", "unknown-event", "both"],
)
def test_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bodies: list[object], code: int, last: str
) -> None:
    path = _file(tmp_path / "capture.jsonl", *bodies)
    assert main(["drift", str(path)]) == code
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{len(bodies)} bodies from 1 file, judged against ")
    assert out[-1] == last


@pytest.fixture
def unfolded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows whole, whatever their length (the pytest tmp paths in them are long): these tests
    pin each row's format; test_the_piped_summary_fits_100_columns pins the folding."""
    monkeypatch.setattr("contracts.cli._width.PIPED_WIDTH", 10_000)


@pytest.mark.usefixtures("unfolded")
def test_summary_names_the_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path / "c.jsonl", TASK, _with(id=7), _with(priority_level=3))
    main(["drift", str(path), "--top", "1"])
    out = capsys.readouterr().out
    assert f"       1  type      $.task.id  (first {path}:2)" in out
    assert f"       1   33.3%  $.task.priority_level  number  e.g. 3  ({path}:3)" in out
    assert "proposed patch: 1 added properties in task.json (compatible)" in out
    assert "  ... and " in out  # --top 1 cuts the list of fields never seen


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.jsonl", "missing.jsonl: no such file; check the path"),
        (lambda p: p, ": is a directory; pass capture or JSON Lines files"),
        (
            lambda p: (
                (p / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR") and p / "photo.png"
            ),
            "photo.png: is a binary file, not a capture or JSON Lines (text, one JSON value a line)",
        ),
        (
            lambda p: (
                (p / "latin1.jsonl").write_bytes(b'{"a": "caf\xe9"}\n') and p / "latin1.jsonl"
            ),
            "latin1.jsonl: is a binary file, not a capture or JSON Lines (text, one JSON value a line)",
        ),
    ],
    ids=["missing", "directory", "binary", "not-utf8"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    good = _file(tmp_path / "good.jsonl", TASK)
    bad = make(tmp_path)  # type: ignore[operator]
    assert main(["drift", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing is judged when any input is bad
    assert captured.err.startswith("r360-webhooks: error: ")
    assert captured.err.endswith(message + "\n") and captured.err.count("\n") == 1


def test_bad_options_and_a_bad_schema_folder_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _file(tmp_path / "good.jsonl", TASK)
    assert main(["drift", str(good), "--schemas", str(tmp_path / "nowhere")]) == 2
    assert (
        "nowhere: does not exist; give a folder laid out like schemas/v1" in capsys.readouterr().err
    )
    assert main(["drift", str(good), "--jobs", "-1"]) == 2
    with pytest.raises(SystemExit) as stopped:
        main(["drift"])
    assert stopped.value.code == 2


def test_reports_as_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path / "c.jsonl", TASK, _with(id=7), _with(priority_level=3))
    report, notes = tmp_path / "report.json", tmp_path / "report.md"
    args = ["drift", str(path), "--report-json", str(report), "--markdown", str(notes)]
    assert main(args) == 1
    document = json.loads(report.read_text())
    assert {"bodies", "events", "violations", "undocumented", "unseen", "proposed_patch"} <= set(document)  # fmt: skip
    assert document["violations"] == [{"path": "$.task.id", "rule": "type", "count": 1, "line": f"{path}:2"}]  # fmt: skip
    assert document["undocumented"][0] == {
        "path": "$.task.priority_level", "count": 1, "share": 0.3333, "types": ["number"], "example": "3", "line": f"{path}:3",
    }  # fmt: skip
    assert document["proposed_patch"]["task.json"][0]["path"] == "/properties/priority_level"
    text = notes.read_text()
    assert text.startswith("# Drift report\n")
    assert f"| `$.task.id` | type | 1 | {path}:2 |" in text
    assert "## Proposed schema change" in text and '"op": "add"' in text
    capsys.readouterr()
    assert main(["drift", str(path), "--markdown", "-"]) == 1
    assert capsys.readouterr().out.startswith("# Drift report\n")  # instead of the summary


def test_apply_writes_a_usable_schema_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path / "c.jsonl", TASK, _with(priority_level=3))
    target = tmp_path / "proposed"
    assert main(["drift", str(path), "--apply", str(target)]) == 3
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"wrote {len(schemas.schema_names())} schema files to {target} (patched: task.json)"
    )
    assert main(["drift", str(path), "--schemas", str(target)]) == 0
    task = json.loads((target / "task.json").read_text())
    assert task["properties"]["priority_level"]["description"] == "Seen in traffic (1 of 2 bodies)."
    capsys.readouterr()
    assert main(["diff", "bundled", str(target), "--fail-on", "warning"]) == 0  # what --apply wrote
    assert capsys.readouterr().out.splitlines() == [
        "info      property-added  /task.json/properties/priority_level  new optional property",
        '    "priority_level"',  # piped output folds at 100 columns
        "1 difference: 0 breaking, 0 warning, 1 info (--fail-on warning: pass)",
    ]


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    with pytest.raises(SystemExit):
        main(["drift", "--help"])
    out = capsys.readouterr().out
    for code in ("0  no drift", "1  violations", "2  bad input", "3  no violations"):
        assert code in out
    guide = (repo_root / "docs" / "drift.md").read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "--apply", "--markdown", "--report-json"):
        assert code in guide


def test_no_traceback_from_the_command(tmp_path: Path, repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "contracts", "drift", str(tmp_path / "missing")],
        cwd=repo_root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr
        == f"r360-webhooks: error: {tmp_path / 'missing'}: no such file; check the path\n"
    )


def test_rotated_parts_are_read_oldest_first_whatever_the_order_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``drift capture.jsonl*`` (the shell sorts .10 before .2): read .1, .2, .10, then the file."""
    other = _file(tmp_path / "another.jsonl", TASK)
    parts = {suffix: _file(tmp_path / f"c.jsonl{suffix}", _with(priority_level=3))
             for suffix in ("", ".1", ".2", ".10")}  # fmt: skip
    report = tmp_path / "report.json"
    given = [str(other), *sorted(str(p) for p in parts.values())]
    assert main(["drift", *given, "--report-json", str(report)]) == 3
    document = json.loads(report.read_text())
    assert document["sources"] == [str(other), *(str(parts[s]) for s in (".1", ".2", ".10", ""))]
    assert document["undocumented"][0]["line"] == f"{parts['.1']}:1"  # the oldest part first


def _recorded(out: Path, *, good: int, refused: int) -> Path:
    """A capture as ``record --auth`` writes it: ``good`` task bodies, ``refused`` 401s."""
    import httpx

    from mockserver.auth import BearerAuth
    from mockserver.record import Recorder, RecorderConfig
    from tests.servers import serve_wsgi

    token = "drift-refused-token-1f3e5d7c9b"
    recorder = Recorder(RecorderConfig(out=out, auth=BearerAuth(token)))
    with serve_wsgi(recorder) as server:
        for _ in range(good):
            httpx.post(server.url + "/webhooks", json=TASK,
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        for _ in range(refused):
            assert httpx.post(server.url + "/webhooks", json=TASK).status_code == 401
    recorder.close()
    return out


def test_refused_deliveries_are_counted_apart_and_are_not_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _recorded(tmp_path / "c.jsonl", good=2, refused=3)
    report, notes = tmp_path / "r.json", tmp_path / "r.md"
    args = ["drift", str(capture), "--report-json", str(report), "--markdown", str(notes)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert "refused deliveries (recorded without a body): 3" in out
    assert out[-1] == "exit 0: no drift"
    document = json.loads(report.read_text())
    assert (document["refused"], document["problems"]["count"], document["bodies"]) == (3, 0, 2)
    assert "3 refused deliveries (recorded without a body)" in notes.read_text()


def test_a_capture_with_no_body_to_judge_is_not_no_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only refused deliveries (a wrong --auth), or nothing at all (a wrong URL): exit 1."""
    capture = _recorded(tmp_path / "c.jsonl", good=0, refused=2)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for path, refused in ((capture, 2), (empty, 0)):
        report = tmp_path / "r.json"
        assert main(["drift", str(path), "--report-json", str(report)]) == 1
        last = capsys.readouterr().out.splitlines()[-1]
        assert last.startswith("exit 1: no bodies in the capture: check the recorder's URL")
        assert json.loads(report.read_text())["refused"] == refused


@pytest.mark.usefixtures("unfolded")
def test_shares_are_of_the_bodies_of_the_events_where_the_path_can_appear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """20 transactions and 10 tasks: a task path seen in 4 tasks is 4 of 10, not 4 of 30."""
    transaction = schemas.example("transaction.create")
    blurred = json.loads(json.dumps(transaction))
    blurred["transaction"]["photos"] = [{"id": "9", "created_at": "2024-01-16T10:00:13.716Z",
                                         "url": "https://x.example/p", "blur_score": 0.5}]  # fmt: skip
    bodies = [blurred] * 5 + [transaction] * 15
    bodies += [_with(priority_level=3, completed_at="2024-01-16T10:00:13.716Z")] * 4 + [TASK] * 6
    path = _file(tmp_path / "mixed.jsonl", *bodies)
    report, notes = tmp_path / "r.json", tmp_path / "r.md"
    assert main(["drift", str(path), "--report-json", str(report), "--markdown", str(notes)]) == 3
    out = capsys.readouterr().out
    document = json.loads(report.read_text())
    shares = {row["path"]: (row["count"], row["share"]) for row in document["undocumented"]}
    assert shares == {
        "$.task.priority_level": (4, 0.4),
        "$.transaction.photos[*].blur_score": (5, 0.25),
    }
    assert [(r["path"], r["share"]) for r in document["confirmed"]] == [
        ("$.task.completed_at", 0.4)
    ]
    assert f"       4   40.0%  $.task.priority_level  number  e.g. 3  ({path}:21)" in out
    assert "| `$.task.priority_level` | 4 | 40.0% |" in notes.read_text()
    described = {
        name: [op["value"]["description"] for op in ops]
        for name, ops in document["proposed_patch"].items()
    }
    assert described == {  # a photo can be in either event: 5 of the 30 bodies with photos
        "task.json": ["Seen in traffic (4 of 10 bodies)."],
        "photo.json": ["Seen in traffic (5 of 30 bodies)."],
    }


def test_the_docs_diff_the_folder_that_drift_apply_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    """README and docs/drift.md write ``--apply proposed/``; docs/diff.md's CI diffs ``proposed/``:
    one folder, and ``diff`` reads it as written."""
    import re

    docs = [
        repo_root / "README.md",
        repo_root / "docs" / "drift.md",
        repo_root / "docs" / "diff.md",
    ]
    text = "\n".join(path.read_text() for path in docs)
    applied = set(re.findall(r"--apply (proposed[^\s`]*)", text))
    diffed = re.findall(r"r360-webhooks diff bundled (proposed\S*)", text)
    assert applied == set(diffed) == {"proposed/"} and len(diffed) == 3  # README + CI's two
    capture = _file(tmp_path / "c.jsonl", TASK, _with(priority_level=3))
    folder = f"{tmp_path}/proposed/"
    assert main(["drift", str(capture), "--apply", folder]) == 3
    capsys.readouterr()
    assert main(["diff", "bundled", folder, "--fail-on", "breaking", "--format", "junit"]) == 0
    assert 'classname="r360-webhooks.diff.property-added"' in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--report-json", "--markdown"])
def test_an_unwritable_output_is_refused_before_the_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    path = _file(tmp_path / "c.jsonl", TASK)
    missing = tmp_path / "no-such-folder" / "out"
    assert main(["drift", str(path), option, str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing analysed, nothing printed
    assert err.startswith(f"r360-webhooks: error: {option} ") and err.count("\n") == 1


def test_the_piped_summary_fits_100_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_key = "an_undocumented_field_whose_name_alone_takes_most_of_a_line_in_a_ci_log"
    path = _file(tmp_path / "c.jsonl", TASK, _with(**{long_key: "x" * 80}))
    assert main(["drift", str(path)]) == 3
    out = capsys.readouterr().out
    assert long_key in out.replace("\n", "").replace(" ", "")
    assert max(len(line) for line in out.splitlines()) <= 100, out
