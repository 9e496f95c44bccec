"""The rating engine stays pure: no module under invoicing/rating/ may import Django."""

import ast
from pathlib import Path

RATING = Path(__file__).resolve().parents[2] / "invoicing" / "rating"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_rating_module_imports_django():
    modules = sorted(RATING.rglob("*.py"))
    assert modules, "the rating package is missing"
    offenders = {
        str(path.relative_to(RATING)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "django"
        )
        for path in modules
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_guard_sees_a_django_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from django.db import models\n")
    assert "django.db" in imported_modules(sneaky)
