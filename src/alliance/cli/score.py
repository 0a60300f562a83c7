"""``alliance score``: score a CSV or Parquet file of answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from alliance.cli.common import DefinitionsOption, err, fail, load_registry, out, warn
from alliance.files import AtomicTableWriter, TableFileError, count_rows, read_chunks, read_columns
from alliance.instruments.model import ITEM_ID, Instrument
from alliance.instruments.scoring import MISSING_TEXT, AnswerError, Scores, score

PROGRESS_FROM_ROWS = 50_000


def score_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet file with columns item_1 … item_k.", exists=True, dir_okay=False
        ),
    ],
    instrument: Annotated[
        str, typer.Option("--instrument", "-i", help="Instrument id, e.g. wai-sr.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            dir_okay=False,
            help="Write the scores here (.csv or .parquet). Without it, print a table.",
        ),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Instrument version (default: newest).")
    ] = None,
    keep_items: Annotated[bool, typer.Option(help="Also write the item columns.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to print when no output file is given.")] = 20,
    definitions: DefinitionsOption = None,
) -> None:
    """Score every row of FILE. Other columns are carried through unchanged; one column is
    added per scale (named by scale id), plus <scale>_band, <scale>_<cut-off> and risk columns
    where the instrument has them."""
    registry = load_registry(definitions)
    try:
        inst = registry.get(instrument, version)
    except KeyError as exc:
        fail(exc.args[0])
    if output is not None and output.resolve() == file.resolve():
        fail("the output file would overwrite the input; choose another name")
    try:
        columns = read_columns(file)
        _check_columns(inst, columns, keep_items)
        total_rows = count_rows(file)
    except (TableFileError, AnswerError) as exc:
        fail(str(exc))

    refused = {s.id: s.note for s in inst.scales if not s.verified}
    if len(refused) == len(inst.scales):
        why = " ".join(dict.fromkeys(str(note) for note in refused.values()))
        fail(
            f"{inst.id} {inst.version} cannot be scored: the scoring key of its scales "
            f"({', '.join(refused)}) is not confirmed from a published source. {why} "
            "A site that holds the confirmed key can supply it in its own definition file "
            "(--definitions DIR); see docs/instruments.md."
        )
    for scale_id, note in refused.items():
        warn(f"scale {scale_id} is not computed: its scoring key is not confirmed ({note})")

    is_csv = file.suffix.lower() == ".csv"
    try:
        if output is None:
            _print_scores(inst, file, total_rows, keep_items, limit, is_csv)
        else:
            _write_scores(inst, file, output, total_rows, keep_items, is_csv)
    except AnswerError as exc:
        line = f" (line {exc.row + 1} of {file.name})" if is_csv and exc.row is not None else ""
        fail(f"{file}: {exc}{line}; nothing was written")
    except TableFileError as exc:
        fail(f"{exc}; nothing was written")


def _check_columns(inst: Instrument, columns: list[str], keep_items: bool) -> None:
    dummy = pd.DataFrame(columns=columns)
    item_columns = [c for c in columns if ITEM_ID.match(c)]
    unknown = [c for c in item_columns if c not in inst.item_ids]
    absent = [c for c in inst.item_ids if c not in columns]
    if unknown or absent:
        # the scorer words these errors; reuse it on an empty frame of the same columns
        score(inst, dummy)
    carried = [c for c in columns if not ITEM_ID.match(c) or keep_items]
    added = set(_output_columns(inst))
    clash = [c for c in carried if c in added]
    if clash:
        raise AnswerError(
            f"the input already has a column named {clash[0]}, which scoring adds; rename it first",
            column=clash[0],
        )


def _output_columns(inst: Instrument) -> list[str]:
    names: list[str] = []
    for scale in inst.scales:
        if not scale.verified:
            continue
        names.append(scale.id)
        if scale.bands:
            names.append(f"{scale.id}_band")
        names += [f"{scale.id}_{c.id}" for c in scale.cutoffs if c.verified]
    if inst.risk_items:
        names += ["risk", "risk_unanswered"]
    return names


def _result(chunk: pd.DataFrame, scores: Scores, keep_items: bool) -> pd.DataFrame:
    carried = chunk[[c for c in chunk.columns if keep_items or not ITEM_ID.match(str(c))]]
    added = scores.to_frame(index=chunk.index)
    for column in added.columns:
        if isinstance(added[column].dtype, pd.CategoricalDtype):
            added[column] = added[column].astype("string")
    return pd.concat([carried, added], axis=1)


def _progress(total_rows: int) -> Progress:
    return Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=total_rows < PROGRESS_FROM_ROWS,
    )


def _write_scores(
    inst: Instrument, file: Path, output: Path, total_rows: int, keep_items: bool, is_csv: bool
) -> None:
    empty: dict[str, int] = {}
    risk_rows = unanswered = 0
    with _progress(total_rows) as progress, AtomicTableWriter(output) as writer:
        task = progress.add_task("scoring", total=total_rows)
        for chunk in read_chunks(file, numeric=inst.item_ids, missing=MISSING_TEXT):
            scores = score(inst, chunk, row_offset=int(chunk.index[0]) if len(chunk) else 0)
            writer.write(_result(chunk, scores, keep_items))
            for scale_id, s in scores.scales.items():
                empty[scale_id] = empty.get(scale_id, 0) + int(np.isnan(s.values).sum())
            risk_rows += int(scores.any_risk.sum())
            unanswered += int(scores.any_risk_unanswered.sum())
            progress.advance(task, len(chunk))
    err.print(f"Scored {total_rows:,} rows of {inst.id} {inst.version}; wrote {output}")
    _report(empty, risk_rows, unanswered, total_rows)


def _report(empty: dict[str, int], risk_rows: int, unanswered: int, total_rows: int) -> None:
    for scale_id, n in empty.items():
        if n:
            err.print(
                f"  {scale_id}: {n:,} of {total_rows:,} rows left empty "
                "(too many items missing for the scale's rule)"
            )
    if risk_rows:
        rows = "row" if risk_rows == 1 else "rows"
        err.print(
            f"  [bold red]risk item answered above the lowest option in {risk_rows:,} "
            f"{rows}[/] (column risk)"
        )
    if unanswered:
        rows = "row" if unanswered == 1 else "rows"
        err.print(
            f"  [bold]risk item left empty in {unanswered:,} {rows}[/] (column "
            "risk_unanswered): an empty answer is not a no; ask"
        )


def _print_scores(
    inst: Instrument, file: Path, total_rows: int, keep_items: bool, limit: int, is_csv: bool
) -> None:
    shown: list[pd.DataFrame] = []
    sums: dict[str, list[np.ndarray]] = {}
    risk_rows = unanswered = 0
    with _progress(total_rows) as progress:
        task = progress.add_task("scoring", total=total_rows)
        for chunk in read_chunks(file, numeric=inst.item_ids, missing=MISSING_TEXT):
            scores = score(inst, chunk, row_offset=int(chunk.index[0]) if len(chunk) else 0)
            if sum(len(f) for f in shown) < limit:
                shown.append(_result(chunk, scores, keep_items))
            for scale_id, s in scores.scales.items():
                sums.setdefault(scale_id, []).append(s.values)
            risk_rows += int(scores.any_risk.sum())
            unanswered += int(scores.any_risk_unanswered.sum())
            progress.advance(task, len(chunk))
    frame = pd.concat(shown).head(limit) if shown else pd.DataFrame()
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"{escape(inst.title)} ({inst.id} {inst.version})",
    )
    for column in frame.columns:
        numeric = column in sums
        table.add_column(str(column), justify="right" if numeric else "left")
    for _, row in frame.iterrows():
        table.add_row(*(_cell(v) for v in row))
    out.print(table)
    if total_rows > len(frame):
        out.print(f"… {total_rows - len(frame):,} more rows; use -o FILE to write them all.")
    summary = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Summary")
    for column in ("scale", "scored", "empty", "mean", "sd", "min", "max"):
        summary.add_column(column, justify="left" if column == "scale" else "right")
    for scale_id, parts in sums.items():
        v = np.concatenate(parts) if parts else np.array([])
        ok = v[~np.isnan(v)]
        stats = (
            (
                f"{ok.mean():.2f}",
                f"{ok.std(ddof=1):.2f}" if len(ok) > 1 else "",
                f"{ok.min():g}",
                f"{ok.max():g}",
            )
            if len(ok)
            else ("", "", "", "")
        )
        summary.add_row(scale_id, f"{len(ok):,}", f"{len(v) - len(ok):,}", *stats)
    out.print(summary)
    _report({}, risk_rows, unanswered, total_rows)


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return escape(str(value))
