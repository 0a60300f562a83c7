"""``alliance transcripts``: alliance-relevant language signals from a session transcript."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Table

from alliance.cli.common import err, fail, out
from alliance.files import spreadsheet_safe
from alliance.transcripts import (
    DISCLAIMER,
    EmbeddingModelError,
    HashingEmbedder,
    MiniLMEmbedder,
    TranscriptAnalyzer,
    TranscriptError,
    TranscriptResult,
    analyze_transcript,
    model_installed,
    read_transcript,
)
from alliance.transcripts.embedding import CachedEmbedder, Embedder
from alliance.transcripts.statements import LATEST

app = typer.Typer(
    add_completion=False,
    help=f"Alliance-relevant language signals from session transcripts ({DISCLAIMER}).",
    no_args_is_help=True,
)

TABLES = ("indices", "evidence", "ruptures", "flags", "trajectory", "turns")


class EmbedderChoice(StrEnum):
    auto = "auto"
    model = "model"
    hashing = "hashing"


@app.command("analyze")
def analyze_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Transcript: .csv or .json (speaker, text, optional start) or .txt "
            "('Client: …' lines).",
            exists=True,
            dir_okay=False,
        ),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for the results (created if absent).", file_okay=False
        ),
    ],
    embedder: Annotated[
        EmbedderChoice,
        typer.Option(help="auto: the MiniLM model when installed, else hashing."),
    ] = EmbedderChoice.auto,
    statements: Annotated[str, typer.Option(help="Statement set version.")] = LATEST,
    window_turns: Annotated[int, typer.Option(help="Trajectory window without times.")] = 20,
    window_minutes: Annotated[float, typer.Option(help="Trajectory window with times.")] = 5.0,
) -> None:
    """Write construct indices, evidence turns, rupture flags and a trajectory to a folder.

    Every output says: research signal; not validated against client-reported alliance.
    """
    try:
        analyzer = TranscriptAnalyzer(
            statements=statements, window_turns=window_turns, window_minutes=window_minutes
        )
        turns = read_transcript(file)
        result = analyze_transcript(turns, embedder=_embedder(embedder), analyzer=analyzer)
    except (TranscriptError, EmbeddingModelError, ValueError) as exc:
        fail(f"{exc}; nothing was written")
    try:
        write_result(result, out_dir, source=file.name)
    except OSError as exc:
        fail(f"{out_dir}: cannot write the results ({exc.strerror or exc}); nothing was written")
    _print(result)
    err.print(f"Wrote {', '.join(f'{t}.csv' for t in TABLES)} and summary.json to {out_dir}")


def _embedder(choice: EmbedderChoice) -> Embedder:
    if choice is EmbedderChoice.hashing:
        return HashingEmbedder()
    if choice is EmbedderChoice.model or model_installed():
        return CachedEmbedder(MiniLMEmbedder())
    return HashingEmbedder()


def write_result(result: TranscriptResult, out_dir: Path, *, source: str) -> None:
    """Write every table and ``summary.json``; all files appear together or none do.

    The files are written into a hidden folder beside ``out_dir`` and then moved into place;
    a failure before the move leaves ``out_dir`` as it was.
    """
    parent = out_dir.parent
    if not parent.is_dir():
        raise FileNotFoundError(2, f"the folder {parent} does not exist")
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    try:
        for name in TABLES:
            frame: pd.DataFrame = getattr(result, name).copy()
            frame.insert(0, "disclaimer", DISCLAIMER)
            spreadsheet_safe(frame).to_csv(staging / f"{name}.csv", index=False)
        summary = {
            "source": source,
            **result.meta,
            "indices": result.indices.to_dict("records"),
            "ruptures": result.ruptures.to_dict("records"),
        }
        (staging / "summary.json").write_text(
            json.dumps(_plain(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        if not out_dir.exists():
            os.replace(staging, out_dir)
            return
        for path in staging.iterdir():
            os.replace(path, out_dir / path.name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)


def _plain(value: object) -> object:
    """JSON-ready: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _print(result: TranscriptResult) -> None:
    meta = result.meta
    out.print(
        f"[bold]Transcript signals[/] — {meta['turns']} turns ({meta['client_turns']} client), "
        f"embedder {meta['embedder']}, statements v{meta['statements_version']}"
    )
    out.print(f"[yellow]{DISCLAIMER}[/]")
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title="Construct indices",
        caption="higher: closer to positive statements",
    )
    for column in ("construct", "client", "clinician", "both"):
        table.add_column(column, justify="left" if column == "construct" else "right")
    ix = result.indices
    values = {
        (str(c), str(r)): float(v)
        for c, r, v in zip(ix["construct"], ix["role"], ix["index"], strict=True)
    }
    for construct in ("bond", "task", "goal"):
        roles = ("client", "clinician", "both")
        table.add_row(construct, *(_num(values[(construct, r)]) for r in roles))
    out.print(table)
    flags = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Rupture marker flags (client turns)")
    for column in ("turn", "family", "marker", "rule"):
        flags.add_column(column, justify="right" if column == "turn" else "left")
    for row in result.flags.itertuples():
        flags.add_row(str(row.turn), str(row.family), str(row.marker), str(row.rule))
    if result.flags.empty:
        out.print("No rupture marker flags.")
    else:
        out.print(flags)


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{value:+.3f}"
