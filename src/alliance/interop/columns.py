"""The cells of a table as the checks read them, from a pandas data frame or an Arrow table.

Files are checked as the Arrow tables they are read into
(:func:`alliance.interop.tabular.load_table`), without first becoming a pandas frame: text
columns arrive dictionary-encoded (a Parquet file stores them that way and the CSV reader
encodes them while parsing), numbers as float64 and dates as ``date32``. Columns of any other
type, and the columns of a data frame, are read through pandas as they always were. Both
routes give the same values and the same problems: a value shown in a problem is the value
pandas would show for that cell of the file (:meth:`Cells.shown`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from alliance.records import FIRST_DATE, LAST_DATE

DATE_DTYPE: Final = "datetime64[ns]"
BoolArray = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.signedinteger[Any]]
FloatArray = npt.NDArray[np.float64]
Column: TypeAlias = pd.Series | pa.ChunkedArray

DAY_NS: Final = 86_400 * 10**9
_NS_DAYS: Final = (-106_751, 106_751)  # the days datetime64[ns] can hold
_NS_BOUNDS: Final = (pd.Timestamp("1677-09-22"), pd.Timestamp.max)  # the same, as times
_CARE_DATES: Final = (pd.Timestamp(FIRST_DATE), pd.Timestamp(LAST_DATE))

# bytes a value may not start or end with to need no trimming: ASCII whitespace as Python's
# str.strip() sees it, and every byte of a multi-byte character (which could be a space)
_NOT_PLAIN_EDGE = np.zeros(256, dtype=bool)
_NOT_PLAIN_EDGE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_NOT_PLAIN_EDGE[128:] = True


class Cells:
    """The columns of the table being checked, by name, and the values to show in problems.

    A data frame keeps its columns as they are; an Arrow table is read column by column
    (an Arrow table with repeated column names or stored index columns is first made a data
    frame, exactly as pandas reads it).
    """

    def __init__(self, table: pd.DataFrame | pa.Table) -> None:
        if isinstance(table, pa.Table) and needs_pandas(table.schema):
            table = table.to_pandas(date_as_object=False)
        if isinstance(table, pd.DataFrame):
            names = [str(c) for c in table.columns]
            table = table.set_axis(names, axis=1).reset_index(drop=True)
        self.table: pd.DataFrame | pa.Table = table
        self.names: list[str] = (
            [str(c) for c in table.columns]
            if isinstance(table, pd.DataFrame)
            else list(table.column_names)
        )
        self.n = len(table)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Column:
        if isinstance(self.table, pa.Table):
            return self.table.column(name)
        return self.table[name]

    def empty(self) -> pd.DataFrame:
        """The table with no rows, as a data frame."""
        if isinstance(self.table, pa.Table):
            empty: pd.DataFrame = self.table.slice(0, 0).to_pandas(date_as_object=False)
            return empty
        return self.table.iloc[0:0]

    def shown(self, name: str, positions: npt.NDArray[np.intp]) -> list[str | None]:
        """The cells of one column at ``positions``, as text for a problem."""
        if isinstance(self.table, pa.Table):
            picked = self.table.select([name]).take(pa.array(positions, pa.int64()))
            values = picked.to_pandas(date_as_object=False)[name]
        else:
            values = self.table[name].iloc[positions]
        return [shown(v) for v in values.to_numpy(dtype=object)]


def needs_pandas(schema: pa.Schema) -> bool:
    """Whether a table must be read as pandas reads it: repeated column names, or stored
    index columns (pandas makes them the index, which the checks leave out)."""
    if len(set(schema.names)) < len(schema.names):
        return True
    meta = (schema.metadata or {}).get(b"pandas")
    if meta is None:
        return False
    index = json.loads(meta).get("index_columns", [])
    return any(isinstance(c, str) for c in index)


def shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if (
        isinstance(value, dt.datetime)
        and not pd.isna(value)
        and value.tzinfo is None
        and value.time() == dt.time()
    ):
        return value.date().isoformat()  # a date a reader typed as a timestamp
    return str(value)


def to_pandas(column: pa.ChunkedArray) -> pd.Series:
    """The column as pandas reads it from a file (dates as datetime64)."""
    series: pd.Series = column.to_pandas(date_as_object=False)
    return series


@dataclass(frozen=True)
class Text:
    """A text column as codes into its distinct values, trimmed (missing or blank = "").

    Checks and keys are computed once per distinct value, which is what makes checking a
    million rows cheap: a column of client codes has far fewer distinct values than rows.
    ``source`` keeps the column itself when it needed no change, to avoid rebuilding it.
    """

    codes: Codes
    values: list[str]
    source: pd.Series | None = None

    @classmethod
    def of(cls, column: Column) -> Text:
        if isinstance(column, pa.ChunkedArray):
            kind = column.type
            if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
                return cls._encoded(column.combine_chunks(), None)
            if _is_text(kind):
                encoded = pc.dictionary_encode(column.combine_chunks())
                return cls._encoded(encoded, pd.Series(column, dtype="str"))
            column = to_pandas(column)
        text = column.astype("str").reset_index(drop=True)
        return cls._encoded(pc.dictionary_encode(arrow_array(text)), text)

    @classmethod
    def _encoded(cls, encoded: pa.DictionaryArray, text: pd.Series | None) -> Text:
        """From dictionary codes; ``text`` is the column as ``str`` when it is at hand."""
        uniques = pd.Series(encoded.dictionary, dtype="str")
        trimmed = uniques.str.strip()
        indices = encoded.indices
        if indices.type.bit_width < 32:
            indices = indices.cast(pa.int32())
        missing = indices.null_count > 0
        codes: Codes = (pc.fill_null(indices, len(uniques)) if missing else indices).to_numpy()
        if missing:
            trimmed = pd.concat([trimmed, pd.Series([""], dtype="str")], ignore_index=True)
        values = [str(v) for v in trimmed.tolist()]
        if len(set(values)) < len(values):  # " A" and "A" are one value
            merged, distinct = pd.factorize(trimmed)
            return cls(np.asarray(merged, dtype=np.intp)[codes], [str(v) for v in distinct])
        unchanged = text is not None and not missing and trimmed.equals(uniques)
        return cls(codes, values, text if unchanged else None)

    @classmethod
    def constant(cls, value: str, n: int) -> Text:
        return cls(np.zeros(n, dtype=np.int32), [value])

    def isin(self, allowed: Sequence[str], rows: npt.NDArray[np.intp] | None = None) -> BoolArray:
        """Whether each row's value (of the ``rows`` given, or of every row) is allowed."""
        codes = self.codes if rows is None else self.codes[rows]
        table = np.array([v in allowed for v in self.values], dtype=bool)
        if not table.any():
            return np.zeros(len(codes), bool)
        return table[codes]

    def blank(self) -> BoolArray:
        return self.isin([""])

    def rows_in(self, allowed: Sequence[str], *, inside: bool = True) -> npt.NDArray[np.intp]:
        """The rows whose value is in ``allowed`` (not in it, when ``inside`` is False),
        without a pass over the rows when every value or none is."""
        table = np.array([(v in allowed) == inside for v in self.values], dtype=bool)
        if not table.any():
            return np.zeros(0, dtype=np.intp)
        if table.all():
            return np.arange(len(self.codes))
        return np.flatnonzero(table[self.codes])

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
        n = len(self.codes)
        if len(values) == 1 and values[0] is not None:  # one value: no lookups
            data = values[0].encode("utf-8")
            offsets = np.arange(0, len(data) * n + 1, max(len(data), 1), dtype=np.int64)[: n + 1]
            buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
            return pd.Series(pa.Array.from_buffers(pa.large_string(), n, buffers), dtype="str")
        table = pa.array(values or [""], type=pa.large_string())
        return pd.Series(table.take(pa.array(self.codes)), dtype="str")


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def arrow_array(series: pd.Series) -> pa.Array:
    """The column as one Arrow array (no copy when it already is one chunk)."""
    array = pa.array(series.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def as_text(series: pd.Series) -> pd.Series:
    return series.astype("str").fillna("").str.strip()


def as_ids(column: Column) -> pd.Series:
    """Trimmed text, missing where blank (``str`` dtype) — the ``administration`` column."""
    if isinstance(column, pa.ChunkedArray):
        if _is_text(column.type) and all(_plain(chunk) for chunk in column.chunks):
            return pd.Series(column, dtype="str")
        column = to_pandas(column)
    elif column.dtype == "str" and _plain(arrow_array(column)):
        return column.reset_index(drop=True)
    ids = as_text(column).reset_index(drop=True)
    return ids.where(ids != "")


def _plain(array: pa.Array) -> bool:
    """No value is missing, blank or has an edge that trimming could remove (checked on the
    first and last byte of each value, without making Python strings)."""
    if array.null_count or not len(array):
        return not array.null_count
    offsets, data = string_buffers(array)
    starts, ends = offsets[:-1], offsets[1:]
    if bool((ends == starts).any()):
        return False
    return not (_NOT_PLAIN_EDGE[data[starts]].any() or _NOT_PLAIN_EDGE[data[ends - 1]].any())


def string_buffers(array: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The value offsets (n + 1) and the bytes of a string array, without copying the bytes."""
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets, data = array.buffers()
    at = np.frombuffer(offsets, dtype=width)[array.offset : array.offset + len(array) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return at.astype(np.int64, copy=False), raw


def as_numbers(column: Column, missing: Sequence[str]) -> tuple[FloatArray, BoolArray]:
    """Numbers (NaN where blank) and a mask of cells that hold something else."""
    if isinstance(column, pa.ChunkedArray):
        kind = column.type
        if pa.types.is_floating(kind) or pa.types.is_integer(kind):
            values = np.asarray(column.to_numpy(), dtype=np.float64)
            if not values.flags.writeable:
                values = values.copy()
            return values, np.zeros(len(values), bool)
        column = to_pandas(column)
    series = column
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(len(series), np.nan), series.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        return values, np.zeros(len(series), bool)
    text = as_text(series)
    blank = text.isin(list(missing))
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, np.isnan(values) & ~blank.to_numpy()


def as_dates(column: Column) -> tuple[pd.Series, BoolArray, BoolArray]:
    """Dates at midnight, a mask of blank cells and a mask of cells that are not dates of
    care (not dates, or outside :data:`~alliance.records.FIRST_DATE` …
    :data:`~alliance.records.LAST_DATE`)."""
    values, blank, bad = _as_dates(column)
    outside = ((values < _CARE_DATES[0]) | (values > _CARE_DATES[1])).to_numpy()
    if outside.any():
        values = values.mask(outside)
        bad = bad | outside
    return values, blank, bad


def _as_dates(column: Column) -> tuple[pd.Series, BoolArray, BoolArray]:
    """Like :func:`as_dates`, any date ``datetime64[ns]`` holds (those it cannot hold, which
    readers of other units may give, are not dates)."""
    if isinstance(column, pa.ChunkedArray) and pa.types.is_date(column.type):
        return _days(column)
    series = to_pandas(column) if isinstance(column, pa.ChunkedArray) else column
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_date(series.dtype.pyarrow_dtype):
        values, blank, bad = _days(pa.chunked_array([pa.array(series.array)]))
        return values.set_axis(series.index), blank, bad
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dt.tz_localize(None) if series.dt.tz is not None else series
        blank = values.isna().to_numpy()
        # other units than nanoseconds hold dates that datetime64[ns] cannot
        held = (values >= _NS_BOUNDS[0]) & (values <= _NS_BOUNDS[1])
        values = values.where(held).astype(DATE_DTYPE).dt.normalize()
        return values, blank, ~blank & ~held.to_numpy()
    if series.dtype == object and series.map(lambda v: isinstance(v, dt.date)).all():
        parsed = pd.to_datetime(series, errors="coerce")
        values, _, beyond = _as_dates(parsed)
        return values, np.zeros(len(series), bool), beyond | parsed.isna().to_numpy()
    text = as_text(series)
    blank = (text == "").to_numpy()
    parsed = pd.Series(
        pd.to_datetime(text.where(~blank), format="%Y-%m-%d", errors="coerce"),
        index=series.index,
    )
    values, _, beyond = _as_dates(parsed)
    return values, blank, (parsed.isna().to_numpy() & ~blank) | beyond


def _days(column: pa.ChunkedArray) -> tuple[pd.Series, BoolArray, BoolArray]:
    """Arrow dates as midnights, straight from their day numbers (no Python objects)."""
    days = pc.fill_null(column.cast(pa.date32()).cast(pa.int32()), 0).to_numpy()
    blank = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    bad = ~blank & ((days < _NS_DAYS[0]) | (days > _NS_DAYS[1]))
    stamps = np.multiply(days, DAY_NS, dtype=np.int64)
    stamps[blank | bad] = np.iinfo(np.int64).min  # NaT
    return pd.Series(stamps.view(DATE_DTYPE)), blank, bad


def may_repeat(series: pd.Series) -> bool:
    """False when no two present values of a text column are equal; True when some may be.

    Each value is folded, 8 bytes at a time, into a 64-bit fingerprint straight from the
    column's Arrow buffers, and the fingerprints are sorted: different fingerprints are
    different values, so the answer False is certain. Equal fingerprints (a repeat, or a rare
    collision), other column types and long values answer True, and the caller compares the
    values themselves.
    """
    if series.dtype != "str":
        return True
    column = pa.array(series.array)
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    prints = [_chunk_prints(c.drop_null() if c.null_count else c) for c in chunks]
    if any(p is None for p in prints):
        return True
    if not prints:
        return False
    ordered = np.concatenate([p for p in prints if p is not None])
    ordered.sort()
    return bool((ordered[1:] == ordered[:-1]).any())


def _chunk_prints(array: pa.Array) -> npt.NDArray[np.uint64] | None:
    """The fingerprint of every value of a string array (None: a value is too long)."""
    offsets, data = string_buffers(array)
    if len(array) and int((offsets[1:] - offsets[:-1]).max()) > MAX_FINGERPRINTED:
        return None
    padded = np.zeros(offsets[-1] - offsets[0] + 8, dtype=np.uint8)
    padded[:-8] = data[offsets[0] : offsets[-1]]
    # the 8 bytes from every position of the text, as one (unaligned) little-endian integer
    words = np.ndarray(buffer=padded, dtype="<u8", shape=(len(padded) - 7,), strides=(1,))
    prints = np.empty(len(array), dtype=np.uint64)
    for start in range(0, len(array), BLOCK_ROWS):
        at = offsets[start : start + BLOCK_ROWS + 1] - offsets[0]
        prints[start : start + len(at) - 1] = _fingerprints(words, at[:-1], np.diff(at))
    return prints


def _fingerprints(
    words: npt.NDArray[np.uint64], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    h = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    last = len(words) - 1
    for at in range(0, int(lengths.max(initial=0)), 8):
        word = words[np.minimum(starts + at, last)]
        left = lengths - at
        if bool((left < 8).any()):  # keep only the value's own bytes of its last word
            kept = np.clip(left, 0, 7).astype(np.uint64) * np.uint64(8)
            word = np.where(left >= 8, word, word & ((np.uint64(1) << kept) - np.uint64(1)))
        h ^= word
        h *= np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= h >> np.uint64(31)
    return h


BLOCK_ROWS = 65_536
MAX_FINGERPRINTED = 64
