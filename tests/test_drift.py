"""contracts.drift: findings against oracles, the proposed patch, and the layering rule."""

from __future__ import annotations

import ast
import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contracts import _driftjobs, schemas, strict
from contracts.bulk import BulkGenerator, sample_body
from contracts.diff import Severity, diff
from contracts.drift_report import DriftReport, build_report
from contracts.errors import UsageError
from contracts.evolution import catalogue
from contracts.proposal import apply_patch, check_compatible, patched_set, write_set
from contracts.schemas import SchemaSet
from contracts.schemaset import BUNDLED, load_set
from contracts.verdicts import normalise

REPO = Path(__file__).resolve().parent.parent
STAMP = "2024-01-16T10:00:13.716Z"


def capture(body: Any, day: int, *, raw: bytes | None = None) -> str:
    """One r360-capture/1 line, as ``r360-webhooks record`` writes it."""
    line: dict[str, Any] = {
        "format": "r360-capture/1",
        "time": f"2026-11-{day:02d}T04:05:06.123Z",
        "event": None,
        "content_type": "application/json",
        "headers": ["content-type", "authorization"],
        "auth": "Authorization: Bearer [REDACTED]",
        "remote": "127.0.0.1",
        "answer": {"status": 202, "duration_s": 0.012},
    }
    if raw is not None:
        line["body_b64"] = base64.b64encode(raw).decode()
    else:
        line["body"] = json.dumps(body)
    return json.dumps(line)


def report_of(*paths: Path, schema_set: SchemaSet | None = None, jobs: int = 1) -> DriftReport:
    chosen = schema_set or schemas.bundled()
    files = [str(p) for p in paths]
    drift, counts = _driftjobs.analyse(files, schema_set=chosen, jobs=jobs)
    return build_report(drift, counts, files)


def assert_diff_calls_it_compatible(folder: Path) -> None:
    """``r360-webhooks diff bundled FOLDER``'s judge on the set as written: added properties,
    nothing a consumer could trip on (no warning, no breaking)."""
    differences = diff(load_set(BUNDLED), load_set(folder))
    assert [str(d) for d in differences if d.severity >= Severity.WARNING] == []
    assert "property-added" in {d.rule for d in differences}


def transactions(count: int) -> list[dict[str, Any]]:
    """Valid transactions, each with at least one photo, and no undocumented path."""
    bodies = [b.payload for b in BulkGenerator(seed=5, event="transaction.create").take(count)]
    for body in bodies:
        if not body["transaction"]["photos"]:
            body["transaction"]["photos"].append({"id": "9", "created_at": STAMP, "url": "https://x.example/p"})  # fmt: skip
        assert schemas.is_valid(body) and strict.undocumented(body) == []
    return bodies


def test_a_planted_violation_and_a_planted_field_are_exactly_the_findings(tmp_path: Path) -> None:
    bodies = transactions(50)
    for index in range(0, 50, 7):  # 8 bodies with an integer id
        bodies[index]["transaction"]["id"] = 40849
    for index in range(20):  # 20 bodies with a new number on their last photo
        bodies[index + 25]["transaction"]["photos"][-1]["blur_score"] = 0.25 + index
    path = tmp_path / "staging.capture.jsonl"
    path.write_text("".join(capture(b, 1 + i % 28) + "\n" for i, b in enumerate(bodies)))
    report = report_of(path)
    assert report.violations == [
        {"path": "$.transaction.id", "rule": "type", "count": 8, "line": f"{path}:1"}
    ]
    assert report.undocumented == [
        {
            "path": "$.transaction.photos[*].blur_score",
            "count": 20,
            "share": 0.4,
            "types": ["number"],
            "example": "0.25",
            "line": f"{path}:26",
        }
    ]
    assert report.unknown_events == [] and report.problems == {"count": 0, "lines": []}
    assert report.exit_code == 1
    assert report.proposed_patch == {
        "photo.json": [
            {
                "op": "add",
                "path": "/properties/blur_score",
                "value": {
                    "type": "number",
                    "description": "Seen in traffic (20 of 50 bodies, 2026-11-01 to 2026-11-28).",
                    "examples": [0.25],
                },
            }
        ]
    }
    assert report.incompatible == []
    written = tmp_path / "proposed"
    write_set(patched_set(schemas.bundled(), report.proposed_patch), written)
    assert_diff_calls_it_compatible(written)


