"""Package layering: the finite-element core (fem, geometries) never imports the study
layer (studies), so fem can be used and tested without the batch tooling."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in ``path`` (also in functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["fem", "geometries"])
def test_core_does_not_import_studies(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources under {package}/"
    offenders = [str(p.relative_to(ROOT)) for p in files if "studies" in _imported_modules(p)]
    assert offenders == []


def test_layering_check_detects_a_lazy_import(tmp_path):
    """The check sees imports inside functions (the pattern it exists to catch)."""
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from studies.x import y\n    return y\n")
    assert "studies" in _imported_modules(p)
