"""``alliance simulate``: write a synthetic clinic's answers and the truth behind them."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from alliance.cli.common import fail, out
from alliance.files import AtomicTableWriter, TableFileError
from alliance.simulate import simulate_clinic
from alliance.text import counted


def simulate_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the files.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same clinic).")] = 1,
    clients: Annotated[int, typer.Option(help="Number of clients.")] = 100,
    clinicians: Annotated[int, typer.Option(help="Number of clinicians.")] = 8,
    sessions: Annotated[int, typer.Option(help="Planned sessions per episode.")] = 10,
) -> None:
    """Simulate a clinic: wai-sr.csv (client ratings and clinician predictions, with each
    episode's end_reason), phq-9.csv, and the truth: ruptures.csv, episodes.csv,
    sessions.csv, clinicians.csv."""
    try:
        clinic = simulate_clinic(
            seed=seed, n_clients=clients, n_clinicians=clinicians, sessions=sessions
        )
    except ValueError as exc:
        fail(str(exc))
    ends = clinic.episodes[["client", "episode", "end_reason"]]
    files = {
        "wai-sr.csv": clinic.administrations["wai-sr"].merge(ends, on=["client", "episode"]),
        "phq-9.csv": clinic.administrations["phq-9"],
        "ruptures.csv": clinic.ruptures,
        "episodes.csv": clinic.episodes,
        "sessions.csv": clinic.sessions,
        "clinicians.csv": clinic.clinicians,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            for name, frame in files.items():
                writer = stack.enter_context(AtomicTableWriter(out_dir / name))
                writer.write(_plain(frame))
    except (OSError, TableFileError) as exc:
        fail(f"cannot write to {out_dir}: {exc}")
    n_ruptures = len(clinic.ruptures)
    dropped = int((clinic.episodes["end_reason"] == "dropped_out").sum())
    out.print(
        f"Simulated {counted(clients, 'client')} of {counted(clinicians, 'clinician')} "
        f"(seed {seed}): "
        f"{len(clinic.sessions):,} sessions, {n_ruptures} ruptures "
        f"({int(clinic.ruptures['repaired'].sum())} repaired), {dropped} dropouts. "
        f"Wrote {', '.join(files)} to {out_dir}"
    )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and other objects as text, so every CSV reader sees the same values."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None else str(v))
    return out
