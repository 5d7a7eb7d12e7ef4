"""docs/reference.md is generated from the schemas and must be current."""

from __future__ import annotations

from pathlib import Path

from contracts import schemas
from contracts.reference import render_markdown


def test_committed_reference_is_up_to_date(repo_root: Path) -> None:
    committed = (repo_root / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "docs/reference.md is stale: run `make docs`"


def test_reference_covers_every_schema_and_field() -> None:
    text = render_markdown()
    for name in schemas.schema_names():
        assert f"{name}.json" in text
    for field in schemas.load_schema("transaction")["properties"]:
        assert f"| `{field}` |" in text
    assert "| `check_in` | boolean or null | yes | documented |" in text
    assert "| `task_id` | id (string, 1-255 chars) or null | no | inferred |" in text
