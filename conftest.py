"""The repo's own test set-up: pytester for plugin tests, and the repo root for file fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


# Generation is checked against the real validator in property tests; on a noisy 2-core CI
# machine a per-example deadline only produces flaky failures, so it is off.
settings.register_profile("r360", deadline=None, print_blob=True)
settings.load_profile("r360")
