"""The ``alliance`` command line."""

from __future__ import annotations

import typer

from alliance.cli import analyze, instruments, score, simulate

app = typer.Typer(
    name="alliance",
    help="Measure, monitor and repair the therapeutic alliance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(instruments.app, name="instruments")
app.command("score")(score.score_command)
app.command("analyze")(analyze.analyze_command)
app.command("simulate")(simulate.simulate_command)


def main() -> None:
    app()
