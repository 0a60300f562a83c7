"""Checking table cells column by column, collecting every problem with its place.

The building blocks of the table readers (:mod:`alliance.interop.wide`,
:mod:`alliance.interop.tidy`): text, numbers and dates read from any column type (text from
CSV, typed columns from Parquet or a data frame), each returning a mask of the cells that are
not what they should be, and :class:`Found`, which turns masks into :class:`Problem` objects
listed in file order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry
from alliance.interop.report import Problem

DATE_DTYPE: Final = "datetime64[ns]"
BoolArray = npt.NDArray[np.bool_]


class Found:
    """Collects problems with their position, to list them in file order at the end."""

    def __init__(
        self,
        frame: pd.DataFrame,
        order: dict[str, int],
        *,
        first_row: int,
        csv_lines: bool,
        source_rows: npt.NDArray[np.intp] | None = None,
    ) -> None:
        self.frame, self.order = frame, order
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
        values = self.frame[column] if show_value and column in self.frame.columns else None
        for i in positions.tolist():
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
                        value=None if values is None else shown(values.iloc[i]),
                        allowed=allowed,
                    ),
                )
            )

    def where(self, position: int) -> str:
        row = self.row(position)
        return f"line {row + 1}" if self.csv_lines else f"row {row}"

    def sorted(self) -> list[Problem]:
        return [p for _, _, p in sorted(self.items, key=lambda t: (t[0], t[1]))]


def arrow_array(series: pd.Series) -> pa.Array:
    """The column as one Arrow array (no copy when it already is one chunk)."""
    array = pa.array(series.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


@dataclass(frozen=True)
class Text:
    """A text column as codes into its distinct values, trimmed (missing or blank = "").

    Checks and keys are computed once per distinct value, which is what makes checking a
    million rows cheap: a column of client codes has far fewer distinct values than rows.
    ``source`` keeps the column itself when it needed no change, to avoid rebuilding it.
    """

    codes: npt.NDArray[np.intp]
    values: list[str]
    source: pd.Series | None = None

    @classmethod
    def of(cls, series: pd.Series) -> Text:
        text = series.astype("str").reset_index(drop=True)
        encoded = pc.dictionary_encode(arrow_array(text))
        uniques = pd.Series(encoded.dictionary.to_pylist(), dtype="str")
        trimmed = uniques.str.strip()
        missing = encoded.indices.null_count > 0
        codes = pc.fill_null(encoded.indices, len(uniques)).to_numpy().astype(np.intp)
        if missing:
            trimmed = pd.concat([trimmed, pd.Series([""], dtype="str")], ignore_index=True)
        values = [str(v) for v in trimmed.tolist()]
        if len(set(values)) < len(values):  # " A" and "A" are one value
            merged, distinct = pd.factorize(trimmed)
            return cls(np.asarray(merged, dtype=np.intp)[codes], [str(v) for v in distinct])
        unchanged = not missing and trimmed.equals(uniques)
        return cls(codes, values, text if unchanged else None)

    @classmethod
    def constant(cls, value: str, n: int) -> Text:
        return cls(np.zeros(n, dtype=np.intp), [value])

    def isin(self, allowed: Sequence[str]) -> BoolArray:
        table = np.array([v in allowed for v in self.values], dtype=bool)
        return table[self.codes] if len(table) else np.zeros(len(self.codes), bool)

    def blank(self) -> BoolArray:
        return self.isin([""])

    def replace(self, old: str, new: str) -> Text:
        if old not in self.values:
            return self
        values = [new if v == old else v for v in self.values]
        merged, distinct = pd.factorize(pd.Series(values, dtype="str"))
        return Text(np.asarray(merged, dtype=np.intp)[self.codes], [str(v) for v in distinct])

    def series(self, *, blank_as_missing: bool = False) -> pd.Series:
        """The clean column (``str`` dtype)."""
        if self.source is not None and not (blank_as_missing and "" in self.values):
            return self.source
        values = [None if blank_as_missing and v == "" else v for v in self.values]
        table = pd.array(values or [""], dtype="str")
        return pd.Series(table.take(self.codes))


def shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def as_text(series: pd.Series) -> pd.Series:
    return series.astype("str").fillna("").str.strip()


def as_numbers(
    series: pd.Series, missing: Sequence[str]
) -> tuple[npt.NDArray[np.float64], BoolArray]:
    """Numbers (NaN where blank) and a mask of cells that hold something else."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(len(series), np.nan), series.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(series), bool)
    text = as_text(series)
    blank = text.isin(list(missing))
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, np.isnan(values) & ~blank.to_numpy()


