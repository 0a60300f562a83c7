"""The wide table of administrations: converting records to and from it, and checking it.

:func:`check_wide` is the one gate every tabular import goes through (CSV, Parquet, REDCap,
a data frame): it checks every cell at once (vectorized) and returns the clean table with
one problem per bad cell, so a reader can refuse the whole file and say everything that is
wrong with it. It validates answers against the instrument's response format (the values a
scorer accepts); it does not score.

Column types of a clean table: ``session`` int64, ``date`` ``datetime64[ns]`` (midnight),
``item_*`` float64 (NaN = not answered), the rest text (``administration`` and ``clinician``
missing as NaN), plus ``idempotency_key`` (:mod:`alliance.interop.keys`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from alliance.instruments.model import ITEM_ID, Instrument, OptionsFormat, VisualAnalogueFormat
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import MISSING_TEXT
from alliance.interop.cells import Found, check_identity, resolve_instrument
from alliance.interop.columns import DATE_DTYPE, Cells, arrow_array, as_numbers, may_repeat
from alliance.interop.keys import KEY_COLUMN, TEXT_FIELDS, table_keys
from alliance.interop.report import Problem
from alliance.records import ADMINISTRATION_COLUMNS, STANCES, Administration

REQUIRED = ("client", "episode", "session", "date", "instrument", "version", "perspective")
OPTIONAL = ("administration", "stance", "clinician", KEY_COLUMN)


def item_columns(columns: Iterable[object]) -> list[str]:
    """The ``item_<n>`` columns, in item order."""
    found = [str(c) for c in columns if ITEM_ID.match(str(c))]
    return sorted(found, key=lambda c: int(c.split("_")[1]))


def unknown_columns(columns: Iterable[object]) -> list[str]:
    """The columns that are not part of the wide table, in their order."""
    names = [str(c) for c in columns]
    known = set(REQUIRED) | set(OPTIONAL) | set(item_columns(names))
    return [c for c in names if c not in known]


def to_wide(administrations: Iterable[Administration]) -> pd.DataFrame:
    """One row per administration (``extras`` are not part of the table)."""
    records = list(administrations)
    width = max((_item_count(a.answers) for a in records), default=0)
    items = [f"item_{j}" for j in range(1, width + 1)]
    data: dict[str, object] = {
        "administration": pd.Series([a.id for a in records], dtype="str"),
        "client": pd.Series([a.client for a in records], dtype="str"),
        "episode": pd.Series([a.episode for a in records], dtype="str"),
        "session": np.array([a.session for a in records], dtype=np.int64),
        "date": pd.to_datetime(pd.Series([a.date for a in records], dtype=object)).astype(
            DATE_DTYPE
        ),
        "instrument": pd.Series([a.instrument for a in records], dtype="str"),
        "version": pd.Series([a.version for a in records], dtype="str"),
        "perspective": pd.Series([a.perspective for a in records], dtype="str"),
        "stance": pd.Series([a.stance for a in records], dtype="str"),
        "clinician": pd.Series([a.clinician for a in records], dtype="str"),
    }
    matrix = np.full((len(records), width), np.nan)
    for i, a in enumerate(records):
        for key, value in a.answers.items():
            if value is not None:
                matrix[i, int(key.split("_")[1]) - 1] = float(value)
    frame = pd.DataFrame(data)
    for j, column in enumerate(items):
        frame[column] = matrix[:, j]
    return frame


def _item_count(answers: Mapping[str, float | None]) -> int:
    return max((int(k.split("_")[1]) for k in answers if ITEM_ID.match(k)), default=0)


def from_wide(frame: pd.DataFrame, registry: Registry) -> list[Administration]:
    """Records from a clean wide table (as :func:`check_wide` returns it)."""
    out: list[Administration] = []
    for row in frame.to_dict(orient="records"):
        inst = registry.get(str(row["instrument"]), str(row["version"]))
        answers = {
            item_id: (None if pd.isna(row.get(item_id)) else float(row[item_id]))
            for item_id in inst.item_ids
        }
        out.append(
            Administration(
                client=str(row["client"]),
                episode=str(row["episode"]),
                session=int(row["session"]),
                date=pd.Timestamp(row["date"]).date(),
                instrument=inst.id,
                version=inst.version,
                perspective=row["perspective"],
                answers=answers,
                stance=row.get("stance") or "self",
                clinician=None if pd.isna(row.get("clinician")) else str(row["clinician"]),
                id=None if pd.isna(row.get("administration")) else str(row["administration"]),
            )
        )
    return out


def check_wide(
    frame: pd.DataFrame | pa.Table,
    registry: Registry,
    *,
    first_row: int = 0,
    csv_lines: bool = False,
    source_rows: npt.NDArray[np.intp] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell of a wide table; return the clean table and every problem.

    ``frame`` is a data frame or an Arrow table as read from a file. ``first_row`` is added
    to row numbers (for callers reading in chunks); ``csv_lines`` adds the CSV line of each
    problem (the header is line 1); ``source_rows`` gives the 0-based data row each row came
    from when the caller left some rows out. The clean table is only meaningful when there
    are no problems.
    """
    table = Cells(frame)
    columns = table.names
    items = item_columns(columns)
    order = {c: i for i, c in enumerate([*ADMINISTRATION_COLUMNS, *items])}
    found = Found(table, order, first_row=first_row, csv_lines=csv_lines, source_rows=source_rows)
    for column in unknown_columns(columns):
        found.file(
            f"unknown column {column}",
            column=column,
            allowed=", ".join([*ADMINISTRATION_COLUMNS, "item_1 … item_k"]),
        )
    absent = [c for c in REQUIRED if c not in columns]
    for column in absent:
        found.file(f"missing column {column}", column=column)
    if absent:
        return table.empty(), found.sorted()

    identity = check_identity(table, found, STANCES)
    answers = _Answers(table, items)
    pairs = identity.pairs
    resolved = [
        resolve_instrument(registry, inst_id, version, _rows(identity.groups, g, pairs), found)
        for g, (inst_id, version) in enumerate(pairs)
    ]
    answers.add_optional([inst for inst in resolved if inst is not None])
    items = answers.items
    for g, inst in enumerate(resolved):
        if inst is not None:
            identity.check_group(inst, g, found)
            answers.check(inst, _rows(identity.groups, g, pairs), found)
    clean = pd.DataFrame(
        {**identity.columns(), **dict(zip(items, answers.values, strict=True))}, copy=False
    )
    if found.items:
        return clean, found.sorted()
    lanes, clean[KEY_COLUMN], repeated = table_keys(
        [identity.text[c] for c in TEXT_FIELDS],
        identity.sessions,
        identity.day_numbers,
        answers.values,
        groups=identity.groups,
        items=[None if inst is None else len(inst.items) for inst in resolved],
    )
    ids = clean["administration"]
    ids_may_repeat = ids.dtype != "str" or may_repeat(ids)
    _duplicates(clean, lanes, repeated, ids_may_repeat, found)
    return clean, found.sorted()


