"""The one import rule that carries the design: web, api and notify call clinic; clinic calls core; core calls
nothing of the project and no framework."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "isotrack"


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (SRC / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                # "from isotrack import core" names isotrack.core
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(SRC))] = names
    return found


def test_pages_reach_the_core_only_through_the_clinic():
    for package in ("web", "api", "notify"):
        if not (SRC / package).exists():
            continue
        for path, names in imports_of(package).items():
            assert not any(name.startswith("isotrack.core") for name in names), path


def test_only_the_demo_app_and_the_tests_know_the_demo():
    """The demo practices are for development (installed with DEBUG on): nothing the app runs imports them."""
    for package in ("core", "clinic", "audit", "web", "notify", "api"):
        for path, names in imports_of(package).items():
            assert not any(name.startswith("isotrack.demo") for name in names), path


def test_the_core_imports_no_framework_and_nothing_else_of_the_project():
    for path, names in imports_of("core").items():
        for name in names:
            assert not name.startswith(("django", "ninja")), path
            root = name == "isotrack" or name.startswith("isotrack.__")  # the root holds only the version
            if name.startswith("isotrack") and not root:
                assert name.startswith("isotrack.core"), f"{path} imports {name}"


def test_clinical_writes_write_their_audit_row_through_the_actions():
    """``actions.base.record`` writes the audit row and puts the patient's stored worklist lines out of date;
    a module that wrote clinical records with the audit trail's own ``record`` would leave them stale."""
    for package in ("clinic", "api", "web"):
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "isotrack.audit.trail":
                    names = {alias.name for alias in node.names}
                    allowed = str(path.relative_to(SRC)) in ("clinic/actions/base.py", "api/tokens.py")
                    assert "record" not in names or allowed, path
                if isinstance(node, ast.ImportFrom) and node.module == "isotrack.audit":
                    assert str(path.relative_to(SRC)) == "clinic/actions/base.py", path
