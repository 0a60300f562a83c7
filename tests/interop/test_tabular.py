"""CSV and Parquet files of both tables: round trips, codebooks, bad files, re-imports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.instruments.scoring import score
from alliance.interop.keys import KEY_COLUMN
from alliance.interop.tabular import (
    codebook_path,
    drop_key,
    read_administrations,
    read_scores,
    write_administrations,
    write_scores,
)
from alliance.interop.tidy import scores_long
from alliance.interop.wide import check_wide, from_wide, to_wide


@pytest.fixture
def clean(registry: Registry, administrations: list) -> pd.DataFrame:
    table, problems = check_wide(to_wide(administrations), registry)
    assert problems == []
    return table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_administrations_round_trip(
    tmp_path: Path, registry: Registry, administrations: list, clean: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path / f"administrations{suffix}"
    write_administrations(clean, path, registry)
    back, report = read_administrations(path, registry)
    assert report.ok and report.imported == len(administrations)
    pd.testing.assert_frame_equal(back, clean)
    assert from_wide(back, registry) == administrations
    for (inst_id, version), group in back.groupby(["instrument", "version"]):
        inst = registry.get(str(inst_id), str(version))
        before = clean.loc[group.index, list(inst.item_ids)]
        for scale_id, scale in score(inst, group[list(inst.item_ids)]).scales.items():
            expected = score(inst, before).scales[scale_id].values
            np.testing.assert_array_equal(scale.values, expected)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_round_trip(
    tmp_path: Path, registry: Registry, clean: pd.DataFrame, suffix: str
) -> None:
    long = scores_long(clean, registry)
    # wai-sr: 4 scales × 2, srs 1, phq-9 1, core-10 1; wai-s has no confirmed key
    assert len(long) == 11
    assert set(long["instrument"]) == {"wai-sr", "srs", "phq-9", "core-10"}
    path = tmp_path / f"scores{suffix}"
    write_scores(long, path, registry)
    back, report = read_scores(path, registry)
    assert report.ok
    pd.testing.assert_frame_equal(drop_key(back), long)


def test_scores_long_matches_the_scorer(registry: Registry, clean: pd.DataFrame) -> None:
    long = scores_long(clean, registry)
    wai = clean[clean["instrument"] == "wai-sr"]
    expected = score(registry.get("wai-sr"), wai).scales["total"].values
    got = long[(long["instrument"] == "wai-sr") & (long["scale"] == "total")]["score"]
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert np.isnan(expected[1])  # the second wai-sr left a bond item empty


def test_codebook_describes_every_column(
    tmp_path: Path, registry: Registry, clean: pd.DataFrame
) -> None:
    path = tmp_path / "a.csv"
    book_path = write_administrations(clean, path, registry)
    assert book_path == codebook_path(path) == tmp_path / "a.codebook.csv"
    book = pd.read_csv(book_path, dtype=str, keep_default_na=False)
    assert list(book.columns) == [
        "column",
        "meaning",
        "type",
        "allowed_values",
        "instrument",
        "version",
    ]
    header = pd.read_csv(path, nrows=0).columns
    assert set(header) <= set(book["column"])
    item3 = book[(book["column"] == "item_3") & (book["instrument"] == "core-10")].iloc[0]
    assert "reverse-keyed" in item3["meaning"]
    phq9 = book[(book["column"] == "item_9") & (book["instrument"] == "phq-9")].iloc[0]
    assert "risk item" in phq9["meaning"]
    srs = book[(book["column"] == "item_1") & (book["instrument"] == "srs")].iloc[0]
    assert (srs["type"], srs["allowed_values"].split(" (")[0]) == ("number", "0 to 10")
    scores_book = pd.read_csv(
        write_scores(scores_long(clean, registry), tmp_path / "s.parquet", registry), dtype=str
    )
    wai_total = scores_book[
        (scores_book["column"] == "score")
        & (scores_book["meaning"].str.startswith("scale total"))
        & (scores_book["instrument"] == "wai-sr")
    ]
    assert wai_total["allowed_values"].str.startswith("12 to 60").all()


def test_bad_csv_imports_nothing_and_lists_every_bad_cell(
    tmp_path: Path, registry: Registry, clean: pd.DataFrame
) -> None:
    path = tmp_path / "a.csv"
    write_administrations(clean, path, registry)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",wai-sr,1.0,client,", ",wai-sr,1.0,clinician,")
    lines[4] = lines[4].replace("2026-08-30", "30/08/2026")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    back, report = read_administrations(path, registry)
    assert back.empty and report.imported == 0 and not report.ok
    assert [(p.line, p.column) for p in report.problems] == [(2, "perspective"), (5, "date")]
    assert "nothing imported; 2 problems in 2 rows of 6" in report.summary()


def test_reimporting_a_file_gives_the_same_keys(
    tmp_path: Path, registry: Registry, clean: pd.DataFrame
) -> None:
    csv, parquet = tmp_path / "a.csv", tmp_path / "a.parquet"
    write_administrations(clean, csv, registry)
    write_administrations(clean, parquet, registry)
    first, _ = read_administrations(csv, registry)
    again, _ = read_administrations(csv, registry)
    other, _ = read_administrations(parquet, registry)
    assert first[KEY_COLUMN].tolist() == again[KEY_COLUMN].tolist() == other[KEY_COLUMN].tolist()
    assert first[KEY_COLUMN].is_unique


def test_unreadable_files(tmp_path: Path, registry: Registry) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("client,episode\nJos\xe9,E1\n".encode("latin-1"))
    _, report = read_administrations(latin, registry)
    assert not report.ok and "UTF-8" in report.problems[0].problem
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    _, report = read_administrations(broken, registry)
    assert not report.ok and "not a readable Parquet file" in report.problems[0].problem
    _, report = read_administrations(tmp_path / "a.xlsx", registry)
    assert "unknown file type" in report.problems[0].problem


def test_bad_scores_file(tmp_path: Path, registry: Registry, clean: pd.DataFrame) -> None:
    long = scores_long(clean, registry)
    long.loc[0, "score"] = 99.0  # wai-sr task runs 4–20
    long.loc[1, "scale"] = "warmth"
    path = tmp_path / "s.csv"
    write_scores(long, path, registry)
    back, report = read_scores(path, registry)
    assert back.empty
    assert [(p.line, p.column, p.allowed) for p in report.problems] == [
        (2, "score", "4 to 20"),
        (3, "scale", "task, goal, bond, total"),
    ]
