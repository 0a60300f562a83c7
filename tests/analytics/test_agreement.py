from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from alliance.analytics.agreement import CalibrationGap, Discrepancy, calibration_table

Make = Callable[..., pd.DataFrame]


def _pairs(make_series: Make, stance: str) -> pd.DataFrame:
    client = make_series({"A": [40, 30, 50], "B": [45, 45]})
    clinician = make_series({"A": [42, 45, 40], "B": [45, 60]}, perspective="clinician",
                            stance=stance, clinician="T1")  # fmt: skip
    client["clinician"] = "T1"
    return pd.concat([client, clinician], ignore_index=True)


def test_calibration_gap_flags_overestimates_only(make_series: Make) -> None:
    got = CalibrationGap().detect(_pairs(make_series, "prediction"))
    # threshold 0.15 × 48 = 7.2 points; A2 predicted 45 for 30, B2 60 for 45; A3 under-predicts
    assert got[["client", "session", "value", "reference"]].values.tolist() == [
        ["A", 2, 45.0, 30.0],
        ["B", 2, 60.0, 45.0],
    ]
    assert got["threshold"].iloc[0] == pytest.approx(7.2)
    assert CalibrationGap().detect(_pairs(make_series, "self")).empty


def test_discrepancy_compares_own_ratings_both_ways(make_series: Make) -> None:
    got = Discrepancy(min_difference=0.2).detect(_pairs(make_series, "self"))
    assert got[["client", "session"]].values.tolist() == [["A", 2], ["A", 3], ["B", 2]]
    assert Discrepancy().detect(_pairs(make_series, "prediction")).empty


def test_calibration_table_per_clinician(make_series: Make) -> None:
    data = _pairs(make_series, "prediction")
    data["date"] = pd.to_datetime(["2026-01-05", "2026-02-02", "2026-02-09", "2026-01-05",
                                   "2026-02-02"] * 2)  # fmt: skip
    table = calibration_table(data)
    overall = table[table["period"] == "all"].iloc[0]
    errors = [2, 15, -10, 0, 15]
    assert overall["n"] == 5
    assert overall["bias"] == pytest.approx(sum(errors) / 5)
    assert overall["mean_abs_error"] == pytest.approx(sum(map(abs, errors)) / 5)
    assert table[table["period"] == "2026-02"]["n"].iloc[0] == 3
