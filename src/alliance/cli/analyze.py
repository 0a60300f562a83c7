"""``alliance analyze``: signals, per-client summary, models and an HTML report from a file.

The command imports the analysis (pandas, statsmodels) only when it runs, so that ``alliance
--help`` and the other commands start quickly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance.cli.common import DefinitionsOption


def analyze_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet: item_1 … item_k plus client, episode, session (optionally "
            "date, perspective, stance, clinician, rupture_reported, end_reason), or tidy "
            "scores (scale and score columns).",
            exists=True,
            dir_okay=False,
        ),
    ],
    instrument: Annotated[
        str, typer.Option("--instrument", "-i", help="Alliance instrument id, e.g. wai-sr.")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the outputs (created if needed).")
    ],
    outcome: Annotated[
        Path | None,
        typer.Option(help="A second file with outcome answers.", exists=True, dir_okay=False),
    ] = None,
    outcome_instrument: Annotated[
        str | None, typer.Option(help="Outcome instrument id, e.g. phq-9.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Feedback configuration (YAML or JSON): rules and thresholds.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Detect ruptures, repairs, off-track and risk signals; summarise each client; fit the
    alliance–outcome models when outcome answers are given; write signals.csv, clients.csv,
    models.csv, problems.csv and report.html to the output folder (all or nothing). Rows that
    repeat or contradict another row of the same rating, and session dates that run backwards,
    are listed in problems.csv and the rest is analysed; a risk answer in a contradicted row
    still raises its signal."""
    from alliance.cli.analysis import run  # noqa: PLC0415 - pandas and statsmodels load only here

    run(file, instrument, out_dir, outcome, outcome_instrument, config, definitions)