def as_dates(series: pd.Series) -> tuple[pd.Series, BoolArray, BoolArray]:
    """Dates at midnight, a mask of blank cells and a mask of cells that are not dates."""
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_date(series.dtype.pyarrow_dtype):
        stamps = pa.array(series.array).cast(pa.timestamp("ns"))  # no Python objects
        series = pd.Series(stamps.to_numpy(), index=series.index, dtype=DATE_DTYPE)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dt.tz_localize(None) if series.dt.tz is not None else series
        values = values.astype(DATE_DTYPE).dt.normalize()
        return values, values.isna().to_numpy(), np.zeros(len(series), bool)
    if series.dtype == object and series.map(lambda v: isinstance(v, dt.date)).all():
        values = pd.to_datetime(series).astype(DATE_DTYPE).dt.normalize()
        return values, np.zeros(len(series), bool), np.zeros(len(series), bool)
    text = as_text(series)
    blank = (text == "").to_numpy()
    parsed = pd.to_datetime(text.where(~blank), format="%Y-%m-%d", errors="coerce")
    values = pd.Series(parsed, index=series.index).astype(DATE_DTYPE)
    return values, blank, values.isna().to_numpy() & ~blank


DATE_TEXT = "a date YYYY-MM-DD"
SESSION_TEXT = "a whole number from 0"


def check_session(series: pd.Series, found: Found) -> npt.NDArray[np.float64]:
    session, bad = as_numbers(series, ("",))
    with np.errstate(invalid="ignore"):
        wrong = bad | (~np.isnan(session) & ((session < 0) | (session != np.rint(session))))
    found.cells(np.flatnonzero(wrong), "not a session number", "session", allowed=SESSION_TEXT)
    found.cells(
        np.flatnonzero(np.isnan(session) & ~bad), "missing value", "session", allowed=SESSION_TEXT
    )
    return session


def instrument_groups(
    instrument: Text, version: Text
) -> tuple[npt.NDArray[np.intp], list[tuple[str, str]]]:
    """A group number per row, and the (instrument, version) pair of each group."""
    width = max(len(version.values), 1)
    groups, uniques = pd.factorize(instrument.codes.astype(np.int64) * width + version.codes)
    pairs = [(instrument.values[u // width], version.values[u % width]) for u in uniques.tolist()]
    return np.asarray(groups, dtype=np.intp), pairs


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

    def days(self) -> npt.NDArray[np.int64]:
        values = self.dates.to_numpy(dtype=DATE_DTYPE).astype("datetime64[D]").astype(np.int64)
        return np.asarray(values, dtype=np.int64)

    def columns(self) -> dict[str, pd.Series]:
        """The clean identifying columns, in the order of the administration table."""
        t = self.text
        return {
            "administration": self.administration,
            "client": t["client"].series(),
            "episode": t["episode"].series(),
            "session": pd.Series(np.nan_to_num(self.session, nan=0).astype(np.int64)),
            "date": self.dates.reset_index(drop=True),
            "instrument": t["instrument"].series(),
            "version": t["version"].series(),
            "perspective": t["perspective"].series(),
            "stance": t["stance"].series(),
            "clinician": t["clinician"].series(blank_as_missing=True),
        }

    def check_group(self, inst: Instrument, group: int, found: Found) -> None:
        """Perspective and stance against the instrument of one group of rows.

        A rater's own rating uses one of the instrument's perspectives; a prediction is the
        clinician's guess at the client's answers, so it fills the client's form with the
        perspective ``clinician`` (as the clinic service stores it), whatever perspectives
        the instrument has."""
        in_group = self.groups == group
        perspective = self.text["perspective"]
        prediction = self.text["stance"].isin(["prediction"])
        found.cells(
            np.flatnonzero(in_group & ~prediction & ~perspective.isin(inst.perspectives)),
            f"not a perspective of {inst.id}",
            "perspective",
            allowed=", ".join(inst.perspectives),
        )
        found.cells(
            np.flatnonzero(in_group & prediction & ~perspective.isin(["clinician"])),
            "a prediction is made by the clinician; perspective is",
            "perspective",
            allowed="clinician",
        )
        if "client" not in inst.perspectives:
            found.cells(
                np.flatnonzero(in_group & prediction),
                f"{inst.id} has no client form to predict",
                "stance",
                allowed="self",
            )


def check_identity(frame: pd.DataFrame, found: Found, stances: Sequence[str]) -> Identity:
    """Check the identifying columns of every row (blank, session, date, stance)."""
    n = len(frame)
    text = {
        c: Text.of(frame[c]) if c in frame.columns else Text.constant("", n) for c in IDENTITY_TEXT
    }
    for column in REQUIRED_TEXT:
        found.cells(np.flatnonzero(text[column].blank()), "missing value", column)
    text["stance"] = text["stance"].replace("", "self")
    found.cells(
        np.flatnonzero(~text["stance"].isin(stances)),
        "not a stance",
        "stance",
        allowed=", ".join(stances),
    )
    session = check_session(frame["session"], found)
    dates, blank_date, bad_date = as_dates(frame["date"])
    found.cells(np.flatnonzero(blank_date), "missing value", "date", allowed=DATE_TEXT)
    found.cells(np.flatnonzero(bad_date), "not a date", "date", allowed=DATE_TEXT)
    groups, pairs = instrument_groups(text["instrument"], text["version"])
    if "administration" in frame.columns:
        ids = as_text(frame["administration"]).reset_index(drop=True)
        administration = ids.where(ids != "")
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
