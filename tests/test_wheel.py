"""The installed wheel, not the source tree, finds and uses its schemas."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from contracts import schemas

_SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_validates_an_example(
    repo_root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(repo_root, source, ignore=_SKIP)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            source,
        ],
        check=True,
    )
    [wheel] = wheels.glob("r360_webhooks-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        check=True,
    )
    # The dependencies come from this test environment's site-packages, added *after* the fresh
    # venv's own, through a plain .pth line: that does not run this environment's editable-install
    # hook, so `contracts` can only come from the wheel.
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    example = tmp_path / "elsewhere" / "body.json"
    example.parent.mkdir()
    example.write_bytes(schemas.example_bytes("task.completed"))
    shutil.rmtree(source)  # nothing may fall back to a source tree

    where = subprocess.run(
        [python, "-c", "import contracts.schemas as s; print(s.__file__); print(s.schema_dir())"],
        check=True,
        capture_output=True,
        text=True,
        cwd=example.parent,
    ).stdout.split()
    assert all(path.startswith(str(site)) for path in where), where
    result = subprocess.run(
        [python, "-m", "contracts", "validate", "body.json"],
        capture_output=True,
        text=True,
        cwd=example.parent,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "body.json: OK (task.completed)\n"), (
        result.stderr
    )
