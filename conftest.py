"""The repo's own test set-up: pytester for plugin tests, and the repo root for file fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
