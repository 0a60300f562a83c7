"""The README's first lines are the two commands; CI runs the second one (with the pinned
versions: tests/test_constraints.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("```bash")
    end = lines.index("```", start)
    return lines[start + 1 : end]


def test_readme_starts_with_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines.index("```bash") <= 3
    commands = readme_commands()
    assert len(commands) == 2
    assert "alliance" in commands[0]
    assert commands[1].endswith("pytest -n auto")
