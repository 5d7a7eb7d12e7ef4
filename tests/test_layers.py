"""The house has four floors (DESIGN.md, "Layers"); each imports only the floors below it.

1. contract: ``contracts`` (schemas, strict view, walk, bodies, strategies, evolution, bulk, ...)
2. Record360: ``mockserver`` (settings factory, delivery core, server, consumer, load, Locust)
3. verifier: ``contracts.verifier``
4. faces: ``contracts.cli``, ``contracts.plugin``, ``contracts.suite``, ``contracts.__main__``

Every import counts, also one inside a function or under ``TYPE_CHECKING``: a lazy import is still
a dependency. The checker is tested on a tree with a deliberate break, so it cannot pass by
seeing nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FACES = ("contracts.cli", "contracts.plugin", "contracts.suite", "contracts.__main__")


def floor(module: str) -> int | None:
    """The floor of a module of ours, or ``None`` for anything else (stdlib, third party)."""
    top = module.split(".")[0]
    if top == "mockserver":
        return 2
    if top != "contracts":
        return None
    if any(module == face or module.startswith(face + ".") for face in FACES):
        return 4
    if module == "contracts.verifier" or module.startswith("contracts.verifier."):
        return 3
    return 1


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, ``from X import Y`` as X.Y."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from contracts import plugin`` imports contracts.plugin: judge each name.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_violations(root: Path) -> list[str]:
    """``module (floor n) imports other (floor m)`` for each import of a higher floor."""
    problems = []
    for top in ("contracts", "mockserver"):
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(path, root)
            own = floor(module)
            assert own is not None
            for imported in sorted(imports_of(path, module)):
                other = floor(imported)
                if other is not None and other > own:
                    problems.append(f"{module} (floor {own}) imports {imported} (floor {other})")
    return problems


def test_every_import_goes_down_or_sideways() -> None:
    assert layer_violations(ROOT) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("contracts/schemas.py", "import mockserver.delivery\n", "contracts.schemas (floor 1)"),
        (
            "contracts/errors.py",
            "def f():\n    from mockserver.errors import R360Error\n",
            "contracts.errors (floor 1) imports mockserver.errors.R360Error (floor 2)",
        ),
        (
            "mockserver/server/app.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from contracts.verifier import Report\n",
            "mockserver.server.app (floor 2) imports contracts.verifier",
        ),
        (
            "contracts/verifier/context.py",
            "from ..cli import main\n",
            "contracts.verifier.context (floor 3) imports contracts.cli.main (floor 4)",
        ),
        ("mockserver/delivery/core.py", "from contracts import plugin\n", "contracts.plugin"),
    ],
)
def test_a_deliberate_break_is_caught(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    for top in ("contracts", "mockserver"):
        (tmp_path / top).mkdir()
        (tmp_path / top / "__init__.py").write_text("")
    path = tmp_path / module
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "__init__.py").touch()
    path.write_text(source)
    problems = layer_violations(tmp_path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_the_floors_are_as_designed() -> None:
    assert [floor(m) for m in ("contracts.schemas", "contracts.bulk", "contracts.errors")] == [
        1
    ] * 3
    assert floor("mockserver.settings") == floor("mockserver.delivery.core") == 2
    assert floor("contracts.verifier") == floor("contracts.verifier.checks.tls") == 3
    assert floor("contracts.cli.send") == floor("contracts.plugin") == floor("contracts.suite") == 4
    assert floor("httpx") is None and floor("contractsx") is None


#: The largest a module of the packages may grow (issue 10: "smaller rooms"); past it, a module
#: holds more than one job and should give one away.
MAX_MODULE_LINES = 450


def oversized_modules(root: Path) -> list[str]:
    """``path: N lines`` for each module of the packages longer than :data:`MAX_MODULE_LINES`."""
    found = []
    for top in ("contracts", "mockserver"):
        for path in sorted((root / top).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_MODULE_LINES:
                found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def test_no_module_outgrows_its_room() -> None:
    assert oversized_modules(ROOT) == []


def test_an_oversized_module_is_named(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "mockserver").mkdir()
    (tmp_path / "contracts" / "fits.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    (tmp_path / "mockserver" / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized_modules(tmp_path) == [f"mockserver/big.py: {MAX_MODULE_LINES + 1} lines"]


@pytest.mark.parametrize("package", ["contracts.verifier", "mockserver.delivery"])
def test_every_lazy_public_name_resolves(package: str) -> None:
    """A package that imports its names on demand still has every name it lists in __all__."""
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing  # noqa: B018
