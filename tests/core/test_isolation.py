"""The core is pure: it imports no Django and nothing of the project outside isotrack.core, and never reads
the clock (the day is always a parameter)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import isotrack.core

CORE = Path(isotrack.core.__file__).resolve().parent


def test_importing_the_core_loads_no_django_and_no_other_project_module() -> None:
    probe = "import sys, isotrack.core, isotrack.evaluate_command\nprint('\\n'.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = done.stdout.split()
    assert not [m for m in modules if m == "django" or m.startswith("django.")]
    project = [m for m in modules if m == "isotrack" or m.startswith("isotrack.")]
    outside = [
        m
        for m in project
        if m not in ("isotrack", "isotrack.evaluate_command") and not m.startswith("isotrack.core")
    ]
    assert outside == []
    assert "isotrack.core.rules.us_ipledge_2026" in project


def core_sources() -> list[Path]:
    sources = sorted(CORE.rglob("*.py"))
    assert len(sources) >= 10
    return sources


def test_no_core_file_imports_django_or_the_rest_of_the_project() -> None:
    for source in core_sources():
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("django"), f"{source.name} imports {name}"
                if name.startswith("isotrack"):
                    assert name.startswith("isotrack.core") or name == "isotrack", (
                        f"{source.name} imports {name}"
                    )


def test_no_core_file_reads_the_clock() -> None:
    clock = {
        ("date", "today"),
        ("datetime", "now"),
        ("datetime", "today"),
        ("datetime", "utcnow"),
        ("time", "time"),
    }
    for source in core_sources():
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Attribute):
                owner = node.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                assert (owner_name, node.attr) not in clock, f"{source.name}:{node.lineno} reads the clock"
