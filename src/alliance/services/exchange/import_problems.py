"""The problems an import finds in the database (a client that is not the importer's, an
episode or session that does not fit), each placed at the line and row of the file it came
from, and the error that carries all of them back."""

from __future__ import annotations

from alliance.interop.report import Problem
from alliance.interop.sources import Source
from alliance.services.errors import ImportRejected
from alliance.text import counted


class Problems:
    """Problems of rows, each with the line and row of the file it came from."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[tuple[int, Problem]] = []

    def row(
        self,
        i: int,
        problem: str,
        column: str,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        lines, rows = self.source.lines, self.source.rows
        self.items.append(
            (
                i,
                Problem(
                    problem,
                    row=rows[i] if i < len(rows) else i + 1,
                    line=lines[i] if i < len(lines) else None,
                    column=column,
                    value=None if value is None else str(value),
                    allowed=allowed,
                ),
            )
        )

    def where(self, i: int) -> str:
        """Where row ``i`` is in the file: its line, or its row when lines are not known."""
        lines, rows = self.source.lines, self.source.rows
        line = lines[i] if i < len(lines) else None
        return f"line {line}" if line is not None else f"row {rows[i] if i < len(rows) else i + 1}"

    def whole(
        self, problem: str, column: str, value: object = None, allowed: str | None = None
    ) -> None:
        shown = None if value is None else str(value)
        self.items.append((-1, Problem(problem, column=column, value=shown, allowed=allowed)))

    def __bool__(self) -> bool:
        return bool(self.items)

    def reject(self) -> ImportRejected:
        problems = [p for _, p in sorted(self.items, key=lambda t: t[0])]
        report = self.source.report
        bad_rows = len({i for i, _ in self.items if i >= 0})
        message = (
            f"{report.source}: nothing imported; {counted(len(problems), 'problem')}"
            + (f" in {counted(bad_rows, 'row')}" if bad_rows else "")
            + f" of {len(self.source.table):,}"
        )
        return ImportRejected(message, source=report.source, rows=report.rows, problems=problems)


def rejected(source: Source) -> ImportRejected:
    """The error for a file whose reader found problems."""
    report = source.report
    return ImportRejected(
        report.summary(limit=1).splitlines()[0],
        source=report.source,
        rows=report.rows,
        problems=report.problems,
    )
