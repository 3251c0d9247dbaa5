"""The API's packages depend on each other in one direction, read from the source with `ast`: views never
import views, no service module imports a view, `audit` imports no domain package, and the packages'
service code forms no cycle beyond the ones still listed. Views (and `deps`, their request helpers) are the
top layer of every package and `main` the composition root that wires them all, so their imports don't set
the direction between packages."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import triage_api

ROOT = Path(triage_api.__file__).parent
TOP = {"main", "deps"}  # the composition root and the views' request helpers
# Cycles between packages still to break; the test fails when one is gone, so the list only shrinks. None is
# left: where a lower package needs a higher one, `main.create_app` passes it in (flags gets the router as a
# `flags.rerouting.Rerouter`, the notifier the learning gauges).
KNOWN_CYCLES: set[frozenset[str]] = set()


@cache
def modules() -> dict[str, Path]:
    """Every module of triage_api but the migrations, by dotted name below `triage_api`."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = [p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__"]
        if parts and parts[0] != "migrations":
            found[".".join(parts)] = path
    return found


def imports(path: Path) -> set[str]:
    """The triage_api modules `path` imports; `from triage_api.x import y` counts `x.y` when y is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            name = target.removeprefix("triage_api.")
            if target.startswith("triage_api.") and name in modules():
                found.add(name)
    return found


@cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(imports(path)) for name, path in modules().items()}


def package(module: str) -> str:
    return module.split(".")[0]


def is_view(module: str) -> bool:
    return module.rpartition(".")[2].endswith("views")


def package_cycles() -> set[frozenset[str]]:
    """The groups of packages (top-level modules count as their own) whose service code reaches each other."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module in TOP or is_view(module):
            continue
        edges.setdefault(package(module), set()).update(package(t) for t in targets)

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), set()) - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    reachable = {node: reach(node) for node in edges}
    return {
        frozenset({node, *(other for other in reachable[node] if node in reachable.get(other, set()))})
        for node in edges
        if any(node in reachable.get(other, set()) for other in reachable[node] if other != node)
    }


def test_views_never_import_views_and_service_code_never_imports_views() -> None:
    wrong = {
        (module, target)
        for module, targets in graph().items()
        if module != "main"
        for target in targets
        if is_view(target) and target != module
    }
    assert wrong == set()


def test_audit_imports_no_domain_package() -> None:
    domains = {m for m, path in modules().items() if path.name == "__init__.py"} - {"audit"}
    wrong = {
        (module, target)
        for module, targets in graph().items()
        if package(module) == "audit" and not is_view(module)
        for target in targets
        if package(target) in domains
    }
    assert wrong == set()


def test_the_packages_form_no_cycle_beyond_the_known_ones() -> None:
    cycles = package_cycles()
    assert cycles - KNOWN_CYCLES == set(), "new cycles between packages"
    assert KNOWN_CYCLES - cycles == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


def test_the_reading_of_imports_finds_what_is_there() -> None:
    # the checks above see something: a plain import, a module imported by name, and a view from the root
    assert {"flags.models", "flags.sla", "flags.rerouting"} <= graph()["routing.service"]
    assert {"flags", "flags.escalation"} <= graph()["dashboard.views"]
    assert "flags.desk_views" in graph()["main"]
    assert is_view("staff.admin_views") and not is_view("flags.service")
