"""The apps depend downwards only (DESIGN §2): billruns → invoicing → accounts → core, with the
project (settings, urls) and the API on top. Walked with `ast`, so an import inside a function
counts as much as one at the top of a module."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lower number, lower layer: a module may import its own app and the apps below it only.
LAYERS = {"core": 0, "accounts": 1, "invoicing": 2, "billruns": 3, "api": 4, "billing_project": 5}
MAX_LINES = 600


def project_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) of every import of a project app in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update((name.split(".")[0], node.lineno) for name in names)
    return {(app, line) for app, line in found if app in LAYERS}


def upward_imports() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} ({app} imports {imported})"
        for app, path in project_modules()
        for imported, line in sorted(imported_apps(path))
        if LAYERS[imported] > LAYERS[app]
    ]


def test_no_app_imports_an_app_above_it():
    assert upward_imports() == []


def test_no_import_cycle_between_apps():
    edges = {
        (app, imported)
        for app, path in project_modules()
        for imported, _ in imported_apps(path)
        if imported != app
    }
    cycles = sorted((a, b) for a, b in edges if (b, a) in edges)
    assert cycles == []


def test_the_rating_engine_and_what_it_imports_stay_pure():
    """invoicing/rating and the core modules it uses (money, tiers) import no Django."""
    rating = sorted((ROOT / "invoicing" / "rating").rglob("*.py"))
    used = {ROOT / "core" / "money.py", ROOT / "core" / "tiers.py"}
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*rating, *used]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            name.split(".")[0] == "django"
            for name in (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
        )
    ]
    assert offenders == []


def test_no_module_outside_migrations_and_tests_is_over_600_lines():
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for _, path in project_modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


@pytest.mark.parametrize(
    "source, app",
    [
        ("from billruns.services import post_bill_run\n", "billruns"),
        ("def f():\n    import billruns.models\n", "billruns"),
    ],
)
def test_the_walk_sees_top_level_and_nested_imports(tmp_path, source, app):
    module = tmp_path / "sneaky.py"
    module.write_text(source)
    assert {imported for imported, _ in imported_apps(module)} == {app}
