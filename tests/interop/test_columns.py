"""Reading cells from Arrow tables: the same values and problems as through pandas."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alliance.instruments.registry import Registry
from alliance.interop import wide
from alliance.interop.columns import Cells, Column, Text, as_dates, as_ids, as_numbers, may_repeat
from alliance.interop.tabular import load_table, read_administrations, write_administrations
from alliance.interop.wide import check_wide, to_wide


def chunked(*parts: list[str | None]) -> pd.Series:
    """A ``str`` column made of several Arrow chunks, as a file is read."""
    series = pd.Series(pa.chunked_array(parts, pa.large_string()), dtype="str")
    assert pa.array(series.array).num_chunks == len(parts)
    return series


@pytest.mark.parametrize(
    ("values", "repeats"),
    [
        (["A0000001", "A0000002", "B"], False),
        (["ABCDEFGH1", "ABCDEFGH2", "ABCDEFGH"], False),  # differ after the first word
        (["A", "A\x00", ""], False),  # same bytes, different lengths
        (["adm-17", "x", "adm-17"], True),
        (["é" * 9, "ê" * 9], False),
        ([None, "a", None, "b"], False),  # missing ids are not repeats
        (["a" * 80, "b" * 80], True),  # too long to fingerprint: compare the values
    ],
)
def test_may_repeat(values: list[str | None], repeats: bool) -> None:
    assert may_repeat(pd.Series(values, dtype="str")) is repeats


def test_may_repeat_sees_repeats_across_chunks() -> None:
    assert may_repeat(chunked(["a", "b"], [], ["c", "b"])) is True
    assert may_repeat(chunked(["a", "b"], [], ["c", None])) is False
    assert may_repeat(pd.Series(["a", "a"], dtype=object)) is True  # other types: look


def test_may_repeat_agrees_with_an_exact_search() -> None:
    rng = np.random.default_rng(11)
    letters = np.array(list(string.ascii_letters[:6]))
    for _ in range(200):
        n = int(rng.integers(2, 40))
        values = ["".join(rng.choice(letters, int(rng.integers(0, 19)))) for _ in range(n)]
        series = pd.Series(values, dtype="str")
        assert may_repeat(series) is bool(series.duplicated().any()), values


def test_text_from_an_encoded_column_trims_and_merges() -> None:
    encoded = pa.chunked_array(
        [
            pa.array([" C1", "C2", None], pa.string()).dictionary_encode(),
            pa.array(["C1", "C2"], pa.string()).dictionary_encode(),
        ]
    )
    text = Text.of(encoded)
    assert [text.values[c] for c in text.codes] == ["C1", "C2", "", "C1", "C2"]
    assert text.series().tolist() == ["C1", "C2", "", "C1", "C2"]
    assert text.series(blank_as_missing=True).isna().tolist() == [False, False, True] + [False] * 2
    one = Text.of(pa.chunked_array([pa.array(["E1"] * 3).dictionary_encode()]))
    assert one.series().tolist() == ["E1"] * 3 and one.series().dtype == "str"
    assert one.rows_in(["E1"]).tolist() == [0, 1, 2] and one.rows_in(["E2"]).size == 0


def test_ids_are_kept_when_plain_and_trimmed_otherwise() -> None:
    plain = chunked(["a1", "a2"], ["a3"])
    assert as_ids(plain).tolist() == ["a1", "a2", "a3"]
    padded = as_ids(pa.chunked_array([pa.array(["a1 ", "", "\u00a0a2"], pa.large_string())]))
    assert padded.tolist()[0] == "a1" and pd.isna(padded.iloc[1]) and padded.iloc[2] == "a2"


def test_numbers_and_dates_from_arrow_equal_pandas() -> None:
    table = pa.table(
        {
            "x": pa.chunked_array([pa.array([1.5, None]), pa.array([-0.0])]),
            "n": pa.array([3, 4, None], pa.int64()),
            "d": pa.array([0, None, -400], pa.date32()),
        }
    )
    frame = table.to_pandas(date_as_object=False)
    for column in ("x", "n"):
        ours, bad = as_numbers(table.column(column), ("",))
        theirs, _ = as_numbers(frame[column], ("",))
        np.testing.assert_array_equal(ours, theirs)
        assert not bad.any() and ours.flags.writeable
    dates, blank, bad = as_dates(table.column("d"))
    pd.testing.assert_series_equal(dates, as_dates(frame["d"])[0], check_names=False)
    assert blank.tolist() == [False, True, False] and not bad.any()


FAR = [dt.date(2300, 1, 1), None, dt.date(2026, 1, 2), dt.date(1900, 1, 1),
       dt.date(2199, 12, 31), dt.date(1899, 12, 31), dt.date(1000, 1, 1)]  # fmt: skip


@pytest.mark.parametrize(
    "column",
    [
        pa.chunked_array([pa.array(FAR, pa.date32())]),
        pd.Series(pd.array(FAR, dtype=pd.ArrowDtype(pa.date32()))),
        pd.Series(pa.array(FAR, pa.date32()).cast(pa.timestamp("ms")).to_pandas()),
        pd.Series([d.isoformat() if d else "" for d in FAR]),
        pd.Series([d if d else dt.date(1, 1, 1) for d in FAR], dtype=object),
    ],
    ids=["arrow-dates", "pandas-arrow-dates", "milliseconds", "text", "date-objects"],
)
def test_dates_outside_the_dates_of_care_are_not_dates(column: Column) -> None:
    """A file may hold any date; one outside 1900-01-01 … 2199-12-31 is a bad cell, not a
    crash, even beyond what datetime64[ns] holds, whatever type the reader gave the column."""
    dates, blank, bad = as_dates(column)
    objects = isinstance(column, pd.Series) and column.dtype == object
    assert bad.tolist() == [True, objects, False, False, False, True, True]
    assert blank.tolist() == [False, not objects, False, False, False, False, False]
    assert [str(d.date()) for d in dates.dropna()] == ["2026-01-02", "1900-01-01", "2199-12-31"]
    assert dates.dtype == "datetime64[ns]"


def test_cells_show_what_pandas_shows() -> None:
    table = pa.table(
        {
            "t": pa.array(["a", "", "c"]).dictionary_encode(),
            "x": pa.array([1.0, None, 2.5]),
            "n": pa.array([1234567, 2, 3], pa.int64()),
            "d": pa.array([1, None, 3], pa.date32()),
        }
    )
    frame = table.to_pandas(date_as_object=False)
    rows = np.array([2, 0, 1])
    for column in table.column_names:
        assert Cells(table).shown(column, rows) == Cells(frame).shown(column, rows)
    assert Cells(table).shown("n", rows[:1]) == ["3"]


def bad_typed_table(administrations: list) -> pd.DataFrame:
    table = to_wide(administrations)
    table["session"] = table["session"].astype(float)
    table.loc[0, "session"] = np.nan
    table.loc[1, "session"] = 2.5
    table.loc[0, "item_3"] = 7.0
    table.loc[2, "item_1"] = 10.5
    table.loc[3, "client"] = None
    table.loc[4, "date"] = pd.NaT
    table.loc[5, "perspective"] = "client"
    return table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_give_the_problems_of_their_pandas_frames(
    tmp_path: Path, registry: Registry, administrations: list, suffix: str
) -> None:
    """Checking the Arrow table of a file and checking the frame pandas makes of it find
    the same problems, with the same values shown."""
    path = tmp_path / f"bad{suffix}"
    write_administrations(bad_typed_table(administrations), path, registry)
    lines = suffix == ".csv"
    table = load_table(path, numeric=lambda c: ["session", *wide.item_columns(c)])
    _, ours = check_wide(table, registry, csv_lines=lines)
    _, theirs = check_wide(table.to_pandas(date_as_object=False), registry, csv_lines=lines)
    assert ours == theirs
    assert {(p.column, p.value) for p in ours} >= {("item_3", "7"), ("session", "2.5")}


def test_blocks_of_answers_are_all_checked(
    monkeypatch: pytest.MonkeyPatch, registry: Registry, administrations: list
) -> None:
    monkeypatch.setattr(wide, "BLOCK_ROWS", 2)
    table = to_wide(administrations[:2] * 3)
    table["administration"] = None
    table.loc[5, "item_2"] = 4.5
    _, problems = check_wide(table, registry)
    assert [(p.row, p.column, p.value) for p in problems] == [(6, "item_2", "4.5")]


def test_repeated_ids_in_different_row_groups(
    tmp_path: Path, registry: Registry, administrations: list
) -> None:
    table = to_wide(administrations)
    table.loc[5, "administration"] = "adm-17"
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, row_group_size=2)
    assert load_table(path, numeric=lambda c: []).column("administration").num_chunks == 3
    _, report = read_administrations(path, registry)
    assert [(p.row, p.problem) for p in report.problems] == [(6, "administration id used twice")]


def test_stored_index_columns_are_left_out(
    tmp_path: Path, registry: Registry, administrations: list
) -> None:
    table = to_wide(administrations)
    table.index = pd.Index([f"r{i}" for i in range(len(table))], name="row")
    table.to_parquet(tmp_path / "indexed.parquet")
    clean, report = read_administrations(tmp_path / "indexed.parquet", registry)
    assert report.ok and "row" not in clean.columns and len(clean) == len(table)
