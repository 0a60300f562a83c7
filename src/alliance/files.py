"""Read and write tables of answers (CSV or Parquet) in chunks, and write outputs atomically.

CSV cells are read as text, so that the columns a command carries through (client codes such
as ``007``, dates, free text) come out exactly as they went in; answer columns are turned
into numbers by the scorer, which names any cell that is not a number.

Every CSV file written here is safe to open in a spreadsheet: a text cell (or column name)
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — which Excel,
LibreOffice and Google Sheets would run as a formula — is written with a leading apostrophe,
as OWASP's guidance on CSV injection recommends (:func:`spreadsheet_safe`). A cell that is a
plain number, such as ``-3`` or ``+1.5e3``, is left alone: spreadsheets read it as a number.
Parquet files are written unchanged.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
import warnings
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

TableFormat = Literal["csv", "parquet"]
FORMATS: dict[str, TableFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
CHUNK_ROWS = 100_000


class TableFileError(ValueError):
    """A table file that cannot be read or written; the message names the file."""


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
SAFE_PREFIX = "'"


def safe_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows instead of running (see the module)."""
    if text.startswith(FORMULA_START) and not _NUMBER.match(text):
        return SAFE_PREFIX + text
    return text


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name passed through :func:`safe_cell`; the
    frame itself when nothing needs it (numbers, dates and most text never do)."""
    out = frame
    names = [safe_cell(str(c)) for c in frame.columns]
    if names != [str(c) for c in frame.columns]:
        out = out.set_axis(names, axis=1)
    for position, column in enumerate(frame.columns):
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = series.cat.categories
            if categories.dtype.kind in "OUST" or pd.api.types.is_string_dtype(categories):
                fixed = [safe_cell(c) if isinstance(c, str) else c for c in categories]
                if fixed != list(categories):
                    out = out.copy() if out is frame else out
                    out.isetitem(position, series.cat.rename_categories(fixed).array)
            continue
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        try:
            risky = series.str.match(_FORMULA.pattern, na=False).astype(bool)
        except AttributeError:  # an object column holding no text (dates, numbers)
            continue
        if not risky.any():
            continue
        numbers = series[risky].str.match(_NUMBER.pattern, na=False).astype(bool)
        risky[risky] = ~numbers.to_numpy()
        if risky.any():
            out = out.copy() if out is frame else out
            fixed_column = series.copy()
            fixed_column[risky] = SAFE_PREFIX + series[risky].astype(str)
            out.isetitem(position, fixed_column.array)
    return out


def table_format(path: Path) -> TableFormat:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise TableFileError(
            f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv or .parquet"
        ) from None


def count_rows(path: Path) -> int:
    """Number of data rows (CSV: lines after the header, counted without parsing)."""
    if table_format(path) == "parquet":
        return int(_parquet(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def read_columns(path: Path) -> list[str]:
    if table_format(path) == "parquet":
        return list(_parquet(path).schema_arrow.names)
    try:
        columns = list(pd.read_csv(path, nrows=0, dtype=str).columns)
    except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TableFileError(f"{path}: {_csv_problem(exc)}") from None
    if len(columns) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in columns[0]:
                raise TableFileError(
                    f"{path}: the header is one column holding {name}; the file seems to "
                    f"separate columns with {name} (as some spreadsheet settings save CSV). "
                    "Save it as comma-separated CSV."
                )
    return columns


def read_chunks(
    path: Path,
    *,
    numeric: Collection[str] = (),
    missing: Sequence[str] = ("",),
    chunk_rows: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the table in chunks; every chunk has a RangeIndex continuing from the last.

    In a CSV file the ``numeric`` columns are parsed as numbers (``missing`` text is NaN) and
    every other column is kept as text. When a numeric column holds something else, the rest
    of the file is read as text, so that the caller can name the exact cell.
    """
    rows = chunk_rows or CHUNK_ROWS
    if table_format(path) == "parquet":
        start = 0
        for batch in _parquet(path).iter_batches(batch_size=rows):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
        return
    columns = read_columns(path)
    typed = [c for c in columns if c in set(numeric)]
    start = 0
    try:
        for frame in _csv_chunks(path, rows, typed, missing, skip=0):
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except TableFileError:
        raise
    except ValueError:
        if not typed:
            raise
        for frame in _csv_chunks(path, rows, [], missing, skip=start):
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame


def _csv_chunks(
    path: Path, rows: int, typed: list[str], missing: Sequence[str], *, skip: int
) -> Iterator[pd.DataFrame]:
    dtype: dict[str, str] = {}
    try:
        with warnings.catch_warnings():
            # a row longer than the header would otherwise become an index or be cut short
            warnings.simplefilter("error", pd.errors.ParserWarning)
            header = read_columns(path)
            dtype = {c: ("float64" if c in typed else "str") for c in header}
            reader = pd.read_csv(
                path,
                dtype=dtype,
                keep_default_na=False,
                na_values={c: list(missing) for c in typed},
                chunksize=rows,
                encoding="utf-8",
                index_col=False,
                skiprows=range(1, skip + 1) if skip else None,
            )
            with reader:
                yield from reader
    except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserWarning) as exc:
        raise TableFileError(f"{path}: {_csv_problem(exc)}") from None
    except pd.errors.ParserError as exc:
        raise TableFileError(f"{path}: {_csv_problem(exc)}") from None


def _csv_problem(exc: Exception) -> str:
    if isinstance(exc, pd.errors.EmptyDataError):
        return "the file is empty (a CSV file needs a header line)"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"
    return f"not a well-formed CSV file ({str(exc).strip()})"


def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TableFileError(f"{path}: not a readable Parquet file ({exc})") from None


def _csv_bytes(table: pa.Table, *, header: bool) -> bytes:
    """CSV text of ``table``: unquoted, unless a value holds a comma, quote or line break."""
    head = b""
    if header:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(table.column_names)
        head = line.getvalue().encode("utf-8")
    for quoting in ("none", "needed"):
        sink = pa.BufferOutputStream()
        try:
            pa_csv.write_csv(
                table, sink, pa_csv.WriteOptions(include_header=False, quoting_style=quoting)
            )
        except pa.ArrowInvalid:
            continue
        return head + bytes(sink.getvalue().to_pybytes())
    raise TableFileError("cannot write the table as CSV")


PRIVATE = 0o600  # every file written here is readable by its owner only


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` readable and writable by its owner only (an export holds
    client records; the umask's usual 0644 would let every account on the machine read it),
    through a temporary file beside it, so a failed write leaves nothing behind."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


class AtomicTableWriter:
    """Write chunks to a hidden temporary file beside ``path``; rename it into place only
    when the block ends without an error, so a failed run leaves no output behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = table_format(path)
        self._tmp: Path | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._rows = 0

    def __enter__(self) -> AtomicTableWriter:
        directory = self.path.parent
        if not directory.is_dir():
            raise TableFileError(f"{self.path}: the folder {directory} does not exist")
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=directory)
        os.close(fd)  # mkstemp's 0600 stays: the file may hold client records (PRIVATE)
        self._tmp = Path(name)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self._tmp is None:
            raise RuntimeError("AtomicTableWriter.write outside its with-block")
        if self.format == "csv":
            frame = spreadsheet_safe(frame)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.format == "csv":
            with self._tmp.open("ab") as handle:
                handle.write(_csv_bytes(table, header=self._rows == 0))
        else:
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._rows += len(frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._tmp is None:
            return
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
