"""The two-step validator: fast verdicts, slow details, lazy jsonschema, schema sets, Judge."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from contracts import schemas
from contracts.errors import SchemaError, UsageError
from contracts.schemas import SchemaSet
from contracts.verdicts import Judge, normal_path, normalise
from tests._corpus import corpus


def test_valid_bodies_never_import_jsonschema(repo_root: Path) -> None:
    script = (
        "import sys\n"
        "from contracts import schemas\n"
        "for name in ('transaction.create', 'task.completed'):\n"
        "    assert schemas.validate(schemas.example(name)) == []\n"
        "    assert schemas.is_valid(schemas.example(name))\n"
        "print('jsonschema' in sys.modules, 'rfc3987_syntax' in sys.modules)\n"
        "schemas.validate({'event': 'create', 'transaction': {}})\n"
        "print('jsonschema' in sys.modules, 'rfc3987_syntax' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=repo_root, capture_output=True, text=True, check=True
    )
    # The first invalid body loads jsonschema, but not rfc3987_syntax's 1.5 s grammar (not a
    # dependency any more; `make` removes it from an older .venv).
    assert done.stdout.split() == ["False", "False", "True", "False"]


def test_validate_and_is_valid_agree_with_details() -> None:
    body = schemas.example("transaction.create")
    body["transaction"]["created_at"] = "2020-13-01T00:00:00Z"
    body["transaction"]["id"] = 40849
    assert not schemas.is_valid(body)
    assert [(v.path, v.rule) for v in schemas.validate(body)] == [
        ("$.transaction.created_at", "format"),
        ("$.transaction.id", "type"),
    ]
    assert not schemas.is_valid([1]) and not schemas.is_valid({"event": "nope"})


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_the_reference_has_the_last_word_outside_json(value: float) -> None:
    """jsonschema-rs refuses NaN and infinity as numbers; jsonschema takes them. JSON has
    neither, but ``json.loads`` makes them from ``NaN``: the verdict stays the reference's."""
    body = schemas.example("transaction.create")
    body["transaction"]["damage_cost"] = value
    assert not schemas.bundled().fast_validator("transaction.create").is_valid(body)
    assert schemas.validate(body) == []
    assert schemas.is_valid(body)
    assert Judge().judge(body).valid


def test_a_lone_surrogate_falls_back_to_the_slow_path() -> None:
    body = schemas.example("task.completed")
    body["task"]["name"] = json.loads('"\\ud800"')
    assert schemas.validate(body) == [] and schemas.is_valid(body)
    body["task"]["id"] = json.loads('"\\udfff"') * 256
    assert [v.rule for v in schemas.validate(body)] == ["maxLength"]
    assert Judge().judge(body).violations == (("$.task.id", "maxLength"),)


def test_judge_counts_what_validate_reports_and_explains_each_shape_once() -> None:
    judge = Judge()
    expected: Counter[tuple[str, str]] = Counter()
    judged: Counter[tuple[str, str]] = Counter()
    bodies = [body for _, body in corpus(seed=99, count=1500)]
    for body in bodies:
        expected.update({(normalise(v.path), v.rule) for v in schemas.validate(body)})
        judged.update(judge.judge(body).violations)
    assert judged == expected
    assert sum(expected.values()) > 500
    again = judge.slow_calls
    for body in bodies:
        judge.judge(body)
    assert judge.slow_calls == again  # every shape is remembered


def test_judge_memo_is_bounded() -> None:
    judge = Judge(memo_size=2)
    for index in range(5):
        body = schemas.example("task.completed")
        del body["task"][["id", "name", "status", "due_by", "asset"][index]]
        assert judge.judge(body).violations[0][1] == "required"
    assert len(judge._memo) == 2 and judge.slow_calls == 5


def test_paths_are_normalised_for_counting() -> None:
    assert normalise("$.transaction.photos[12].url") == "$.transaction.photos[*].url"
    assert normalise('$.a["x[0]"][3]["q\\"[1]"]') == '$.a["x[0]"][*]["q\\"[1]"]'
    assert normal_path(["transaction", "photos", 0, "blur"]) == "$.transaction.photos[*].blur"
    assert normal_path(["notations", None, "a b"]) == '$.notations[*]["a b"]'


def test_schema_set_from_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    shutil.copytree(str(schemas.schema_dir()), folder)
    patched = json.loads((folder / "photo.json").read_text())
    patched["properties"]["blur_score"] = {"type": "number", "description": "Seen."}
    patched["required"].append("blur_score")
    (folder / "photo.json").write_text(json.dumps(patched))
    mine = SchemaSet.from_dir(folder)
    assert mine.names() == schemas.schema_names()
    body = schemas.example("transaction.create")
    photo = {"id": "1", "created_at": "2024-01-16T10:00:13.716Z", "url": "https://x.example/p"}
    body["transaction"]["photos"] = [photo]
    assert schemas.is_valid(body) and not mine.is_valid(body)
    assert [(v.path, v.rule) for v in mine.validate(body)] == [
        ("$.transaction.photos[0].blur_score", "required")
    ]
    photo["blur_score"] = 0.5
    assert mine.is_valid(body)
    assert schemas.bundled() is not mine and schemas.validate(body) == []


def test_schema_set_from_a_bad_folder_is_a_usage_error(tmp_path: Path) -> None:
    """Read the way ``diff`` reads a set (contracts.schemaset.load_set): one reading, one set of
    messages, each naming the file and the fix."""
    draft = "https://json-schema.org/draft/2020-12/schema"
    with pytest.raises(UsageError, match="missing: does not exist; give a folder laid out like"):
        SchemaSet.from_dir(tmp_path / "missing")
    (tmp_path / "webhook.json").write_text(
        json.dumps({"$schema": draft, "$id": "https://elsewhere/webhook.json"})
    )
    with pytest.raises(UsageError, match=r"webhook\.json: \$id must be"):
        SchemaSet.from_dir(tmp_path)
    (tmp_path / "webhook.json").write_text('{"$schema": "x"}')
    with pytest.raises(UsageError, match=r"webhook\.json: not a valid JSON Schema 2020-12"):
        SchemaSet.from_dir(tmp_path)
    (tmp_path / "webhook.json").write_text("{oops")
    with pytest.raises(UsageError, match=r"webhook\.json: not JSON \(.*\); fix the file"):
        SchemaSet.from_dir(tmp_path)
    (tmp_path / "webhook.json").unlink()
    (tmp_path / "task.json").write_text(json.dumps({"$schema": draft}))
    with pytest.raises(UsageError, match=r"no webhook\.json \(the anyOf of event envelopes\)"):
        SchemaSet.from_dir(tmp_path)


def test_the_bundled_reading_and_a_folders_share_one_rule_for_envelopes() -> None:
    """contracts.schemas.read_envelopes is the one reading of what makes an event: the bundled
    set fails on a bad envelope in the same words as a user's folder (tests/test_diff.py)."""
    documents = {name: dict(doc) for name, doc in schemas.bundled().documents.items()}
    envelope = dict(documents["task.completed"])
    envelope["required"] = ["event", "task", "work_order"]
    documents["task.completed"] = envelope
    broken = SchemaSet(documents, origin="edited")
    with pytest.raises(
        SchemaError, match=r"edited: task\.completed\.json: an event envelope needs"
    ):
        _ = broken.known_events
    assert [spec.name for spec in schemas.bundled().known_events][:1] == ["transaction.create"]