def _rows(
    groups: npt.NDArray[np.intp], g: int, pairs: list[tuple[str, str]]
) -> npt.NDArray[np.intp]:
    """The rows of group ``g`` (every row when there is one group)."""
    return np.arange(len(groups)) if len(pairs) == 1 else np.flatnonzero(groups == g)


class _Answers:
    """The item columns as floats (NaN = not answered), with masks of cells that are not
    numbers."""

    def __init__(self, table: Cells, items: list[str]) -> None:
        self.items = items
        self.values: list[npt.NDArray[np.float64]] = []
        self.bad_text: list[npt.NDArray[np.bool_]] = []
        for column in items:
            values, bad = as_numbers(table[column], MISSING_TEXT)
            self.values.append(values)
            self.bad_text.append(bad)

    def add_optional(self, instruments: list[Instrument]) -> None:
        """Blank columns for trailing items a file may leave out: items that are unscored
        and not risk items in every instrument of the file that has them (PHQ-9's
        difficulty question)."""
        width = max((len(inst.items) for inst in instruments), default=0)
        n = len(self.values[0]) if self.values else 0
        for j in range(len(self.items), width):
            holders = [inst.items[j] for inst in instruments if len(inst.items) > j]
            if not all(item.unscored and item.risk is None for item in holders):
                return
            if not self.values:
                return  # no item columns at all: nothing to extend
            self.items = [*self.items, f"item_{j + 1}"]
            self.values.append(np.full(n, np.nan))
            self.bad_text.append(np.zeros(n, dtype=bool))

    def check(self, inst: Instrument, rows: npt.NDArray[np.intp], found: Found) -> None:
        k = len(inst.items)
        whole = len(rows) == found.table.n
        for j, item in enumerate(inst.items):
            if j >= len(self.items) or self.items[j] != item.id:
                found.file(
                    f"missing column {item.id} ({inst.id} has items item_1 … item_{k})",
                    column=item.id,
                )
                continue
            fmt = inst.format_of(item)
            values = self.values[j] if whole else self.values[j][rows]
            texts = self.bad_text[j] if whole else self.bad_text[j][rows]
            if texts.any():
                found.cells(rows[texts], "not a number", item.id, allowed=fmt.describe())
            if _fine(values, fmt):
                continue
            with np.errstate(invalid="ignore"):
                if isinstance(fmt, OptionsFormat):
                    wrong = ~np.isnan(values) & ~np.isin(values, [o.value for o in fmt.options])
                    problem = "not an allowed value"
                else:
                    wrong = ~np.isnan(values) & ((values < fmt.min) | (values > fmt.max))
                    problem = "out of range"
            found.cells(rows[wrong], problem, item.id, allowed=fmt.describe())
        for j in range(k, len(self.items)):
            extra = rows[~np.isnan(self.values[j][rows]) | self.bad_text[j][rows]]
            found.cells(
                extra, f"{inst.id} has only {k} items; leave this cell empty", self.items[j]
            )


