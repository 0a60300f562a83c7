"""Checking table cells column by column, collecting every problem with its place.

The building blocks of the table readers (:mod:`alliance.interop.wide`,
:mod:`alliance.interop.tidy`): the identifying columns checked at once (text, session,
date, stance; read by :mod:`alliance.interop.columns` from any column type), each check a
mask of the cells that are not what they should be, and :class:`Found`, which turns masks
into :class:`Problem` objects listed in file order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry
from alliance.interop.columns import (
    DATE_DTYPE,
    DAY_NS,
    Cells,
    Column,
    Text,
    as_dates,
    as_ids,
    as_numbers,
)
from alliance.interop.report import Problem
from alliance.records import DATE_TEXT, LAST_SESSION


class Found:
    """Collects problems with their position, to list them in file order at the end."""

    def __init__(
        self,
        table: Cells,
        order: dict[str, int],
        *,
        first_row: int,
        csv_lines: bool,
        source_rows: npt.NDArray[np.intp] | None = None,
    ) -> None:
        self.table, self.order = table, order
        self.first_row, self.csv_lines = first_row, csv_lines
        self.source_rows = source_rows
        self.items: list[tuple[int, int, Problem]] = []

    def row(self, position: int) -> int:
        """The 1-based data row of the source a position in the frame came from."""
        base = position if self.source_rows is None else int(self.source_rows[position])
        return self.first_row + base + 1

    def file(self, problem: str, *, column: str | None = None, allowed: str | None = None) -> None:
        self.items.append((-1, 0, Problem(problem, column=column, allowed=allowed)))

    def cells(
        self,
        positions: npt.NDArray[np.intp],
        problem: str,
        column: str,
        *,
        allowed: str | None = None,
        show_value: bool = True,
    ) -> None:
        if not len(positions):
            return
        values = (
            self.table.shown(column, positions) if show_value and column in self.table else None
        )
        for n, i in enumerate(positions.tolist()):
            row = self.row(i)
            self.items.append(
                (
                    i,
                    self.order.get(column, 0),
                    Problem(
                        problem,
                        row=row,
                        line=row + 1 if self.csv_lines else None,
                        column=column,
                        value=None if values is None else values[n],
                        allowed=allowed,
                    ),
                )
            )

    def where(self, position: int) -> str:
        row = self.row(position)
        return f"line {row + 1}" if self.csv_lines else f"row {row}"

    def sorted(self) -> list[Problem]:
        return [p for _, _, p in sorted(self.items, key=lambda t: (t[0], t[1]))]


SESSION_TEXT = f"a whole number from 0 to {LAST_SESSION}"


def check_session(column: Column, found: Found) -> npt.NDArray[np.float64]:
    session, bad = as_numbers(column, ("",))
    blank = np.isnan(session)
    if not (bad.any() or blank.any()) and _whole_from_zero(session):
        return session
    with np.errstate(invalid="ignore"):
        outside = (session < 0) | (session > LAST_SESSION) | (session != np.rint(session))
        wrong = bad | (~np.isnan(session) & outside)
    found.cells(np.flatnonzero(wrong), "not a session number", "session", allowed=SESSION_TEXT)
    found.cells(
        np.flatnonzero(np.isnan(session) & ~bad), "missing value", "session", allowed=SESSION_TEXT
    )
    return session


def _whole_from_zero(values: npt.NDArray[np.float64]) -> bool:
    """Every value is a whole number from 0 to ``LAST_SESSION`` (none is NaN)."""
    return not values.size or bool(
        np.min(values) >= 0
        and np.max(values) <= LAST_SESSION
        and np.array_equal(np.rint(values), values)
    )


def instrument_groups(
    instrument: Text, version: Text
) -> tuple[npt.NDArray[np.intp], list[tuple[str, str]]]:
    """A group number per row, and the (instrument, version) pair of each group, numbered in
    the order the pairs first appear."""
    if len(instrument.values) == len(version.values) == 1 and len(instrument.codes):
        return np.zeros(len(instrument.codes), np.intp), [(instrument.values[0], version.values[0])]
    width = max(len(version.values), 1)
    combined = instrument.codes.astype(np.int64) * width + version.codes
    groups: npt.NDArray[np.intp]
    if len(instrument.values) * width <= FEW_PAIRS:  # a few instruments: no hashing
        present = np.flatnonzero(np.bincount(combined, minlength=len(instrument.values) * width))
        first = [int(np.argmax(combined == u)) for u in present.tolist()]
        uniques = present[np.argsort(first)]
        number = np.zeros(len(instrument.values) * width, dtype=np.intp)
        number[uniques] = np.arange(len(uniques))
        groups = number[combined]
    else:
        codes, found = pd.factorize(combined)
        groups, uniques = np.asarray(codes, dtype=np.intp), np.asarray(found)
    pairs = [(instrument.values[u // width], version.values[u % width]) for u in uniques.tolist()]
    return groups, pairs


def resolve_instrument(
    registry: Registry, inst_id: str, version: str, rows: npt.NDArray[np.intp], found: Found
) -> Instrument | None:
    if not inst_id or not version:
        return None  # reported as a missing value
    if inst_id not in registry:
        found.cells(rows, "unknown instrument", "instrument", allowed=", ".join(registry.ids()))
        return None
    try:
        return registry.get(inst_id, version)
    except KeyError:
        allowed = ", ".join(registry.versions(inst_id))
        found.cells(rows, f"{inst_id} has no version", "version", allowed=allowed)
        return None


FEW_PAIRS = 64


IDENTITY_TEXT = ("client", "episode", "instrument", "version", "perspective", "stance", "clinician")
REQUIRED_TEXT = ("client", "episode", "instrument", "version")


@dataclass
class Identity:
    """The checked identifying columns of a table (everything but answers or scores)."""

    text: dict[str, Text]
    administration: pd.Series
    session: npt.NDArray[np.float64]
    dates: pd.Series
    groups: npt.NDArray[np.intp]
    pairs: list[tuple[str, str]]

    @cached_property
    def day_numbers(self) -> npt.NDArray[np.int64]:
        """Days since 1970-01-01 (meaningful where the date is not missing)."""
        stamps = self.dates.to_numpy(dtype=DATE_DTYPE).view(np.int64)
        return np.floor_divide(stamps, DAY_NS)  # the dates are at midnight

    def days(self) -> npt.NDArray[np.int64]:
        return self.day_numbers

    @cached_property
    def sessions(self) -> npt.NDArray[np.int64]:
        """The session numbers as integers (0 where missing)."""
        if np.isnan(self.session).any():
            return np.nan_to_num(self.session, nan=0).astype(np.int64)
        return self.session.astype(np.int64)

    def columns(self) -> dict[str, pd.Series]:
        """The clean identifying columns, in the order of the administration table."""
        t = self.text
        return {
            "administration": self.administration,
            "client": t["client"].series(),
            "episode": t["episode"].series(),
            "session": pd.Series(self.sessions, copy=False),
            "date": self.dates.reset_index(drop=True),
            "instrument": t["instrument"].series(),
            "version": t["version"].series(),
            "perspective": t["perspective"].series(),
            "stance": t["stance"].series(),
            "clinician": t["clinician"].series(blank_as_missing=True),
        }

    def _in_group(self, rows: npt.NDArray[np.intp], group: int) -> npt.NDArray[np.intp]:
        return rows if len(self.pairs) == 1 else rows[self.groups[rows] == group]

    def check_group(self, inst: Instrument, group: int, found: Found) -> None:
        """Perspective and stance against the instrument of one group of rows.

        A rater's own rating uses one of the instrument's perspectives; a prediction is the
        clinician's guess at the client's answers, so it fills the client's form with the
        perspective ``clinician`` (as the clinic service stores it), whatever perspectives
        the instrument has."""
        perspective, stance = self.text["perspective"], self.text["stance"]
        outside = perspective.rows_in(inst.perspectives, inside=False)
        own = self._in_group(outside[~stance.isin(["prediction"], outside)], group)
        found.cells(
            own,
            f"not a perspective of {inst.id}",
            "perspective",
            allowed=", ".join(inst.perspectives),
        )
        predicted = self._in_group(stance.rows_in(["prediction"]), group)
        found.cells(
            predicted[~perspective.isin(["clinician"], predicted)],
            "a prediction is made by the clinician; perspective is",
            "perspective",
            allowed="clinician",
        )
        if "client" not in inst.perspectives:
            found.cells(
                predicted,
                f"{inst.id} has no client form to predict",
                "stance",
                allowed="self",
            )


def check_identity(table: Cells, found: Found, stances: Sequence[str]) -> Identity:
    """Check the identifying columns of every row (blank, session, date, stance)."""
    n = table.n
    text = {c: Text.of(table[c]) if c in table else Text.constant("", n) for c in IDENTITY_TEXT}
    for column in REQUIRED_TEXT:
        found.cells(text[column].rows_in([""]), "missing value", column)
    text["stance"] = text["stance"].replace("", "self")
    found.cells(
        text["stance"].rows_in(stances, inside=False),
        "not a stance",
        "stance",
        allowed=", ".join(stances),
    )
    session = check_session(table["session"], found)
    dates, blank_date, bad_date = as_dates(table["date"])
    found.cells(np.flatnonzero(blank_date), "missing value", "date", allowed=DATE_TEXT)
    found.cells(np.flatnonzero(bad_date), "not a date", "date", allowed=DATE_TEXT)
    groups, pairs = instrument_groups(text["instrument"], text["version"])
    if "administration" in table:
        administration = as_ids(table["administration"])
    else:
        administration = pd.Series(np.nan, index=pd.RangeIndex(n), dtype="str")
    return Identity(
        text=text,
        administration=administration,
        session=session,
        dates=dates,
        groups=groups,
        pairs=pairs,
    )
