"""``r360-webhooks diff``: the four formats, --fail-on and exit codes, bad input in one line."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.cli import build_parser, main
from tests.schema_edits import copy_bundled, edit


@pytest.fixture
def changed(tmp_path: Path) -> Path:
    """The bundled set with one breaking and one compatible change (the docs' example)."""
    new = copy_bundled(tmp_path / "new")
    edit("common.json", lambda d: d["$defs"]["id"].update(maxLength=1000))(new)
    blur = {"type": "number", "description": "Inferred: sharpness."}
    edit("photo.json", lambda d: d["properties"].update(blur_score=blur))(new)
    return new


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _docs_block(repo_root: Path, language: str, after: str) -> str:
    page = (repo_root / "docs" / "diff.md").read_text()
    return page.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_identical_sets_say_so_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "bundled", "bundled") == (
        0,
        "no differences between bundled and bundled\n",
        "",
    )


def test_text_is_the_docs_example(changed: Path, repo_root: Path, capsys) -> None:
    code, out, err = _run(capsys, "bundled", str(changed))
    assert (code, err) == (1, "")
    assert out == _docs_block(repo_root, "text", "`--format text` (the default)")


@pytest.mark.parametrize(("fail_on", "code"), [("breaking", 1), ("warning", 1), ("info", 1)])
def test_fail_on_a_breaking_change(changed: Path, capsys, fail_on: str, code: int) -> None:
    assert _run(capsys, "bundled", str(changed), "--fail-on", fail_on)[0] == code


@pytest.mark.parametrize(("fail_on", "code"), [("breaking", 0), ("warning", 0), ("info", 1)])
def test_fail_on_decides_for_a_compatible_change(
    tmp_path: Path, capsys, fail_on: str, code: int
) -> None:
    new = copy_bundled(tmp_path / "new")
    edit("transaction.json", lambda d: d["required"].append("task_id"))(new)
    code_seen, out, _ = _run(capsys, "bundled", str(new), "--fail-on", fail_on)
    assert code_seen == code
    assert (
        out.splitlines()[0]
        == 'info      required-added  /transaction.json/properties/task_id  "task_id" is now required'
    )
    assert (
        out.splitlines()[-1]
        == f"1 difference: 0 breaking, 0 warning, 1 info (--fail-on {fail_on}: {'fail' if code else 'pass'})"
    )


def test_json_report_has_the_documented_shape(changed: Path, repo_root: Path, capsys) -> None:
    code, out, _ = _run(capsys, "bundled", str(changed), "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report == {
        "old": "bundled",
        "new": str(changed),
        "fail_on": "breaking",
        "failed": True,
        "summary": {"breaking": 1, "warning": 0, "info": 1},
        "differences": [
            {
                "severity": "breaking",
                "rule": "max-length-increased",
                "pointer": "/common.json/$defs/id",
                "message": "maxLength 255 -> 1000",
            },
            {
                "severity": "info",
                "rule": "property-added",
                "pointer": "/photo.json/properties/blur_score",
                "message": 'new optional property "blur_score"',
            },
        ],
    }
    documented = json.loads(_docs_block(repo_root, "json", "`--format json`"))
    assert documented.keys() == report.keys()
    assert documented["differences"][0].keys() == report["differences"][0].keys()


def test_markdown_is_a_table_for_a_pull_request(changed: Path, capsys) -> None:
    code, out, _ = _run(capsys, "bundled", str(changed), "--format", "markdown")
    assert code == 1
    assert out.splitlines() == [
        f"### Schema diff: `bundled` → `{changed}`",
        "",
        "1 breaking, 0 warning, 1 info (--fail-on breaking: fail)",
        "",
        "| Severity | Rule | Pointer | Change |",
        "|---|---|---|---|",
        "| **breaking** | `max-length-increased` | `/common.json/$defs/id` | maxLength 255 -> 1000 |",
        '| info | `property-added` | `/photo.json/properties/blur_score` | new optional property "blur_score" |',
    ]


def test_markdown_without_differences(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "bundled", "bundled", "--format", "markdown")[1]
    assert out == "### Schema diff: `bundled` → `bundled`\n\nNo differences.\n"


@pytest.mark.parametrize(("fail_on", "failures"), [("breaking", 1), ("info", 2)])
def test_junit_has_a_testcase_per_difference(
    changed: Path, capsys, fail_on: str, failures: int
) -> None:
    code, out, _ = _run(capsys, "bundled", str(changed), "--format", "junit", "--fail-on", fail_on)
    assert code == 1
    root = ET.fromstring(out.encode())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "2",
        str(failures),
        "0",
    )
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("r360-webhooks.diff.max-length-increased", "/common.json/$defs/id"),
        ("r360-webhooks.diff.property-added", "/photo.json/properties/blur_score"),
    ]
    failure = cases[0].find("failure")
    assert failure is not None
    assert (failure.get("type"), failure.get("message")) == ("breaking", "maxLength 255 -> 1000")
    assert (cases[1].find("failure") is not None) == (fail_on == "info")


def test_junit_carries_values_xml_cannot(tmp_path: Path, capsys) -> None:
    old, new = copy_bundled(tmp_path / "old"), copy_bundled(tmp_path / "new")
    edit("task.json", lambda d: d["properties"]["status"].update(enum=["idle"]))(old)
    edit("task.json", lambda d: d["properties"]["status"].update(enum=["idle", "bell\x07<&>"]))(new)
    out = _run(capsys, str(old), str(new), "--format", "junit")[1]
    failure = ET.fromstring(out.encode()).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'new value "bell\\u0007<&>"'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["bundled", "{missing}"],
            "{missing}: does not exist; give a folder laid out like schemas/v1, or 'bundled' for the shipped set",
        ),
        (
            ["{empty}", "bundled"],
            "{empty}: no schema files (*.json declaring \"$schema\") here; give a folder laid out like schemas/v1, or 'bundled' for the shipped set",
        ),
        (
            ["bundled", "{broken}"],
            "{broken}/photo.json: not JSON (Expecting value: line 1 column 1 (char 0)); fix the file or move it out of the set",
        ),
    ],
    ids=["missing-folder", "no-schemas", "not-json"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    places = {
        "missing": tmp_path / "missing",
        "empty": tmp_path / "empty",
        "broken": tmp_path / "broken",
    }
    places["empty"].mkdir()
    (copy_bundled(places["broken"]) / "photo.json").write_text("not json")
    code, out, err = _run(capsys, *[a.format(**places) for a in argv])
    assert (code, out) == (2, "")
    assert err == f"r360-webhooks: error: {message.format(**places)}\n"


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diff", "bundled", "bundled", "--format", "yaml"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and "invalid choice: 'yaml'" in err


def test_every_command_line_in_the_docs_parses(repo_root: Path) -> None:
    page = (repo_root / "docs" / "diff.md").read_text()
    lines = re.findall(r"^\s*(r360-webhooks diff .+?)(?: >.*)?$", page, flags=re.M)
    assert len(lines) >= 4
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line.replace("[", "").replace("]", "").split("|", 1)[0])[1:]
        if "OLD" in argv:  # the synopsis line
            continue
        args = parser.parse_args(argv)
        assert args.command == "diff"
