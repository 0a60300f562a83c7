"""The ``alliance`` command line."""

from __future__ import annotations

import typer

from alliance.cli import (
    accounts,
    alerts,
    analyze,
    backup,
    clinic,
    exchange,
    instruments,
    interop,
    learn,
    score,
    simulate,
    transcripts,
)

app = typer.Typer(
    name="alliance",
    help="Measure, monitor and repair the therapeutic alliance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(instruments.app, name="instruments")
app.add_typer(learn.app, name="learn")
app.add_typer(transcripts.app, name="transcripts")
app.command("score")(score.score_command)
app.command("init")(clinic.init_command)
app.command("serve")(clinic.serve_command)
app.command("demo")(clinic.demo_command)
app.command("remind")(clinic.remind_command)
app.add_typer(alerts.app, name="alerts")
accounts.register(app)
backup.register(app)
app.add_typer(clinic.audit_app, name="audit")
interop.register(app)
exchange.register(app)
app.command("analyze")(analyze.analyze_command)
app.command("simulate")(simulate.simulate_command)


def main() -> None:
    app()
