"""The ``alliance`` command line.

Each command's module is imported only when that command runs (or its own ``--help`` is
asked for): ``alliance --help`` lists the commands from the table below without importing
pandas, SQLAlchemy or the analysis libraries, so it answers at once. The table holds each
command's one-line summary; ``tests/cli/test_startup.py`` checks that it names every command
the modules define and that every entry loads.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

START = "Getting started"
CLINIC = "Running a clinic"
EXCHANGE = "Exchanging data"
RESEARCH = "Research"


@dataclass(frozen=True)
class Entry:
    """Where a command lives (``module:attribute``, a Typer app or a command function), its
    one-line summary and the help panel it is listed under."""

    target: str
    summary: str
    panel: str


COMMANDS: dict[str, Entry] = {
    "demo": Entry("clinic:demo_command", "Create a demo clinic and serve it.", START),
    "init": Entry("clinic:init_command", "Create or migrate the database, then check it.", START),
    "serve": Entry("clinic:serve_command", "Serve the web app and API.", START),
    "org": Entry("accounts:org_app", "Organizations (clinics or services).", CLINIC),
    "user": Entry("accounts:user_app", "User accounts.", CLINIC),
    "client": Entry("retention:client_app", "Clients: erasure on request.", CLINIC),
    "retention": Entry(
        "retention:retention_app", "Records past the retention period: list, purge.", CLINIC
    ),
    "remind": Entry("clinic:remind_command", "Mail reminders for unused client links.", CLINIC),
    "alerts": Entry("alerts:app", "Risk alerts sent out of the app.", CLINIC),
    "audit": Entry("clinic:audit_app", "The audit trail.", CLINIC),
    "backup": Entry("backup:backup_command", "Copy the database while it serves.", CLINIC),
    "restore": Entry("backup:restore_command", "Restore a backup and prove it.", CLINIC),
    "import": Entry("exchange:import_command", "Import administrations, all or nothing.", EXCHANGE),
    "export": Entry(
        "exchange:export_app",
        "Exports from the clinic's database (FHIR, tables, research).",
        EXCHANGE,
    ),
    "study": Entry(
        "exchange:study_app", "Research studies (their exports' settings and secret).", EXCHANGE
    ),
    "fhir": Entry(
        "interop:fhir_app", "FHIR R4 resources: Questionnaires, Bundles, imports.", EXCHANGE
    ),
    "redcap": Entry(
        "interop:redcap_app", "REDCap data dictionaries and records imports.", EXCHANGE
    ),
    "deidentify": Entry(
        "interop:deidentify_command",
        "Write the de-identified research version of a table.",
        EXCHANGE,
    ),
    "score": Entry("score:score_command", "Score every row of a table of answers.", RESEARCH),
    "analyze": Entry(
        "analyze:analyze_command", "Detect ruptures and risk, summarise, fit models.", RESEARCH
    ),
    "simulate": Entry("simulate:simulate_command", "Simulate a clinic, with its truth.", RESEARCH),
    "instruments": Entry(
        "instruments:app",
        "The instrument library: definitions, sources and wording packs.",
        RESEARCH,
    ),
    "transcripts": Entry(
        "transcripts:app",
        "Alliance-relevant language signals from session transcripts (research signal; not "
        "validated against client-reported alliance).",
        RESEARCH,
    ),
    "learn": Entry(
        "learn:app", "Clinician learning: a self-check on establishing the alliance.", RESEARCH
    ),
}

_SINGLE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")


def reflow(text: str | None) -> str | None:
    """Help text with the docstring's hard line breaks removed inside paragraphs, so the
    terminal wraps it at its own width (a paragraph starting with ``\\b`` keeps its lines)."""
    if not text:
        return text
    paragraphs = text.split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else _SINGLE_BREAK.sub(" ", p) for p in paragraphs)


def _reflowed(command: Any) -> Any:
    """``command`` (a Typer-built command or group) with its own help, its options' and its
    subcommands' reflowed."""
    command.help = reflow(command.help)
    for param in command.params:
        if hasattr(param, "help"):
            param.help = reflow(param.help)
    for sub in getattr(command, "commands", {}).values():
        _reflowed(sub)
    return command


def load(name: str) -> Any:
    """Import the module of command ``name`` and build its command (or group)."""
    entry = COMMANDS[name]
    module_name, attribute = entry.target.split(":")
    target: Any = getattr(importlib.import_module(f"alliance.cli.{module_name}"), attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        # Added as a group, as `alliance NAME SUB` expects even when the app has one command
        # (alone, Typer would make a one-command app that command itself).
        holder.add_typer(target, name=name)
        command = typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]
    else:
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    command.short_help = entry.summary
    return _reflowed(command)


class LazyGroup(TyperGroup):
    """The root group: lists commands from :data:`COMMANDS` and imports one only to run it."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the root's --help: name, summary and panel only, nothing imported
            return TyperCommand(cmd_name, short_help=entry.summary, rich_help_panel=entry.panel)
        return load(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="alliance",
    cls=LazyGroup,
    help="Measure, monitor and repair the therapeutic alliance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """The commands themselves come from :data:`COMMANDS` (Typer needs a callback to build a
    group without registered commands)."""


def main() -> None:
    app()
