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


def test_every_setting_is_in_the_readme() -> None:
    """An operator learns the settings from the README's table, so each field of Settings
    (secrets read from files count by their _FILE name) must be there."""
    from alliance.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `")
        for line in readme.splitlines()
        if line.startswith("| `ALLIANCE_")
    }
    fields = {f"ALLIANCE_{name.upper()}" for name in Settings.model_fields}
    fields -= {"ALLIANCE_SMTP_PASSWORD"}  # named beside its _FILE variant
    assert fields - rows == set()
    assert "/api/v1/health" in readme