def _fine(values: npt.NDArray[np.float64], fmt: OptionsFormat | VisualAnalogueFormat) -> bool:
    """The common case in a few cheap passes over cache-sized blocks: within range and, for
    options with every whole number from lowest to highest, whole numbers (NaN, a blank,
    is ignored: ``fmin``/``fmax`` skip it, and its distance from a whole number is NaN)."""
    spare = np.empty(min(len(values), BLOCK_ROWS))
    for start in range(0, len(values), BLOCK_ROWS):
        block = values[start : start + BLOCK_ROWS]
        if np.fmin.reduce(block) < fmt.low or np.fmax.reduce(block) > fmt.high:
            return False
        if isinstance(fmt, VisualAnalogueFormat):
            continue
        if not fmt.contiguous:
            return False
        off = spare[: len(block)]
        np.subtract(block, np.rint(block, out=off), out=off)
        if np.fmax.reduce(np.abs(off, out=off)) > 0:  # NaN when every cell is blank
            return False
    return True


BLOCK_ROWS = 65_536


def _duplicates(
    clean: pd.DataFrame,
    lanes: npt.NDArray[np.uint64],
    repeated: npt.NDArray[np.bool_],
    ids_may_repeat: bool,
    found: Found,
) -> None:
    """Report rows that repeat an earlier row, and administration ids used twice."""
    if repeated.any():
        keys = clean[KEY_COLUMN]
        first = pd.Series(np.arange(len(keys)), index=keys.to_numpy()).groupby(level=0).min()
        for i in np.flatnonzero(repeated).tolist():
            earlier = found.where(int(first[keys.iloc[i]]))
            found.cells(
                np.array([i]),
                f"the same administration as {earlier}",
                "administration",
                show_value=False,
            )
    if not ids_may_repeat:
        return
    ids = clean["administration"]
    encoded = pc.dictionary_encode(arrow_array(ids))
    given = len(ids) - encoded.indices.null_count
    if len(encoded.dictionary) < given:  # only then locate the repeats
        codes = pd.Series(pc.fill_null(encoded.indices, -1).to_numpy())
        clash = (codes >= 0).to_numpy() & codes.duplicated(keep="first").to_numpy() & ~repeated
        found.cells(np.flatnonzero(clash), "administration id used twice", "administration")
