"""Rows that repeat or contradict another rating, and dates out of session order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.screening import (
    PROBLEM_COLUMNS,
    concat_problems,
    dates_out_of_order,
    repeated_ratings,
)

KEY = ["client", "episode", "session", "perspective"]


def frame(rows: list[tuple[str, int, str, float, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"client": c, "episode": "1", "session": s, "perspective": p, "item_1": v, "date": d}
            for c, s, p, v, d in rows
        ]
    )


def test_a_clean_table_passes_whole() -> None:
    data = frame([("A", 1, "client", 1, None), ("A", 1, "clinician", 1, None)])
    screened = repeated_ratings(data, key=KEY)
    assert screened.keep.tolist() == [True, True] and not screened.contradicted.any()
    assert screened.problems.empty and list(screened.problems.columns) == list(PROBLEM_COLUMNS)


def test_repeats_keep_the_first_and_contradictions_keep_none() -> None:
    data = frame(
        [
            ("A", 1, "client", 1, None),  # row 1
            ("A", 2, "client", 2, None),  # row 2, repeated by row 4
            ("B", 1, "client", 3, None),  # row 3, contradicted by row 5 (item_1) …
            ("A", 2, "client", 2, None),  # row 4
            ("B", 1, "client", np.nan, None),  # row 5 (an empty answer differs from 3)
            ("B", 1, "client", 3, None),  # row 6 (a copy of row 3, still in the clash)
        ]
    )
    screened = repeated_ratings(data, key=KEY, rows=[11, 12, 13, 14, 15, 16])
    assert screened.keep.tolist() == [True, True, False, False, False, False]
    assert screened.contradicted.tolist() == [False, False, True, False, True, True]
    p = screened.problems
    assert p["row"].tolist() == [13, 14, 15, 16]
    assert p.loc[1, "problem"] == "repeats row 12 (client): the same rating twice"
    assert p.loc[1, "action"] == "left out; row 12 is analysed"
    assert p.loc[0, "problem"] == (
        "rows 13, 15, 16 claim to be the same rating (client) but differ in item_1"
    )
    assert (p["client"].tolist(), p["session"].tolist()) == (["B", "A", "B", "B"], [1, 2, 1, 1])


def test_the_key_must_be_present() -> None:
    with pytest.raises(ValueError, match="columns stance"):
        repeated_ratings(frame([("A", 1, "client", 1, None)]), key=[*KEY, "stance"])


def test_dates_out_of_session_order_are_named_with_the_session_they_precede() -> None:
    data = frame(
        [
            ("A", 1, "client", 1, "2024-01-10"),
            ("A", 2, "client", 1, "2024-01-17"),
            ("A", 3, "client", 1, "2024-01-12"),  # before session 2
            ("A", 3, "clinician", 1, "2024-01-12"),
            ("A", 4, "client", 1, None),  # no date: not compared
            ("A", 5, "client", 1, "2024-01-24"),
            ("B", 1, "client", 1, "2023-01-01"),  # another client: its own order
            ("B", 2, "client", 1, "2022-12-31"),
        ]
    )
    got = dates_out_of_order(data)
    assert got["row"].tolist() == [3, 4, 8]
    assert got["problem"].iloc[0] == (
        "session 3 is dated 2024-01-12, before session 2 (2024-01-17): the dates contradict "
        "the session numbers"
    )
    assert got["problem"].iloc[2].startswith("session 2 is dated 2022-12-31, before session 1")
    assert set(got["action"]) == {"analysed in session-number order; its date is shown as given"}
    assert dates_out_of_order(data.drop(columns="date")).empty
    in_order = data[data["client"] == "A"].drop(index=[2, 3])
    assert dates_out_of_order(in_order).empty


def test_problems_of_several_checks_are_listed_by_row() -> None:
    data = frame([("A", 2, "client", 1, "2024-01-01"), ("A", 1, "client", 1, "2024-02-01"),
                  ("A", 2, "client", 1, "2024-01-01")])  # fmt: skip
    screened = repeated_ratings(data, key=KEY)
    both = concat_problems([screened.problems, dates_out_of_order(data[screened.keep])])
    # row 1 (session 2) is dated before session 1; row 3 repeats row 1
    assert both["row"].tolist() == [1, 3]
    assert both["problem"].str.slice(0, 12).tolist() == ["session 2 is", "repeats row "]
    assert concat_problems([]).empty
