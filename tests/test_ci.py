"""CI runs exactly the README's test command."""

from __future__ import annotations

from pathlib import Path


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    quickstart = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands[:2] == ["make demo", "make test"]
    ci = (repo_root / ".ci" / "run").read_text().splitlines()
    assert "make test" in [line.strip() for line in ci]
