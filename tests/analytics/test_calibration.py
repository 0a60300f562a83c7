"""A clinician's calibration on hand-made ratings whose answers are worked out below."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alliance.analytics.agreement import CalibrationGap, calibration_pairs
from alliance.analytics.calibration import calibration, clustered_mean
from alliance.analytics.ruptures import DropFromPrevious

Make = Callable[..., pd.DataFrame]

CLIENT = {
    "A": [50, 50, 50, 50, 40],
    "B": [45, 46, 44, 45, 45],
    "C": [40, 41, 40, 30],
    "D": [48, 48, 42, 36],
}
PREDICTED = {
    "A": [52, 52, 51, 52, 44],  # errors 2 2 1 2 4; the prediction fell 8 at the drop
    "B": [55, 50, 44, 46, 40],  # errors 10 4 0 1 -5
    "C": [42, 42, 41, 41],  # errors 2 1 1 11; a rupture reported at session 4
    "D": [50, 50, 49, None],  # errors 2 2 7; no prediction at the second drop
}
ERRORS = {"A": [2, 2, 1, 2, 4], "B": [10, 4, 0, 1, -5], "C": [2, 1, 1, 11], "D": [2, 2, 7]}
MONTH = {"A": "2026-01", "B": "2026-01", "C": "2026-02", "D": "2026-02"}
DROPS = DropFromPrevious(instrument="wai-sr", min_drop=5.0)  # A5, C4, D3, D4


def clinic(make_series: Make) -> pd.DataFrame:
    client = make_series(CLIENT)
    predicted = make_series(PREDICTED, perspective="clinician", stance="prediction", clinician="T1")
    reported = make_series({"C": [None, None, None, 1.0]}, scale="rupture_reported",
                           perspective="clinician", clinician="T1")  # fmt: skip
    data = pd.concat([client.assign(clinician="T1"), predicted, reported], ignore_index=True)
    data["date"] = [
        f"{MONTH[c]}-{10 + s:02d}" for c, s in zip(data["client"], data["session"], strict=True)
    ]
    return data


def test_errors_clearly_lower_and_largest_gaps(make_series: Make) -> None:
    result = calibration(clinic(make_series), drop_rules=[DROPS], largest=3)
    errors = [e for c in "ABCD" for e in ERRORS[c]]
    assert result.n == 17
    assert result.error.clusters == 4
    assert result.error.mean == pytest.approx(sum(errors) / 17)  # 47 / 17
    assert result.abs_error.mean == pytest.approx(sum(map(abs, errors)) / 17)  # 57 / 17
    # threshold 0.15 × (60 − 12) = 7.2 points: B1 (10) and C4 (11); D3 (7) is just below it
    assert result.threshold == pytest.approx(7.2)
    assert result.clearly_lower == 2
    assert result.share_clearly_lower == pytest.approx(2 / 17)
    assert set(map(tuple, result.pairs.loc[result.pairs["clearly_lower"], ["client", "session"]]
                   .values.tolist())) == {("B", 1), ("C", 4)}  # fmt: skip
    assert result.clearly_higher == 0  # B5 is 5 points the other way, under 7.2
    assert result.largest[["client", "session", "error"]].values.tolist() == [
        ["C", 4, 11.0],
        ["B", 1, 10.0],
        ["D", 3, 7.0],
    ]


def test_a_stricter_organization_threshold_changes_clearly_lower(make_series: Make) -> None:
    strict = calibration(clinic(make_series), gap=CalibrationGap(min_difference=0.1))
    # 0.1 × 48 = 4.8 points: B1 (10), C4 (11) and D3 (7)
    assert strict.threshold == pytest.approx(4.8)
    assert strict.clearly_lower == 3


def test_months_use_the_clients_rating_dates(make_series: Make) -> None:
    result = calibration(clinic(make_series), drop_rules=[DROPS])
    months = result.by_period.set_index("period")
    assert list(months.index) == ["2026-01", "2026-02"]
    assert months.loc["2026-01", "n"] == 10
    assert months.loc["2026-01", "bias"] == pytest.approx((11 + 10) / 10)
    assert months.loc["2026-02", "n"] == 7
    assert months.loc["2026-02", "bias"] == pytest.approx((15 + 11) / 7)
    assert months["clients"].tolist() == [2, 2]
    assert months["low"].isna().all()  # two clients a month: below the 3 needed for an interval
    two = calibration(clinic(make_series), drop_rules=[DROPS], min_clients=2)
    january = two.by_period.set_index("period").loc["2026-01"]
    expected = clustered_mean(ERRORS["A"] + ERRORS["B"], ["A"] * 5 + ["B"] * 5)
    assert (january["low"], january["high"]) == pytest.approx((expected.low, expected.high))


def test_drops_noticed_by_a_report_or_a_falling_prediction(make_series: Make) -> None:
    result = calibration(clinic(make_series), drop_rules=[DROPS])
    drops = result.drops.set_index(["client", "session"])
    assert list(drops.index) == [("A", 5), ("C", 4), ("D", 3), ("D", 4)]
    # A5: the prediction fell 52 → 44, 8 ≥ 0.1 × 48 = 4.8 points
    assert drops.loc[("A", 5), ["prediction_fell", "reported", "noticed"]].tolist() == [
        True, False, True,
    ]  # fmt: skip
    # C4: a rupture was reported in the session; the prediction stayed at 41
    assert drops.loc[("C", 4), ["prediction_fell", "reported", "noticed"]].tolist() == [
        False, True, True,
    ]  # fmt: skip
    # D3: the prediction fell only 1 point; D4: no prediction at all
    assert not drops.loc[("D", 3), "noticed"]
    assert pd.isna(drops.loc[("D", 4), "prediction"])
    assert not drops.loc[("D", 4), "noticed"]
    assert result.drops_noticed == 2
    assert drops["rules"].unique().tolist() == ["drop_from_previous"]


def test_a_report_in_another_session_does_not_count_as_noticing(make_series: Make) -> None:
    data = clinic(make_series)
    moved = (data["scale"] == "rupture_reported") & (data["client"] == "C")
    data.loc[moved, "session"] = 3
    result = calibration(data, drop_rules=[DROPS])
    assert not result.drops.set_index(["client", "session"]).loc[("C", 4), "noticed"]
    assert result.drops_noticed == 1


def test_direction_follows_the_interval(make_series: Make) -> None:
    client = make_series({"A": [40, 40, 40], "B": [40, 40, 40], "C": [40, 40, 40]})
    over = make_series({"A": [44, 45, 44], "B": [43, 44, 45], "C": [45, 46, 44]},
                       perspective="clinician", stance="prediction", clinician="T1")  # fmt: skip
    under = over.assign(score=80 - over["score"])
    mixed = over.assign(score=[44, 36, 41, 39, 43, 37, 40, 42, 38])
    for predictions, expected in ((over, "over"), (under, "under"), (mixed, "unclear")):
        result = calibration(pd.concat([client.assign(clinician="T1"), predictions]))
        assert result.direction == expected


def test_one_clinician_at_a_time(make_series: Make) -> None:
    data = clinic(make_series)
    data.loc[(data["client"] == "D") & (data["stance"] == "prediction"), "clinician"] = "T2"
    with pytest.raises(ValueError, match="predictions of 2 clinicians"):
        calibration(data)


def test_parameters_are_checked(make_series: Make) -> None:
    data = clinic(make_series)
    with pytest.raises(ValueError, match="min_prediction_fall"):
        calibration(data, min_prediction_fall=0)
    with pytest.raises(ValueError, match="largest"):
        calibration(data, largest=-1)
    with pytest.raises(TypeError, match="gap: a CalibrationGap"):
        calibration(data, gap=DROPS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no srs total ratings"):
        calibration(data, instrument="srs")


def test_no_predictions_gives_empty_figures(make_series: Make) -> None:
    result = calibration(make_series(CLIENT).assign(clinician="T1"))
    assert result.n == 0
    assert result.error.mean is None
    assert result.direction == "unclear"
    assert result.share_clearly_lower is None
    assert result.by_period.empty and result.largest.empty


def test_calibration_pairs_one_row_per_predicted_and_rated_session(make_series: Make) -> None:
    pairs = calibration_pairs(clinic(make_series))
    assert len(pairs) == 17  # D4 has no prediction
    first = pairs.iloc[0]
    assert (first["client"], first["session"], first["prediction"], first["rating"]) == (
        "A", 1, 52.0, 50.0,
    )  # fmt: skip
    assert (pairs["error"] == pairs["prediction"] - pairs["rating"]).all()


def hand_interval(x: np.ndarray, groups: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """V = G/(G − 1) · Σ_g (Σ_i r_gi)² / N², mean ± t(G − 1)·√V."""
    labels = np.unique(groups)
    g, n = len(labels), len(x)
    r = x - x.mean()
    sums = np.array([r[groups == label].sum() for label in labels])
    half = stats.t.ppf(0.5 + level / 2, g - 1) * np.sqrt(g / (g - 1) * (sums**2).sum() / n**2)
    return float(x.mean() - half), float(x.mean() + half)


def test_clustered_mean_matches_the_formula_by_hand() -> None:
    rng = np.random.default_rng(7)
    sizes = [1, 3, 8, 2, 5, 4]
    groups = np.repeat(np.array(list("abcdef"), dtype=object), sizes)
    x = rng.normal(3.0, 2.0, len(groups)) + np.repeat(rng.normal(0, 2.0, 6), sizes)
    for level in (0.95, 0.8):
        got = clustered_mean(x, groups, level=level)
        assert (got.low, got.high) == pytest.approx(hand_interval(x, groups, level))
        assert (got.n, got.clusters, got.mean) == (23, 6, pytest.approx(x.mean()))


def test_clustered_mean_edges() -> None:
    assert clustered_mean([], []).mean is None
    assert clustered_mean([1.0, 2.0, float("nan")], ["a", "a", "b"]).clusters == 1
    one = clustered_mean([1.0, 2.0], ["a", "a"])
    assert (one.mean, one.low, one.high) == (1.5, None, None)
    flat = clustered_mean([2.0, 2.0, 2.0], ["a", "b", "c"])
    assert (flat.low, flat.high) == (2.0, 2.0)
    assert clustered_mean([1.0, 2.0, 4.0], ["a", "b", "c"], min_clusters=4).low is None
    with pytest.raises(ValueError, match="level"):
        clustered_mean([1.0], ["a"], level=1.0)
    with pytest.raises(ValueError, match="min_clusters"):
        clustered_mean([1.0], ["a"], min_clusters=1)
    with pytest.raises(ValueError, match="one cluster id per value"):
        clustered_mean([1.0, 2.0], ["a"])
