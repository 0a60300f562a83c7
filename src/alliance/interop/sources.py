"""Reading any file an import takes into the one shape the service stores: the clean wide
table of administrations, each row with the place in the file it came from.

:func:`read_source` picks the reader by ``format``:

- ``wide`` — an administrations table, CSV or Parquet
  (:func:`~alliance.interop.tabular.read_administrations`);
- ``redcap`` — a REDCap records export with a mapping file
  (:func:`~alliance.interop.redcap.read_records`);
- ``fhir`` — a FHIR Bundle or a single QuestionnaireResponse, JSON
  (:mod:`~alliance.interop.fhir_import`);
- ``tidy`` — a tidy long scores table. Its cells are checked like any other file's, but it is
  never imported: it holds scores without the answers they came from, and the clinic stores
  answers and computes scores from them (DESIGN.md §3, "raw answers are immutable"), so the
  report says to import the administrations table instead;
- ``auto`` — ``.json`` is FHIR; with a mapping file, REDCap; a table with ``scale`` and
  ``score`` columns is tidy; any other table is wide.

Every row of :attr:`Source.table` has its ``line`` in a CSV file (the header is line 1) or
``None``, and its ``row``: the 1-based data row, or for FHIR the response's position in the
Bundle. The table is empty whenever the report has a problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alliance.files import TableFileError, read_columns, table_format
from alliance.instruments.registry import Registry
from alliance.interop.fhir_import import parse_questionnaire_response, read_bundle
from alliance.interop.fhir_terms import DEFAULT_BASE_URL
from alliance.interop.redcap import read_records
from alliance.interop.report import ImportReport, Problem, RejectedImportError
from alliance.interop.tabular import read_administrations, read_scores
from alliance.interop.wide import check_wide, to_wide
from alliance.records import Administration

SourceFormat = Literal["auto", "wide", "tidy", "redcap", "fhir"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("auto", "wide", "tidy", "redcap", "fhir")
TIDY_REFUSAL = (
    "a tidy scores table holds scores without the answers they came from; the clinic stores "
    "answers and computes the scores itself, so import the administrations (wide) table"
)


@dataclass
class Source:
    """A file read for import: the clean wide table (with ``idempotency_key``), where each
    row came from, and the report."""

    format: SourceFormat
    table: pd.DataFrame
    report: ImportReport
    lines: list[int | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok


def detect_format(path: Path, *, mapping: object = None) -> SourceFormat:
    """The format ``auto`` chooses for ``path`` (see the module docstring)."""
    if path.suffix.lower() == ".json":
        return "fhir"
    if mapping is not None:
        return "redcap"
    try:
        columns = set(read_columns(path))
    except (TableFileError, OSError, ValueError):
        return "wide"  # the wide reader reports what is wrong with the file
    return "tidy" if {"scale", "score"} <= columns else "wide"


def read_source(
    path: Path,
    registry: Registry,
    *,
    format: SourceFormat = "auto",
    mapping: Path | dict[str, Any] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    name: str | None = None,
) -> Source:
    """Read ``path`` for import; ``name`` is how the report names the file (default: the
    path). Raises ValueError for an unknown format or a REDCap import without a mapping."""
    if format not in SOURCE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(SOURCE_FORMATS)}, got {format!r}")
    chosen = detect_format(path, mapping=mapping) if format == "auto" else format
    shown = name or str(path)
    if chosen == "fhir":
        source = _fhir(path, registry, base_url)
    elif chosen == "redcap":
        if mapping is None:
            raise ValueError("a REDCap import needs a mapping file (which fields hold what)")
        table, report = read_records(path, mapping, registry)
        source = _tabular("redcap", table, report, csv=True)
    elif chosen == "tidy":
        _, report = read_scores(path, registry)
        if report.ok:
            report.imported = 0
            report.problems.append(Problem(TIDY_REFUSAL, column="scale"))
        source = Source("tidy", pd.DataFrame(), report)
    else:
        table, report = read_administrations(path, registry)
        try:
            csv = table_format(path) == "csv"
        except TableFileError:
            csv = False
        source = _tabular("wide", table, report, csv=csv)
    source.report.source = shown
    return source


def _tabular(kind: SourceFormat, table: pd.DataFrame, report: ImportReport, *, csv: bool) -> Source:
    if not report.ok:
        return Source(kind, table.iloc[0:0], report)
    positions = np.asarray(table.index, dtype=np.int64)
    return Source(
        kind,
        table.reset_index(drop=True),
        report,
        lines=[int(p) + 2 if csv else None for p in positions],
        rows=[int(p) + 1 for p in positions],
    )


def _fhir(path: Path, registry: Registry, base_url: str) -> Source:
    data = path.read_bytes()
    try:
        kind = json.loads(data).get("resourceType")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        report = ImportReport(source=str(path), problems=[Problem("not a FHIR JSON resource")])
        return Source("fhir", pd.DataFrame(), report)
    records: list[Administration]
    if kind == "Bundle":
        records, report = read_bundle(data, registry, base_url=base_url, foreign_subjects=True)
    else:
        try:
            records = [
                parse_questionnaire_response(
                    data, registry, base_url=base_url, foreign_subjects=True
                )
            ]
        except RejectedImportError as exc:
            return Source("fhir", pd.DataFrame(), exc.report)
        report = ImportReport(source=str(path), rows=1, imported=1)
    if not report.ok:
        return Source("fhir", pd.DataFrame(), report)
    table, problems = check_wide(to_wide(records), registry)
    if problems:  # e.g. the same response twice in a Bundle
        report.problems += problems
        report.imported = 0
        return Source("fhir", table.iloc[0:0], report)
    return Source(
        "fhir", table, report, lines=[None] * len(table), rows=list(range(1, len(table) + 1))
    )
