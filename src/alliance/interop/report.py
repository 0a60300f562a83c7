"""What an import found: every bad cell, or a clean bill.

Imports are all-or-nothing at this layer: a reader checks every row first and returns no
administrations when any row is bad, together with a report listing every problem (the line,
the column, the value and what is allowed), so that a person can fix the file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alliance.text import counted


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad cell (or a problem of the whole file when ``row`` is None).

    ``row`` is the 1-based data row; ``line`` is the line of a CSV file it came from (the
    header is line 1), or None for Parquet files, data frames and FHIR resources.
    """

    problem: str
    row: int | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    allowed: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"line {self.line}" if self.line is not None else "",
                f"row {self.row}" if self.row is not None and self.line is None else "",
                f"column {self.column}" if self.column else "",
            )
            if part
        )
        text = f"{where}: {self.problem}" if where else self.problem
        if self.value is not None:
            text += f" {self.value!r}"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        return text


@dataclass
class ImportReport:
    """The outcome of reading one file. ``imported`` is 0 whenever ``problems`` is not empty."""

    source: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, *, limit: int | None = 20, refused: str = "nothing imported") -> str:
        """Readable lines: the outcome, then the problems (the first ``limit`` of them).
        ``refused`` says what did not happen to a file with problems."""
        if self.ok:
            head = f"{self.source}: {self.imported:,} of {self.rows:,} rows read"
            if self.skipped:
                head += f" ({counted(self.skipped, 'empty row')} skipped)"
            return "\n".join([head, *self.notes])
        bad_rows = len({p.row for p in self.problems if p.row is not None})
        head = (
            f"{self.source}: {refused}; {counted(len(self.problems), 'problem')}"
            + (f" in {counted(bad_rows, 'row')}" if bad_rows else "")
            + f" of {self.rows:,}"
        )
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [head, *(f"  {p}" for p in shown)]
        if len(shown) < len(self.problems):
            lines.append(f"  … {len(self.problems) - len(shown):,} more")
        return "\n".join(lines)


class RejectedImportError(ValueError):
    """Raised by the single-resource readers (FHIR) with the report of every problem."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(report.summary())
