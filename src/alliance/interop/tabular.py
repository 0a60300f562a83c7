"""The wide and tidy long tables as CSV or Parquet files, with a codebook.

``write_administrations`` / ``write_scores`` write a table and, beside it, a codebook
``<name>.codebook.csv`` (column, meaning, type, allowed values, source instrument and
version), so that a researcher opening the file in R or pandas knows what every column and
value means. ``read_administrations`` / ``read_scores`` read the same formats back through the
checks of :func:`~alliance.interop.wide.check_wide` and :func:`~alliance.interop.tidy.check_tidy`:
a file with any bad cell imports nothing and the report lists every bad cell.

CSV files are UTF-8 with a header line; dates are written ``YYYY-MM-DD``; an empty cell is a
missing value. Parquet files store dates as ``date32``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from alliance.files import (
    AtomicTableWriter,
    TableFileError,
    read_columns,
    table_format,
    write_private,
)
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import MISSING_TEXT
from alliance.interop.codebook import (
    administrations_codebook,
    events_codebook,
    scores_codebook,
)
from alliance.interop.columns import needs_pandas
from alliance.interop.deidentify import ResearchExport
from alliance.interop.keys import KEY_COLUMN
from alliance.interop.report import ImportReport, Problem
from alliance.interop.tidy import SCORE_COLUMNS, check_tidy
from alliance.interop.wide import check_wide, item_columns, unknown_columns
from alliance.records import ADMINISTRATION_COLUMNS

CHUNK_ROWS = 250_000
Checker = Callable[..., tuple[pd.DataFrame, list[Problem]]]


def codebook_path(path: Path) -> Path:
    """Where the codebook of ``path`` goes: ``scores.parquet`` → ``scores.codebook.csv``."""
    return path.with_name(f"{path.stem}.codebook.csv")


CSV_TEXT_NOTE = {
    "column": "(any text column)",
    "meaning": "In this CSV file a text cell that starts with =, +, -, @, a tab or a carriage "
    "return is written with an apostrophe (') in front, so that a spreadsheet shows it as "
    "text instead of running it as a formula (OWASP: CSV injection); plain numbers such as "
    "-3 are left alone. Remove the leading apostrophe to get the text as entered.",
    "type": "text",
    "allowed_values": "",
    "instrument": "",
    "version": "",
}


def _noted(book: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The codebook of the table at ``path``, saying how CSV text cells are made safe."""
    if table_format(path) != "csv":
        return book
    note = {k: v for k, v in CSV_TEXT_NOTE.items() if k in book.columns}
    return pd.concat([book, pd.DataFrame([note])], ignore_index=True).fillna("")


def write_administrations(frame: pd.DataFrame, path: Path, registry: Registry) -> Path:
    """Write a clean wide table (``.csv`` or ``.parquet``) and its codebook; return the
    codebook's path. The idempotency key is not written (it is recomputed on import)."""
    columns = [*ADMINISTRATION_COLUMNS, *item_columns(frame.columns)]
    _write(frame[columns], path)
    book = codebook_path(path)
    _write(_noted(administrations_codebook(frame, registry), path), book)
    return book


def write_scores(frame: pd.DataFrame, path: Path, registry: Registry) -> Path:
    """Write a tidy long scores table and its codebook; return the codebook's path."""
    columns = [c for c in SCORE_COLUMNS if c in frame.columns]
    _write(frame[columns], path)
    book = codebook_path(path)
    _write(_noted(scores_codebook(frame, registry), path), book)
    return book


def write_events(frame: pd.DataFrame, path: Path) -> Path:
    """Write a care events table (ruptures reported, episodes ended) and its codebook; return
    the codebook's path."""
    _write(frame, path)
    book = codebook_path(path)
    _write(_noted(events_codebook(frame), path), book)
    return book


RESEARCH_MEANINGS = {
    "client": "study pseudonym of the client (keyed hash; not the clinic's code)",
    "episode": "the client's episode, numbered E1, E2, … in date order",
    "date": "the session date shifted by a per-client offset (intervals are kept)",
    "day": "days since the first administration of the episode",
    "clinician": "study pseudonym of the clinician",
    "administration": "study pseudonym of the administration (links scores to answers)",
}


def write_research(export: ResearchExport, path: Path, registry: Registry) -> list[Path]:
    """Write a research export: the administrations at ``path``, the scores (when present) at
    ``<name>.scores<suffix>``, a codebook for each, and ``<name>.summary.json``."""
    written = []
    tables: list[tuple[pd.DataFrame, Path, Callable[[pd.DataFrame, Registry], pd.DataFrame]]]
    tables = [(export.administrations, path, administrations_codebook)]
    if export.scores is not None:
        tables.append(
            (export.scores, path.with_name(f"{path.stem}.scores{path.suffix}"), scores_codebook)
        )
    if export.events is not None:
        tables.append(
            (
                export.events,
                path.with_name(f"{path.stem}.events{path.suffix}"),
                lambda frame, registry: events_codebook(frame),
            )
        )
    for frame, target, make_book in tables:
        _write(frame, target)
        book = make_book(frame, registry)
        book.insert(len(book.columns), "research", "")
        for column, meaning in RESEARCH_MEANINGS.items():
            book.loc[book["column"] == column, "meaning"] = meaning
        if "day" in frame.columns:
            day = {"column": "day", "meaning": RESEARCH_MEANINGS["day"], "type": "integer"}
            book = pd.concat([book, pd.DataFrame([day])], ignore_index=True).fillna("")
        _write(_noted(book.drop(columns=["research"]), target), codebook_path(target))
        written += [target, codebook_path(target)]
    summary = path.with_name(f"{path.stem}.summary.json")
    write_private(summary, json.dumps(export.summary.to_dict(), indent=2) + "\n")
    return [*written, summary]


