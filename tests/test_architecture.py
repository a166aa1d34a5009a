"""The import rules that carry the design: web, api, notify and handouts call clinic; clinic calls core;
core calls nothing of the project and no framework; rows become the core's facts in one module,
clinic/records.py."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "isotrack"
MAPPING = "clinic/records.py"  # the one mapping from database rows to the core's facts


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
    for package in ("web", "api", "notify", "handouts"):
        if not (SRC / package).exists():
            continue
        for path, names in imports_of(package).items():
            assert not any(name.startswith("isotrack.core") for name in names), (
                f"{path} imports the core: pages, the API, FHIR and the feeds ask the clinic, whose facts "
                f"come from {MAPPING}"
            )


def test_only_the_demo_app_and_the_tests_know_the_demo():
    """The demo practices are for development (installed with DEBUG on): nothing the app runs imports them."""
    for package in ("core", "clinic", "audit", "web", "notify", "api", "handouts"):
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
    for package in ("clinic", "api", "web", "handouts"):
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "isotrack.audit.trail":
                    names = {alias.name for alias in node.names}
                    # the API's credentials (tokens, the EHR's signing keys) are no clinical records
                    credentials = ("api/tokens.py", "api/cds_clients.py")
                    allowed = str(path.relative_to(SRC)) in ("clinic/actions/base.py", *credentials)
                    assert "record" not in names or allowed, path
                if isinstance(node, ast.ImportFrom) and node.module == "isotrack.audit":
                    assert str(path.relative_to(SRC)) == "clinic/actions/base.py", path


# ------------------------------------------------------------------------------------------------ one mapping


def _parsed(relative: str) -> ast.Module:
    return ast.parse((SRC / relative).read_text(encoding="utf-8"))


def _fact_classes() -> set[str]:
    """The core's facts: the dataclasses of core/course.py (CourseFile and everything it holds)."""
    return {
        node.name
        for node in _parsed("core/course.py").body
        if isinstance(node, ast.ClassDef) and any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    }


def _course_file_fields() -> set[str]:
    (course_file,) = (
        node
        for node in _parsed("core/course.py").body
        if isinstance(node, ast.ClassDef) and node.name == "CourseFile"
    )
    return {item.target.id for item in course_file.body if isinstance(item, ast.AnnAssign)}


def _bound(tree: ast.Module) -> dict[str, str]:
    """What each imported name stands for: ``from isotrack.core import course as facts`` binds ``facts`` to
    ``isotrack.core.course``."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _dotted(node: ast.AST, bound: dict[str, str]) -> str | None:
    """``facts.Visit`` as ``isotrack.core.course.Visit``; None for anything but an imported name."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in bound:
        return None
    return ".".join([bound[node.id], *reversed(attributes)])


def _reading_only(tree: ast.Module) -> set[int]:
    """The nodes that name a class without building anything: annotations and isinstance's classes."""
    nodes: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            nodes += [a.annotation for a in arguments if a.annotation is not None]
            nodes += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            nodes += node.args[1:]
    return {id(inner) for outer in nodes for inner in ast.walk(outer)}


def facts_built_in(relative: str) -> list[tuple[int, str]]:
    """Where a module builds the core's facts: it names a fact class (but to annotate or to test a value's
    class), or replaces a field of a CourseFile (``dataclasses.replace(facts, doses=...)``)."""
    tree = _parsed(relative)
    bound, reading, classes = _bound(tree), _reading_only(tree), _fact_classes()
    fields = _course_file_fields()
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name | ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and id(node) not in reading
        ):
            module, _, name = (_dotted(node, bound) or "").rpartition(".")
            if module in ("isotrack.core", "isotrack.core.course") and name in classes:
                found.append((node.lineno, name))
        if isinstance(node, ast.Call) and _dotted(node.func, bound) == "dataclasses.replace":
            replaced = {keyword.arg for keyword in node.keywords} & fields
            found += [(node.lineno, f"CourseFile.{field}") for field in sorted(replaced, key=str)]
    return found


def _modules() -> list[str]:
    return sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.relative_to(SRC).parts
    )


def test_rows_become_the_cores_facts_only_in_the_records_module():
    """A new kind of record reaches the core through one mapping: no other module builds a fact."""
    elsewhere = [
        f"{relative}:{line} builds {what}"
        for relative in _modules()
        if relative != MAPPING and not relative.startswith("core/")
        for line, what in facts_built_in(relative)
    ]
    assert not elsewhere, (
        f"rows become the core's facts only in {MAPPING} (course_facts, facts_by_course, facts_of, lab_fact, "
        f"mood_fact, policy_of); ask it instead: {elsewhere}"
    )


def test_the_records_module_builds_every_kind_of_fact():
    """The check above sees what it looks for: the mapping itself builds each fact class of the core, so a
    fact class the core adds fails here until the mapping reads it from its rows."""
    built = {what for _, what in facts_built_in(MAPPING)}
    assert _fact_classes() - built == set(), f"{MAPPING} does not build {_fact_classes() - built}"


def _judging_functions() -> set[str]:
    """The core's entry points that judge a course: their first parameter is a CourseFile."""
    exported = {
        alias.asname or alias.name
        for node in _parsed("core/__init__.py").body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    return {
        node.name
        for path in (SRC / "core").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        and node.name in exported
        and node.args.args
        and "CourseFile" in ast.unparse(node.args.args[0].annotation or ast.Constant(""))
    }


def test_every_module_that_judges_a_stored_course_takes_its_facts_from_the_records_module():
    judging = _judging_functions()
    judges: dict[str, tuple[set[str], bool]] = {}
    for relative in _modules():
        if relative.startswith("core/") or relative in (
            MAPPING,
            "evaluate_command.py",
        ):  # a file, no database
            continue
        tree = _parsed(relative)
        bound = _bound(tree)
        called = {
            name
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            for module, _, name in [(_dotted(node.func, bound) or "").rpartition(".")]
            if module == "isotrack.core" and name in judging
        }
        if called:
            mapping = "isotrack.clinic.records"
            reads = any(v == mapping or v.startswith(f"{mapping}.") for v in bound.values())
            judges[relative] = (called, reads)
    # the pages' queries, the worklist, the calendar, the visit and the dose previews, the actions' checks
    assert {"clinic/queries.py", "clinic/worklist_entries.py", "clinic/calendar.py"} <= set(judges)
    for relative, (called, reads) in judges.items():
        assert reads, (
            f"{relative} hands facts to core.{sorted(called)} without reading them through {MAPPING}"
        )
