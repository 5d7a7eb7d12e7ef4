"""pyproject.toml ships every Python package and the schema data."""

from __future__ import annotations

import tomllib
from pathlib import Path


def test_every_package_is_listed(repo_root: Path) -> None:
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(repo_root).parts)
        for top in ("contracts", "mockserver")
        for init in (repo_root / top).rglob("__init__.py")
    }
    listed = set(config["packages"])
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert {"r360_schemas", "r360_schemas.v1", "r360_schemas.v1.examples"} <= listed
