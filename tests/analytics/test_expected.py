from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.expected import TABLE_COLUMNS, ExpectedTrajectory, OffTrack

Make = Callable[..., pd.DataFrame]


def _reference(make_series: Make, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    ratings = {}
    for i in range(n):
        intake = 12 + 8 * (i % 3)
        ratings[f"C{i:02d}"] = [
            float(np.clip(round(intake - 3 * np.log(s) + rng.normal(0, 1.5)), 0, 27))
            for s in range(1, 11)
        ]
    return make_series(ratings, instrument="phq-9")


def test_mean_curve_matches_a_log_session_least_squares_fit(make_series: Make) -> None:
    data = _reference(make_series)
    curve = ExpectedTrajectory.fit(data, instrument="phq-9", n_bands=1)
    slope, intercept = np.polyfit(np.log(data["session"]), data["score"], 1)
    table = curve.table
    np.testing.assert_allclose(table["expected"], intercept + slope * np.log(table["session"]))
    resid = data["score"] - (intercept + slope * np.log(data["session"]))
    sd1 = resid[data["session"] == 1].std(ddof=1)
    z = 1.6448536269514722  # two-sided 90%
    assert table["upper"].iloc[0] - table["expected"].iloc[0] == pytest.approx(z * sd1)


def test_intake_bands_give_separate_curves(make_series: Make) -> None:
    curve = ExpectedTrajectory.fit(_reference(make_series), instrument="phq-9", n_bands=3)
    firsts = curve.table[curve.table["session"] == 1].sort_values("band")["expected"].tolist()
    assert firsts == sorted(firsts) and firsts[2] - firsts[0] > 10


def test_off_track_flags_worse_than_expected(make_series: Make) -> None:
    data = _reference(make_series)
    worse = make_series({"Z": [12, 14, 15, 16]}, instrument="phq-9")
    curve = ExpectedTrajectory.fit(data, instrument="phq-9")
    got = OffTrack(reference=curve).detect(pd.concat([data, worse]))
    flagged = got[got["client"] == "Z"]
    assert flagged["session"].tolist() == [2, 3, 4]
    assert (flagged["value"] > flagged["threshold"]).all()  # higher is worse on the PHQ-9
    assert len(got[got["client"] != "Z"]) < 0.1 * len(data)


def test_a_supplied_table_is_checked_and_round_trips(make_series: Make) -> None:
    curve = ExpectedTrajectory.fit(_reference(make_series), instrument="phq-9")
    again = ExpectedTrajectory.from_frame(curve.to_frame())
    pd.testing.assert_frame_equal(again.table, curve.table)
    with pytest.raises(ValueError, match="missing: lower"):
        ExpectedTrajectory.from_frame(curve.to_frame().drop(columns=["lower"]))
    broken = curve.to_frame()
    broken.loc[0, "lower"] = broken.loc[0, "expected"] + 1
    with pytest.raises(ValueError, match="lower ≤ expected ≤ upper"):
        ExpectedTrajectory.from_frame(broken)
    assert list(curve.table.columns) == list(TABLE_COLUMNS)


def test_too_little_reference_data_is_skipped_with_a_reason(make_series: Make) -> None:
    rule = OffTrack()
    assert rule.detect(make_series({"A": [10, 12]}, instrument="phq-9")).empty
    assert "too few reference ratings" in rule.skipped_["phq-9 total"]


def test_a_reference_without_the_instrument_is_reported(make_series: Make) -> None:
    curve = ExpectedTrajectory.fit(_reference(make_series), instrument="phq-9")
    rule = OffTrack(reference=curve, instrument="ors")
    assert rule.detect(make_series({"A": [20, 18, 15]}, instrument="ors")).empty
    assert "no rows" in rule.skipped_["ors total"]


def test_track_agrees_with_the_off_track_rule(make_series: Make) -> None:
    curve = ExpectedTrajectory.fit(_reference(make_series), instrument="phq-9")
    clients = make_series({"Z": [12, 14, 15, 16], "Y": [12, 9, 7, 5]}, instrument="phq-9")
    got = curve.track(
        "phq-9", "total", np.full(len(clients), 12.0), clients["session"].to_numpy(),
        clients["score"].to_numpy(), higher_is_better=False,
    )  # fmt: skip
    rows = list(zip(clients["client"], clients["session"], strict=True))
    off = {row for row, status in zip(rows, got, strict=True) if status == "off track"}
    flagged = OffTrack(reference=curve).detect(clients)
    assert off == set(zip(flagged["client"], flagged["session"], strict=True))
    assert off == {("Z", 2), ("Z", 3), ("Z", 4)}
    assert {status for (client, _), status in zip(rows, got, strict=True) if client == "Y"} == {
        "on track"
    }
    beyond = curve.track(
        "phq-9", "total", np.array([12.0, 12.0]), np.array([99, 2]), np.array([12.0, np.nan]),
        higher_is_better=False,
    )  # fmt: skip
    assert beyond == ["not enough data", "not enough data"]  # no row; no rating