def _write(frame: pd.DataFrame, path: Path) -> None:
    table_format(path)  # refuse an unknown suffix before anything is written
    if "date" in frame.columns and pd.api.types.is_datetime64_any_dtype(frame["date"].dtype):
        frame = frame.assign(date=frame["date"].astype("date32[pyarrow]"))
    with AtomicTableWriter(path) as writer:
        for start in range(0, max(len(frame), 1), CHUNK_ROWS):
            writer.write(frame.iloc[start : start + CHUNK_ROWS])


def read_administrations(
    source: Path | pd.DataFrame, registry: Registry, *, drop_unknown: bool = False
) -> tuple[pd.DataFrame, ImportReport]:
    """Read a wide table (CSV, Parquet or a data frame); nothing when any cell is bad.

    Columns the wide table does not have (names, notes, …) are refused, unless
    ``drop_unknown``: then they are left out before the checks and named in
    ``report.dropped``."""
    drop = unknown_columns if drop_unknown else None
    return _read(source, registry, check_wide, numeric=_wide_numeric, drop=drop)


def read_scores(
    source: Path | pd.DataFrame, registry: Registry
) -> tuple[pd.DataFrame, ImportReport]:
    """Read a tidy long scores table; nothing when any cell is bad."""
    return _read(source, registry, check_tidy, numeric=lambda columns: ["session", "score"])


def _names(frame: pd.DataFrame | pa.Table) -> list[str]:
    names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
    return [str(c) for c in names]


def _wide_numeric(columns: list[str]) -> list[str]:
    return ["session", *item_columns(columns)]


def _read(
    source: Path | pd.DataFrame,
    registry: Registry,
    check: Checker,
    *,
    numeric: Callable[[list[str]], list[str]],
    drop: Callable[[list[str]], list[str]] | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    frame: pd.DataFrame | pa.Table
    if isinstance(source, pd.DataFrame):
        frame, name, csv_lines = source, "data frame", False
    else:
        name = str(source)
        try:
            frame, csv_lines = load_table(source, numeric=numeric), table_format(source) == "csv"
        except TableFileError as exc:
            report = ImportReport(source=name, problems=[Problem(str(exc))])
            return pd.DataFrame(), report
    dropped = drop(_names(frame)) if drop else []
    if dropped:
        if isinstance(frame, pa.Table):
            frame = frame.drop_columns(dropped)
        else:
            frame = frame.drop(columns=dropped)
    clean, problems = check(frame, registry, csv_lines=csv_lines)
    report = ImportReport(source=name, rows=len(frame), problems=problems, dropped=dropped)
    if problems:
        return clean.iloc[0:0], report
    report.imported = len(clean)
    return clean, report


ID_COLUMNS = ("administration",)
"""Text columns whose values are meant to be distinct: read as plain text, not encoded."""


def load_table(path: Path, *, numeric: Callable[[list[str]], list[str]]) -> pa.Table:
    """A CSV or Parquet file as an Arrow table, before any checking.

    Text columns other than ``ID_COLUMNS`` are read dictionary-encoded (one copy of each
    distinct value). CSV is read with the ``numeric`` columns as numbers and ``date`` as a
    date; when a cell does not convert, the file is read again as text so that the checks
    can name every bad cell.
    """
    if table_format(path) == "parquet":
        try:
            schema = pq.read_schema(path)
            strings = [
                f.name
                for f in schema
                if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
                and f.name not in ID_COLUMNS
            ]
            return pq.read_table(path, read_dictionary=[] if needs_pandas(schema) else strings)
        except (pa.ArrowInvalid, OSError) as exc:
            raise TableFileError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = read_columns(path)
    wanted = set(numeric(columns))
    typed: dict[str, pa.DataType] = {c: pa.float64() for c in columns if c in wanted}
    if "date" in columns:
        typed["date"] = pa.date32()
    text = {c: pa.large_string() for c in columns}
    encoded = {c: pa.dictionary(pa.int32(), pa.string()) for c in columns if c not in ID_COLUMNS}
    for types in ({**text, **encoded, **typed}, text):
        options = pa_csv.ConvertOptions(
            column_types=types,
            null_values=list(MISSING_TEXT),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        try:
            return pa_csv.read_csv(path, convert_options=options)
        except pa.ArrowInvalid as exc:
            problem = str(exc)
    raise TableFileError(f"{path}: not a well-formed UTF-8 CSV file ({problem})")


def drop_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without its ``idempotency_key`` column (for comparing tables)."""
    return frame.drop(columns=[KEY_COLUMN], errors="ignore")
