"""Public names are deliberate, and the README documents every evolution in the registry."""

from __future__ import annotations

import re
from pathlib import Path

from contracts import evolution, strategies


def test_readme_table_matches_the_evolution_registry(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    table = readme.split("### The evolution catalogue", 1)[1].split("\n\n", 3)[2]
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+?) \| (.+?) \|$", table, flags=re.MULTILINE)
    documented = {name: (summary, policy) for name, summary, policy in rows}
    registered = {name: (c.summary, c.policy) for name, c in evolution.catalogue().items()}
    assert documented == registered


def test_catalogue_has_the_policy_changes() -> None:
    assert set(evolution.catalogue()) >= {
        "added-field", "new-checklist-field", "new-notation-section", "new-workflow-module",
        "opaque-id", "reordered-keys", "new-media-fields", "new-optional-object",
    }  # fmt: skip


def test_duplicate_change_names_are_refused() -> None:
    import pytest

    with pytest.raises(TypeError, match=r"'added-field' is taken by AddedField; rename .*Twin"):

        class Twin(evolution.Change):
            name = "added-field"
            summary = policy = "x"

            def apply(self, body, event, c):  # type: ignore[no-untyped-def]
                raise NotImplementedError


def test_exports() -> None:
    assert sorted(evolution.__all__) == [
        "AppliedChange",
        "Change",
        "applicable_changes",
        "catalogue",
        "check_changes",
        "evolve",
        "prepare",
    ]
    assert all(hasattr(strategies, name) for name in strategies.__all__)
