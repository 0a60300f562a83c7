"""Imports go down the layers only (DESIGN.md §3)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "alliance"

FORBIDDEN = {
    "instruments": (
        "store",
        "services",
        "web",
        "cli",
        "feedback",
        "interop",
        "reports",
        "analytics",
    ),
    "analytics": ("store", "services", "web", "cli", "feedback", "interop", "reports"),
    "feedback": ("store", "services", "web", "cli", "interop", "reports"),
    "learning": (
        "store",
        "services",
        "web",
        "cli",
        "feedback",
        "interop",
        "reports",
        "analytics",
    ),
    "store": ("services", "web", "cli"),
    "services": ("web", "cli"),
    "interop": ("store", "services", "web", "cli"),
    "reports": ("web", "cli"),
    "transcripts": ("store", "services", "web", "cli", "feedback", "interop", "reports"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_down_only(layer: str) -> None:
    folder = SRC / layer
    if not folder.exists():
        pytest.skip(f"{layer}/ does not exist yet")
    bad = []
    for path in folder.rglob("*.py"):
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "alliance" and len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(SRC)} imports {module}")
    assert bad == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from alliance.store import models\nimport alliance.web.app\n")
    assert {"alliance.store", "alliance.web.app"} <= imported_modules(module)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycles(folder: Path) -> list[list[str]]:
    """Cycles in the graph of imports among the modules under ``folder`` (lazy ones too)."""
    modules = {module_name(path): path for path in folder.rglob("*.py")}
    graph = {
        name: sorted(m for m in imported_modules(path) if m in modules and m != name)
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_services_modules_import_each_other_without_a_circle() -> None:
    assert import_cycles(SRC / "services") == []


def test_services_are_grouped_by_concept() -> None:
    folder = SRC / "services"
    groups = sorted(p.name for p in folder.iterdir() if (p / "__init__.py").exists())
    shared = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    assert groups == ["accounts", "exchange", "monitoring", "operations", "records"]
    assert shared == ["audit", "context", "errors", "mail", "webhooks"]  # outbound effects


def test_the_cycle_finder_sees_a_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "alliance" / "loop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from alliance.loop.b import x\n")
    (package / "b.py").write_text("def f():\n    from alliance.loop.a import y\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "alliance")
    assert import_cycles(package) == [["alliance.loop.a", "alliance.loop.b", "alliance.loop.a"]]
