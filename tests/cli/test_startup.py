"""The command line answers at once and reads well (issue 16, item 7): ``alliance --help``
imports no command's module, ``instruments list`` none of the data or analysis libraries;
help text wraps at the terminal's width, not at the docstring's; tables fit 80 columns."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alliance.cli import COMMANDS, app, load, reflow
from alliance.instruments.registry import default_registry

DATA_LIBRARIES = ("pandas", "sqlalchemy", "alembic", "statsmodels", "scipy", "fhir")

# A fresh interpreter per command: a module one of them imports stays loaded.
PROBE = """
import sys
from typer.testing import CliRunner
from alliance.cli import app
result = CliRunner().invoke(app, {args!r})
assert result.exit_code == 0, result.output
print(" ".join(sorted(name for name in sys.modules if not name.startswith("_"))))
"""


def _modules_after(args: list[str]) -> set[str]:
    code = PROBE.format(args=args)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_help_imports_no_command_module_and_no_library() -> None:
    loaded = _modules_after(["--help"])
    assert not {m for m in loaded if m.startswith("alliance.cli.")}
    assert not {m for m in loaded if m.split(".")[0] in (*DATA_LIBRARIES, "numpy")}


def test_instrument_list_loads_no_data_or_analysis_library() -> None:
    loaded = _modules_after(["instruments", "list"])
    assert not {m for m in loaded if m.split(".")[0] in DATA_LIBRARIES}


def _defined_apps() -> dict[str, Any]:
    """Every module-level Typer app and ``*_command`` function of the command modules."""
    found = {}
    for name in sorted({entry.target.split(":")[0] for entry in COMMANDS.values()}):
        module = importlib.import_module(f"alliance.cli.{name}")
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer) or (
                attribute.endswith("_command")
                and getattr(value, "__module__", "") == module.__name__
            ):
                found[f"{name}:{attribute}"] = value
    return found


def _reachable(target: Any) -> list[Any]:
    """``target`` and every command function and app a Typer app registers, recursively."""
    found = [target]
    if isinstance(target, typer.Typer):
        found += [info.callback for info in target.registered_commands]
        for group in target.registered_groups:
            found += _reachable(group.typer_instance)
    return found


def test_the_command_table_reaches_every_app_and_command_the_modules_define() -> None:
    reached: list[Any] = []
    for entry in COMMANDS.values():
        module, attribute = entry.target.split(":")
        reached += _reachable(getattr(importlib.import_module(f"alliance.cli.{module}"), attribute))
    unreached = [
        key for key, value in _defined_apps().items() if not any(value is r for r in reached)
    ]
    assert unreached == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_loads_under_its_name_with_its_summary(name: str) -> None:
    command = load(name)
    assert command.name == name
    assert command.short_help == COMMANDS[name].summary
    assert command.help, f"{name} has no help"
    if hasattr(command, "commands"):  # a group: its summary is its own help's first paragraph
        assert command.help.split("\n\n")[0] == COMMANDS[name].summary


def test_root_help_lists_every_command_under_its_panel() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert f" {name} " in result.output and entry.summary in result.output
    panels = [entry.panel for entry in COMMANDS.values()]
    positions = [result.output.index(f"─ {panel} ") for panel in dict.fromkeys(panels)]
    assert positions == sorted(positions)


def test_unknown_command_is_refused() -> None:
    result = CliRunner().invoke(app, ["nonesuch"])
    assert result.exit_code == 2 and "nonesuch" in result.output


def test_reflow_joins_lines_inside_paragraphs_only() -> None:
    assert reflow("One line\nand its rest.\n\nSecond\nparagraph.") == (
        "One line and its rest.\n\nSecond paragraph."
    )
    assert reflow("\b\nkept\nas is") == "\b\nkept\nas is"


def _all_commands(command: Any, path: str) -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _all_commands(sub, f"{path} {name}")
    return found


def test_no_help_text_keeps_a_docstring_line_break() -> None:
    for name in COMMANDS:
        for path, command in _all_commands(load(name), name):
            texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
            for text in texts:
                for paragraph in text.split("\n\n"):
                    assert paragraph.startswith("\b") or "\n" not in paragraph, (path, paragraph)


def test_subcommand_help_wraps_at_80_columns_without_a_ragged_break() -> None:
    result = CliRunner().invoke(app, ["user", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    # The docstring broke after "(twice);": the terminal's wrap now decides.
    assert "asked for (twice);\n" not in result.output.replace("│", "").replace(" \n", "\n")


def test_instrument_list_fits_80_columns_and_breaks_no_word() -> None:
    result = CliRunner().invoke(app, ["instruments", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = set(result.output.split())
    for instrument in default_registry():
        assert instrument.id in words
        for word in instrument.title.replace(",", " ").split():
            assert any(word in w for w in words), (instrument.id, word)