def _evolved_bodies(count: int) -> list[dict[str, Any]]:
    return [b.payload for b in BulkGenerator(seed=21, evolved=True, templates=96).take(count)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_evolved_traffic_names_exactly_the_undocumented_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The oracle is strict.undocumented, body by body; two processes must agree with one."""
    monkeypatch.setattr(_driftjobs, "MIN_SPLIT_BYTES", 1)
    bodies = _evolved_bodies(1500)
    path = tmp_path / "bodies.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    expected: Counter[str] = Counter()
    first: dict[str, int] = {}
    for line, body in enumerate(bodies, start=1):
        for found in {normalise(p) for p in strict.undocumented(body)}:
            expected[found] += 1
            first.setdefault(found, line)
    report = report_of(path, jobs=jobs)
    assert {r["path"]: r["count"] for r in report.undocumented} == dict(expected)
    assert {r["path"]: r["line"] for r in report.undocumented} == {
        p: f"{path}:{n}" for p, n in first.items()
    }
    assert report.violations == [] and report.bodies == 1500 and report.exit_code == 3


def test_changes_that_add_no_path_are_not_drift(tmp_path: Path) -> None:
    undocumented = {name for name, change in catalogue().items() if change.undocumented}
    lines, added = [], set()
    for seed in range(150):
        sample = sample_body(seed=seed, evolved=True)
        lines.append(json.dumps(sample.payload))
        for change in sample.changes:
            if change.name in undocumented:
                added |= {normalise(p) for p in change.added}
    quiet = sample_body("task.completed", seed=1, changes=["reordered-keys", "opaque-id"])
    lines.append(json.dumps(quiet.payload))
    path = tmp_path / "examples.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = report_of(path)
    assert {r["path"] for r in report.undocumented} == added
    only_quiet = tmp_path / "quiet.jsonl"
    only_quiet.write_text(json.dumps(quiet.payload) + "\n")
    assert report_of(only_quiet).exit_code == 0


def test_applied_patch_takes_every_body_and_leaves_nothing_undocumented(tmp_path: Path) -> None:
    bodies = _evolved_bodies(800)
    path = tmp_path / "bodies.jsonl"
    path.write_text("".join(capture(b, 3) + "\n" for b in bodies))
    report = report_of(path)
    assert report.incompatible == [] and report.proposed_patch
    written = write_set(patched_set(schemas.bundled(), report.proposed_patch), tmp_path / "v1")
    assert sorted(p.name for p in written) == sorted(f"{n}.json" for n in schemas.schema_names())
    patched = SchemaSet.from_dir(tmp_path / "v1")
    for body in bodies:
        assert patched.is_valid(body)
        assert strict.undocumented(body, schema_set=patched) == []
    again = report_of(path, schema_set=patched)
    assert (again.undocumented, again.violations, again.exit_code) == ([], [], 0)
    changed = {f.name for f in written if json.loads(f.read_text()) != schemas.load_schema(f.stem)}
    assert changed == set(report.proposed_patch)
    assert_diff_calls_it_compatible(tmp_path / "v1")


def test_inferred_fields_seen_are_confirmed_and_fields_never_seen_are_listed(
    tmp_path: Path,
) -> None:
    body = schemas.example("task.completed")
    body["task"]["completed_at"] = STAMP
    path = tmp_path / "task.jsonl"
    path.write_text(json.dumps(body) + "\n" + json.dumps(schemas.example("task.completed")) + "\n")
    report = report_of(path)
    assert report.confirmed == [
        {"path": "$.task.completed_at", "count": 1, "share": 0.5, "schema": "task.json"}
    ]
    unseen = {r["path"]: r["provenance"] for r in report.unseen}
    assert unseen["$.task.reference_number"] == "inferred"
    assert "$.task.completed_at" not in unseen and "$.task.name" not in unseen
    assert not any(p.startswith("$.transaction") for p in unseen)  # no transaction was seen
    assert report.exit_code == 0


def test_unknown_events_unusable_lines_and_base64_bodies(tmp_path: Path) -> None:
    known = schemas.example("transaction.create")
    updated = {**known, "event": "updated"}
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                capture(known, 1, raw=json.dumps(known).encode("utf-16")),
                capture(None, 2, raw=b"\xff\xfe not json"),
                json.dumps({"event": "created", "work_order": {"id": "1"}}),
                "",
                "{oops",
                json.dumps(updated),
                json.dumps([1, 2]),
                json.dumps({"format": "r360-capture/1", "time": None}),
            ]
        )
        + "\n"
    )
    report = report_of(path)
    assert report.bodies == 3 and report.events == {"transaction.create": 1}
    assert [(r["event"], r["keys"], r["line"]) for r in report.unknown_events] == [
        ('"created"', ["work_order"], f"{path}:3"),
        ('"updated"', ["transaction"], f"{path}:6"),
    ]
    assert report.problems["count"] == 4
    assert [(r["line"], r["reason"].split(" (")[0]) for r in report.problems["lines"]] == [
        (f"{path}:2", "capture body is not JSON"),
        (f"{path}:5", "not JSON"),
        (f"{path}:7", "a JSON array, not a webhook body"),
        (f"{path}:8", "capture line without a body or body_b64"),
    ]
    assert report.exit_code == 1 and report.first_date == "2026-11-01"


def test_line_numbers_are_per_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    good = json.dumps(schemas.example("task.completed"))
    bad = schemas.example("task.completed")
    bad["task"]["due_by"] = "2020-01-01T00:00:00"
    first.write_text(f"{good}\n{good}\n")
    second.write_text(f"{good}\n\n{json.dumps(bad)}\n")
    report = report_of(first, second)
    assert report.violations == [
        {"path": "$.task.due_by", "rule": "format", "count": 1, "line": f"{second}:3"}
    ]


def test_patches_apply_and_incompatible_ones_are_named() -> None:
    document = {"properties": {"a": {}}, "required": ["a"]}
    patch = [{"op": "add", "path": "/properties/b~1c", "value": {"type": "string"}}]
    assert apply_patch(document, patch) == {
        "properties": {"a": {}, "b/c": {"type": "string"}},
        "required": ["a"],
    }
    assert document == {"properties": {"a": {}}, "required": ["a"]}  # not changed in place
    bad = {
        "photo.json": [{"op": "add", "path": "/properties/url", "value": {}}],
        "notations.json": [{"op": "add", "path": "/properties/x", "value": {}}],
        "nope.json": [],
        "user.json": [{"op": "add", "path": "/additionalProperties", "value": False}],
    }
    # What cannot be applied, per file; then diff's own verdicts, as `r360-webhooks diff` prints.
    assert check_compatible(schemas.bundled(), bad) == [
        "notations.json: cannot add at '/properties/x': no such place",
        "nope.json: no such schema",
        "breaking  type-widened  /photo.json/properties/url  type string -> any",
        'breaking  format-removed  /photo.json/properties/url  format "uri" removed',
        "warning  additional-properties-closed  /user.json  additionalProperties: false",
    ]
    good = {"photo.json": [{"op": "add", "path": "/properties/blur", "value": {"type": "number"}}]}
    assert check_compatible(schemas.bundled(), good) == []


DRIFT_MODULES = ["drift", "drift_report", "proposal", "captures", "_shape", "_driftjobs"]
FORBIDDEN = ("mockserver", "contracts.cli", "contracts.plugin", "contracts.checks", "contracts.verify", "contracts.suite", "contracts.target", "contracts.verifier")  # fmt: skip


@pytest.mark.parametrize("module", DRIFT_MODULES)
def test_drift_is_contract_layer(module: str) -> None:
    tree = ast.parse((REPO / "contracts" / f"{module}.py").read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert [name for name in imported if name and name.startswith(FORBIDDEN)] == []


def test_records_under_any_of_follow_the_walks_first_type_rule(tmp_path: Path) -> None:
    documents = {name: json.loads(json.dumps(schemas.load_schema(name))) for name in schemas.schema_names()}  # fmt: skip
    documents["transaction"]["properties"]["extra"] = {
        "description": "Documented: test only.",
        "anyOf": [
            {"type": "null"},
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "array", "items": {"type": "object", "properties": {"b": {}}}},
        ],
    }
    mine = SchemaSet(documents, origin="test")
    bodies = []
    for extra in (None, {"a": "x", "z": 1}, [{"b": 1, "y": 2}, {"q": 0}], "text", {"a": "y"}):
        body = schemas.example("transaction.create")
        body["transaction"]["extra"] = extra
        bodies.append(body)
    path = _write_lines(tmp_path / "x.jsonl", bodies)
    expected: Counter[str] = Counter()
    for body in bodies:
        expected.update({normalise(p) for p in strict.undocumented(body, schema_set=mine)})
    assert expected == {"$.transaction.extra.z": 1, "$.transaction.extra[*].y": 1, "$.transaction.extra[*].q": 1}  # fmt: skip
    report = report_of(path, schema_set=mine)
    assert {r["path"]: r["count"] for r in report.undocumented} == dict(expected)


def _write_lines(path: Path, bodies: list[Any]) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    return path


def test_a_patch_at_no_such_place_is_refused() -> None:
    with pytest.raises(UsageError, match=r"cannot add at '/nope/x': no such place"):
        apply_patch({"properties": {}}, [{"op": "add", "path": "/nope/x", "value": 1}])
    with pytest.raises(UsageError, match="only 'add' operations"):
        apply_patch({}, [{"op": "remove", "path": "/a"}])


def test_tables_are_bounded_however_varied_the_traffic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contracts import drift

    monkeypatch.setattr(drift, "MAX_ROWS", 5)
    bodies = []
    for index in range(12):
        body = schemas.example("task.completed")
        body["task"][f"field_{index}"] = index
        bodies.append(body)
    report = report_of(_write_lines(tmp_path / "varied.jsonl", bodies))
    assert len(report.undocumented) == 5 and report.dropped == {"undocumented": 14}
    assert report.bodies == 12  # every body still counted
