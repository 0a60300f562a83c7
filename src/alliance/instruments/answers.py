"""Answers as a matrix: reading item columns of a DataFrame or an array, refusing wrong
columns and types with the row, the column, the value and the allowed values."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from alliance.instruments.model import ITEM_ID, Instrument

MISSING_TEXT = ("", "NA", "N/A", "NaN", "nan", "null", "NULL")
"""Text that means "not answered" in an answer column (R and SPSS exports write NA)."""

FloatArray = npt.NDArray[np.float64]


class AnswerError(ValueError):
    """Answers that cannot be scored. ``row`` is 1-based (the first data row is 1)."""

    def __init__(
        self,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        self.row, self.column, self.value, self.allowed = row, column, value, allowed
        where = ", ".join(
            part
            for part in (
                f"row {row}" if row is not None else "",
                f"column {column}" if column else "",
            )
            if part
        )
        text = f"{where}: {problem}" if where else problem
        if value is not None:
            text += f" {_show(value)}"
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(text)


def _show(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value) if isinstance(value, str) else str(value)


def as_answer_matrix(
    instrument: Instrument, answers: pd.DataFrame | npt.ArrayLike, *, row_offset: int = 0
) -> FloatArray:
    """Answers as a C-ordered float64 matrix (n × k), refusing wrong columns and types."""
    k = len(instrument.items)
    if isinstance(answers, pd.DataFrame):
        return _frame_to_matrix(instrument, answers, row_offset)
    array = np.asarray(answers)
    if array.ndim != 2 or array.shape[1] != k:
        raise AnswerError(
            f"{instrument.id} answers must be a matrix with {k} item columns, got shape "
            f"{array.shape}"
        )
    if array.dtype.kind not in "iuf":
        raise AnswerError(f"answers must be numbers, got an array of {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.float64)


def _frame_to_matrix(instrument: Instrument, frame: pd.DataFrame, row_offset: int) -> FloatArray:
    expected = instrument.item_ids
    item_like = [str(c) for c in frame.columns if ITEM_ID.match(str(c))]
    unknown = [c for c in item_like if c not in expected]
    if unknown:
        raise AnswerError(
            f"unknown item column {unknown[0]}; {instrument.id} has items "
            f"item_1 … item_{len(expected)}",
            column=unknown[0],
        )
    optional = {i.id for i in instrument.items if i.unscored and i.risk is None}
    absent = [c for c in expected if c not in frame.columns and c not in optional]
    if absent:
        raise AnswerError(
            f"column {absent[0]} is missing; {instrument.id} needs item_1 … item_{len(expected)} "
            "(leave cells empty for unanswered items)",
            column=absent[0],
        )
    matrix = np.empty((len(frame), len(expected)), dtype=np.float64)
    for j, column in enumerate(expected):
        if column in frame.columns:
            matrix[:, j] = _numeric_column(frame[column], column, instrument, row_offset)
        else:  # an unscored item a file may leave out (PHQ-9's difficulty question)
            matrix[:, j] = np.nan
    return matrix


def _numeric_column(
    series: pd.Series, column: str, instrument: Instrument, row_offset: int
) -> FloatArray:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise AnswerError(
            f"wrong type: column holds true/false values, not answers ({dtype})", column=column
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("string").str.strip()
    blank = text.isna() | text.isin(MISSING_TEXT)
    numbers: pd.Series = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = numbers.isna() & ~blank
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        fmt = instrument.format_of(instrument.items[instrument.item_ids.index(column)])
        raise AnswerError(
            "wrong type: not a number:",
            row=row_offset + position + 1,
            column=column,
            value=str(series.iloc[position]),
            allowed=fmt.describe(),
        )
    converted: FloatArray = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return converted
