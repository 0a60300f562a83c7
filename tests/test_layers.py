"""Imports go down the layers only (DESIGN.md §3)."""

from __future__ import annotations

import ast
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
