"""``contracts.diff``: each deliberate edit is exactly its rule, and the registry is the docs."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from contracts import diff as diff_module
from contracts.diff import RULES, Difference, Severity, diff
from contracts.errors import InputError, UsageError
from contracts.schemaset import load_set
from tests.schema_edits import EDITS, Edit, copy_bundled, edit


@pytest.mark.parametrize("change", EDITS, ids=str)
def test_each_edit_is_reported_as_exactly_its_rule(change: Edit, tmp_path: Path) -> None:
    old, new = change.sets(tmp_path)
    found = diff(old, new)
    assert [(d.rule, d.pointer) for d in found] == [(change.rule, change.pointer)]
    assert "\n" not in found[0].message and len(str(found[0])) < 160


def test_every_rule_has_a_deliberate_edit() -> None:
    assert {e.rule for e in EDITS} == set(RULES)


def test_identical_sets_have_no_differences(tmp_path: Path) -> None:
    assert diff(load_set("bundled"), load_set("bundled")) == []
    assert diff(load_set("bundled"), load_set(copy_bundled(tmp_path / "v1"))) == []


def test_the_repository_schemas_folder_is_read_through_its_v1(repo_root: Path) -> None:
    assert diff(load_set("bundled"), load_set(repo_root / "schemas")) == []


def test_breaking_means_more_bodies_or_less_promised() -> None:
    breaking = {name for name, rule in RULES.items() if rule.severity is Severity.BREAKING}
    assert {
        "property-removed", "required-removed", "type-widened", "max-length-increased",
        "format-removed", "enum-value-added", "event-removed",
    } <= breaking  # fmt: skip
    compatible = {name for name, rule in RULES.items() if rule.severity is Severity.INFO}
    assert {
        "property-added", "event-added", "required-added", "type-narrowed",
        "max-length-decreased", "description-changed",
    } <= compatible  # fmt: skip


def test_a_change_in_a_shared_definition_is_reported_once_where_it_is_made(tmp_path: Path) -> None:
    old, new = copy_bundled(tmp_path / "old"), copy_bundled(tmp_path / "new")
    edit("common.json", lambda d: d["$defs"]["https_url"].pop("format"))(new)
    # photo, video, signature, file... all $ref it; the line names the definition.
    assert [str(d) for d in diff(load_set(old), load_set(new))] == [
        'breaking  format-removed  /common.json/$defs/https_url  format "uri" removed'
    ]


def test_an_inlined_schema_is_compared_where_it_was_referenced(tmp_path: Path) -> None:
    old, new = copy_bundled(tmp_path / "old"), copy_bundled(tmp_path / "new")

    def inline_photo(doc: dict) -> None:
        photo = json.loads((new / "photo.json").read_text())
        del photo["properties"]["url"]["$ref"]
        photo["properties"]["url"]["type"] = "string"
        doc["properties"]["photos"]["items"] = {
            k: photo[k] for k in ("type", "properties", "required")
        }

    edit("transaction.json", inline_photo)(new)
    where = "/transaction.json/properties/photos/items"
    assert [str(d) for d in diff(load_set(old), load_set(new))] == [
        f"info  ref-changed  {where}  $ref photo.json inlined",
        f"info  ref-changed  {where}/properties/url  $ref common.json#/$defs/https_url inlined",
        f'breaking  format-removed  {where}/properties/url  format "uri" removed',
    ]


@pytest.mark.parametrize(
    ("rule", "line"),
    [
        (
            "type-widened",
            "breaking  type-widened  /common.json/$defs/id  type string -> string | null",
        ),
        (
            "enum-value-added",
            'breaking  enum-value-added  /task.json/properties/status  new value "cancelled"',
        ),
        (
            "maximum-decreased",
            "info  maximum-decreased  /common.json/$defs/geo_coord/prefixItems/1  maximum 90 -> exclusiveMaximum 90",
        ),
        (
            "description-changed",
            'info  description-changed  /photo.json/properties/url  provenance "seen in v1" -> "documented"; text changed',
        ),
        (
            "event-added",
            'info  event-added  /webhook.json/anyOf/2  new event "update" on "transaction" (transaction.update.json)',
        ),
    ],
)
def test_messages_say_what_changed(rule: str, line: str, tmp_path: Path) -> None:
    (change,) = [e for e in EDITS if e.rule == rule]
    assert [str(d) for d in diff(*change.sets(tmp_path))] == [line]


def test_rule_names_are_stable_kebab_case_with_a_reason() -> None:
    for name, rule in RULES.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name)
        assert rule.name == name and len(rule.summary) > 10


def test_a_rule_registered_twice_is_refused() -> None:
    from contracts import _diff_rules

    with pytest.raises(ValueError, match="'property-added' is registered twice"):
        _diff_rules._rule("property-added", Severity.INFO, "again")
    assert RULES["property-added"].summary != "again"


def test_severities_order_and_parse() -> None:
    assert Severity.INFO < Severity.WARNING < Severity.BREAKING
    assert Severity.parse("Warning") is Severity.WARNING
    with pytest.raises(
        UsageError, match="unknown severity 'fatal'; use one of breaking, warning, info"
    ):
        Severity.parse("fatal")
    assert Difference("type-widened", "/a.json", "x").as_dict() == {
        "severity": "breaking", "rule": "type-widened", "pointer": "/a.json", "message": "x",
    }  # fmt: skip


def test_docs_table_matches_the_rule_registry(repo_root: Path) -> None:
    page = (repo_root / "docs" / "diff.md").read_text()
    table = page.split("## Rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \| (breaking|warning|info) \| (.+?) \|$", table, re.M)
    documented = {name: (severity, summary) for name, severity, summary in rows}
    registered = {n: (str(r.severity), r.summary) for n, r in RULES.items()}
    assert documented == registered


def test_the_diff_modules_stay_in_the_contract_layer(repo_root: Path) -> None:
    """contracts.diff is floor 1 (DESIGN.md): no mockserver, CLI, plugin or verifier imports."""
    forbidden = (
        "mockserver",
        "contracts.cli",
        "contracts.plugin",
        "contracts.verif",
        "contracts.checks",
    )
    for module in ("diff", "_diff_rules", "_schemanode", "schemaset"):
        tree = ast.parse((repo_root / "contracts" / f"{module}.py").read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith(forbidden)], module
    assert diff_module.__all__ == ["RULES", "Difference", "Rule", "Severity", "diff"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "does not exist; give a folder laid out like schemas/v1"),
        (lambda d: d.mkdir(), 'no schema files (*.json declaring "$schema") here'),
        (lambda d: d.write_text("{}"), "is not a folder"),
    ],
    ids=["missing", "empty", "a-file"],
)
def test_a_source_that_is_not_a_schema_folder_is_input_error(
    tmp_path: Path, setup, message
) -> None:
    target = tmp_path / "set"
    setup(target)
    with pytest.raises(InputError) as raised:
        load_set(target)
    assert str(raised.value).startswith(f"{target}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: (d / "photo.json").write_text("{nope"),
            "photo.json: not JSON (Expecting property name",
        ),
        (
            edit("photo.json", lambda d: d.update(type="picture")),
            "photo.json: not a valid JSON Schema 2020-12 at /type: ",
        ),
        (
            edit(
                "photo.json",
                lambda d: d["properties"]["url"].update({"$ref": "commn.json#/$defs/https_url"}),
            ),
            "photo.json: $ref 'commn.json#/$defs/https_url' at /properties/url does not resolve within the set; fix the name or add the file",
        ),
        (
            lambda d: (d / "webhook.json").unlink(),
            "webhook.json: no webhook.json (the anyOf of event envelopes)",
        ),
        (
            edit("photo.json", lambda d: d.update({"$id": "https://x.example/photo"})),
            "does not end with the file name",
        ),
        (
            edit("task.completed.json", lambda d: d["properties"].pop("event")),
            "task.completed.json: an event envelope needs properties/event/const",
        ),
    ],
    ids=["not-json", "not-a-schema", "dangling-ref", "no-webhook", "bad-id", "not-an-envelope"],
)
def test_a_broken_set_is_one_input_error_naming_the_file(tmp_path: Path, damage, message) -> None:
    folder = copy_bundled(tmp_path / "v1")
    damage(folder)
    with pytest.raises(InputError, match=re.escape(message)):
        load_set(folder)
