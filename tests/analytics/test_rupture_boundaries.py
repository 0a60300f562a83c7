"""Boundary tables for the rupture detectors: each threshold exactly at, just inside and just
outside its limit, the perspective each rule watches, and site cut-offs on scales where
higher is worse. Every expected signal is worked out by hand in the comment beside it."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from alliance.analytics.detector import Detector
from alliance.analytics.ruptures import (
    BelowCutoff,
    DropFromBaseline,
    DropFromPrevious,
    ReliableDrop,
    ReportedRupture,
)
from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE

Make = Callable[..., pd.DataFrame]


def sessions(signals: pd.DataFrame) -> list[tuple[str, int]]:
    return list(zip(signals["client"], signals["session"].astype(int), strict=True))


# -- drop from the previous rating: drop ≥ min_drop ------------------------------------------


@pytest.mark.parametrize(
    ("ratings", "min_drop", "expected"),
    [
        ([50, 48], 2, [2]),  # exactly the limit
        ([50, 48.5], 2, []),  # just inside
        ([50, 47.5], 2, [2]),
        ([50, 51, 50], 1, [3]),  # a rise is no drop
    ],
)
def test_drop_from_previous_at_its_limit(
    make_series: Make, ratings: list[float], min_drop: float, expected: list[int]
) -> None:
    got = DropFromPrevious(min_drop=min_drop).detect(make_series({"A": ratings}))
    assert [s for _, s in sessions(got)] == expected
    assert (got["threshold"] == min_drop).all()


# -- drop from baseline: n ≥ min_baseline, spread > 0, drop ≥ k · spread -----------------------


@pytest.mark.parametrize(
    ("ratings", "kwargs", "expected"),
    [
        # baseline 40, 42, 44: mean 42, SD 2; k = 2 → limit 4 below 42
        ([40, 42, 44, 38], {"k": 2, "floor": 0}, [4]),  # drop 4 = limit
        ([40, 42, 44, 38.5], {"k": 2, "floor": 0}, []),  # drop 3.5 < 4
        ([40, 42, 44, 38], {"k": 2, "floor": 2.5}, []),  # the floor raises the limit to 5
        ([40, 42, 44, 37], {"k": 2, "floor": 2.5}, [4]),  # drop 5 = 2 × floor
        # a steady series has SD 0: no spread, no rule (not "every dip is a rupture")
        ([40, 40, 40, 39], {"k": 2, "floor": 0}, []),
        ([40, 40, 40, 40], {"k": 0.5, "floor": 0}, []),
        # min_baseline: the 4th rating has 3 earlier ones, the 3rd only 2
        ([40, 44, 30, 30], {"k": 1, "floor": 1, "min_baseline": 3}, [4]),
        ([40, 44, 30, 30], {"k": 1, "floor": 1, "min_baseline": 2}, [3, 4]),
        # window: only the last 2 earlier ratings (44, 44: SD 0, floor 1) → 42 is 2 below
        ([30, 44, 44, 42], {"k": 2, "floor": 1, "window": 2, "min_baseline": 2}, [4]),
        ([30, 44, 44, 42], {"k": 2, "floor": 1, "min_baseline": 2}, []),
    ],
)
def test_drop_from_baseline_at_its_limits(
    make_series: Make, ratings: list[float], kwargs: dict[str, float], expected: list[int]
) -> None:
    got = DropFromBaseline(**kwargs).detect(make_series({"A": ratings}))
    assert [s for _, s in sessions(got)] == expected


def test_drop_from_baseline_reports_its_numbers(make_series: Make) -> None:
    got = DropFromBaseline(k=2, floor=0).detect(make_series({"A": [40, 42, 44, 38]}))
    row = got.iloc[0]
    assert (row["value"], row["reference"], row["spread"], row["threshold"]) == (38, 42, 2, 4)
    assert row["change"] == -4


@pytest.mark.parametrize(("last", "fires"), [(36.0, True), (36.5, False)])
def test_drop_from_baseline_floor_defaults_to_the_typical_spread(
    make_series: Make, last: float, fires: bool
) -> None:
    # B, C and D rate 40, 43, 46 (SD 3), so the median client SD is 3 whatever A's; A's own
    # baseline 40, 42, 44 has mean 42 and SD 2 < 3, so its limit is 2 × 3 = 6 below 42
    steady = {c: [40.0, 43.0, 46.0] for c in ("B", "C", "D")}
    got = DropFromBaseline(k=2).detect(make_series({"A": [40, 42, 44, last], **steady}))
    assert sessions(got) == ([("A", 4)] if fires else [])
    if fires:
        assert got["spread"].iloc[0] == pytest.approx(3.0)


# -- reliable drop: a site or confirmed value counts at the limit, a computed one beyond it --

# ten first ratings 45, 39, 45, 39, 42 × 6: mean 42, squared deviations 4 × 9 = 36, SD₁ =
# √(36 / 9) = 2 exactly; r = 0.5 → √(2(1 − r)) = 1; z = 1.5 → reliable change 3.0 exactly
FIRSTS = [45, 39, 45, 39, 42, 42, 42, 42, 42, 42]


def clinic(make_series: Make, drop: float, clients: int = 10) -> pd.DataFrame:
    series = {f"C{i}": [float(first)] for i, first in enumerate(FIRSTS[:clients])}
    series["C0"] = [45.0, 45.0 - drop]
    return make_series(series)


@pytest.mark.parametrize(
    ("rule", "drop", "fires"),
    [
        (ReliableDrop(reliable_change=3), 3.0, True),  # a set value is the smallest that counts
        (ReliableDrop(reliable_change=3), 2.9, False),
        (ReliableDrop(reliability=0.5, z=1.5), 3.0, False),  # computed: must exceed z·S_diff
        (ReliableDrop(reliability=0.5, z=1.5), 3.1, True),
    ],
)
def test_reliable_drop_at_its_limit(
    make_series: Make, rule: ReliableDrop, drop: float, fires: bool
) -> None:
    got = rule.detect(clinic(make_series, drop))
    assert sessions(got) == ([("C0", 2)] if fires else [])
    if fires:
        assert got["threshold"].iloc[0] == pytest.approx(3.0)
        assert got["reference"].iloc[0] == 45.0 and got["since_session"].iloc[0] == 1


def test_reliable_drop_needs_ten_first_ratings(make_series: Make) -> None:
    rule = ReliableDrop(reliability=0.5, z=1.5)
    assert sessions(rule.detect(clinic(make_series, 5.0, clients=10))) == [("C0", 2)]
    assert rule.detect(clinic(make_series, 5.0, clients=9)).empty
    assert rule.skipped_ == {"wai-sr total": "fewer than 10 first ratings to estimate the "
                             "baseline SD"}  # fmt: skip
    flat = make_series({f"C{i}": [42.0, 42.0 if i else 30.0] for i in range(10)})
    assert rule.detect(flat).empty
    assert "do not vary" in rule.skipped_["wai-sr total"]


def test_reliable_drop_uses_the_confirmed_value_of_the_instrument(make_series: Make) -> None:
    # PHQ-9: reliable change 6 (NHS Talking Therapies), higher is worse; 10 → 16 is a drop
    data = make_series({"A": [10, 16, 10, 15]}, instrument="phq-9")
    got = ReliableDrop(instrument="phq-9").detect(data)
    assert sessions(got) == [("A", 2)]
    assert "value 6" in got["provenance"].iloc[0]


# -- below cut-off: the scale's direction decides the side -----------------------------------


@pytest.mark.parametrize(
    ("instrument", "cutoff", "ratings", "expected"),
    [
        ("srs", None, [36.0, 35.9, 36.1], [2]),  # published: below 36
        ("wai-sr", 40, [40, 39, 41], [2]),  # site cut-off, higher is better: below 40
        ("phq-9", 10, [10, 11, 9], [2]),  # site cut-off, higher is worse: above 10
        ("gad-7", 8, [7, 8, 9], [3]),
    ],
)
def test_below_cutoff_flags_the_worse_side(
    make_series: Make,
    instrument: str,
    cutoff: float | None,
    ratings: list[float],
    expected: list[int],
) -> None:
    rule = BelowCutoff(instrument=instrument, cutoff=cutoff)
    got = rule.detect(make_series({"A": ratings}, instrument=instrument))
    assert [s for _, s in sessions(got)] == expected
    if cutoff is not None:
        assert got["provenance"].iloc[0] == (f"site setting: {instrument} total cut-off {cutoff:g}")


# -- each rule watches one perspective -------------------------------------------------------

WATCHERS: list[tuple[Detector, list[float]]] = [
    (DropFromPrevious(min_drop=1), [50, 40]),
    (DropFromBaseline(k=1, floor=1), [50, 51, 52, 40]),
    (ReliableDrop(reliable_change=5), [50, 40]),
    (BelowCutoff(instrument="wai-sr", cutoff=45), [50, 40]),
]


@pytest.mark.parametrize(("rule", "ratings"), WATCHERS, ids=lambda x: type(x).__name__)
def test_a_rule_watches_only_its_perspective(
    make_series: Make, rule: Detector, ratings: list[float]
) -> None:
    client = make_series({"A": ratings})
    clinician = make_series({"A": ratings}, perspective="clinician")
    assert len(rule.detect(client)) == 1
    assert rule.detect(clinician).empty
    mine = type(rule)(**{**rule.get_params(), "perspective": "clinician"})
    assert len(mine.detect(clinician)) == 1 and mine.detect(client).empty
    prediction = make_series({"A": ratings}, perspective="clinician", stance="prediction")
    assert mine.detect(prediction).empty  # a prediction is not the clinician's own rating


def test_a_rule_for_one_instrument_leaves_the_others(make_series: Make) -> None:
    both = pd.concat(
        [make_series({"A": [50, 40]}), make_series({"A": [40, 30]}, instrument="srs")],
        ignore_index=True,
    )
    got = DropFromPrevious(instrument="srs").detect(both)
    assert got["instrument"].tolist() == ["srs"]
    assert sorted(DropFromPrevious(min_drop=1).detect(both)["instrument"]) == ["srs", "wai-sr"]
    outcome = make_series({"A": [5, 15]}, instrument="phq-9")
    assert DropFromPrevious(min_drop=1).detect(outcome).empty  # no instrument: alliance only


def test_reported_rupture_counts_a_yes_only(make_series: Make) -> None:
    data = make_series({"A": [0, 1, 0, 1]}, scale=REPORTED_RUPTURE_SCALE)
    assert [s for _, s in sessions(ReportedRupture(perspective="client").detect(data))] == [2, 4]


# -- what each signal reports, and where each rule comes from ---------------------------------


def test_each_signal_reports_its_numbers_and_provenance(make_series: Make) -> None:
    srs = make_series({"A": [38.0, 35.0]}, instrument="srs")
    got = BelowCutoff().detect(srs).iloc[0]
    assert (got["value"], got["reference"], got["threshold"]) == (35.0, 36.0, 36.0)
    assert got["provenance"].startswith("published: SRS total below 36 (value confirmed, boundary")
    got = DropFromPrevious().detect(srs).iloc[0]
    assert (got["value"], got["reference"], got["change"]) == (35.0, 38.0, -3.0)
    got = ReliableDrop(reliable_change=2).detect(srs).iloc[0]
    assert (got["value"], got["reference"], got["threshold"]) == (35.0, 38.0, 2.0)
    assert got["provenance"] == "site setting: reliable change value"
    reported = make_series({"A": [0, 1]}, scale=REPORTED_RUPTURE_SCALE, perspective="clinician")
    got = ReportedRupture().detect(reported).iloc[0]
    assert (got["value"], got["threshold"]) == (1.0, 1.0)


def test_a_computed_reliable_change_names_its_inputs(make_series: Make) -> None:
    got = ReliableDrop(reliability=0.5, z=1.5).detect(clinic(make_series, 5.0))
    assert got["provenance"].iloc[0] == (
        f"{ReliableDrop.provenance}; value 3.00 = 1.5·SD₁·√(2(1 − r)) from this data's first "
        "ratings (SD₁ 2.00) and r = 0.5"
    )
    rule = ReliableDrop()
    assert rule.detect(clinic(make_series, 5.0)).empty
    assert rule.skipped_ == {
        "wai-sr total": "no confirmed reliable-change value; set reliable_change or reliability"
    }


def test_first_ratings_with_a_small_spread_still_give_a_value(make_series: Make) -> None:
    # first ratings 42, 43 five times each: SD 0.53 (> 0, < 1) → 1.96 × 0.53 × √0.4 = 0.65
    data = make_series({f"C{i}": [42.0 + i % 2, 30.0] for i in range(10)})
    rule = ReliableDrop(reliability=0.8)
    assert len(rule.detect(data)) == 10 and rule.skipped_ == {}


def test_the_default_k_is_two_spreads(make_series: Make) -> None:
    # baseline 40, 42, 44 (mean 42, SD 2): with k = 2 a drop of 4 counts, with 3 it would not
    assert len(DropFromBaseline(floor=0).detect(make_series({"A": [40, 42, 44, 38]}))) == 1


# -- several series in one table: each is judged on its own ---------------------------------


def test_rules_go_on_past_series_they_skip(make_series: Make) -> None:
    # series keys are met in order: the clinician's WAI-SR, the client's WAI-SR (no published
    # cut-off, too few first ratings), then the client's SRS
    data = pd.concat(
        [
            make_series({"A": [50, 30]}, perspective="clinician"),
            make_series({"A": [50, 30]}),
            make_series({f"C{i}": [float(f), 30.0] for i, f in enumerate(FIRSTS)},
                        instrument="srs"),
        ],
        ignore_index=True,
    )  # fmt: skip
    below = BelowCutoff().detect(data)
    assert set(below["instrument"]) == {"srs"} and len(below) == 10
    rule = ReliableDrop(reliability=0.5, z=1.5)
    got = rule.detect(data)
    assert set(got["instrument"]) == {"srs"} and len(got) == 10
    # the clinician's series is not watched, so it is not listed as skipped either
    assert rule.skipped_ == {"wai-sr total": "fewer than 10 first ratings to estimate the "
                             "baseline SD"}  # fmt: skip


@pytest.mark.parametrize(
    "rule",
    [DropFromPrevious(instrument="srs"), DropFromBaseline(instrument="srs", k=1, floor=1),
     ReliableDrop(instrument="srs", reliable_change=5)],
    ids=lambda r: type(r).__name__,
)  # fmt: skip
def test_a_rule_for_one_instrument_ignores_the_others(make_series: Make, rule: Detector) -> None:
    wai = make_series({"A": [60, 60, 60, 20]})
    assert rule.detect(wai).empty
    srs = make_series({"A": [40, 40, 40, 20]}, instrument="srs")
    assert len(rule.detect(pd.concat([wai, srs], ignore_index=True))) == 1


def test_a_rule_watches_only_its_scale(make_series: Make) -> None:
    task = make_series({"A": [20, 10]}, scale="task")
    assert DropFromPrevious(min_drop=1).detect(task).empty  # the rule watches the total
    assert len(DropFromPrevious(scale="task", min_drop=1).detect(task)) == 1


def test_reported_ruptures_are_read_from_the_yes_no_rows_only(make_series: Make) -> None:
    ratings = make_series({"A": [50, 40]}, perspective="clinician")  # a score is no report
    assert ReportedRupture().detect(ratings).empty
    srs = make_series({"A": [0, 1]}, scale=REPORTED_RUPTURE_SCALE, perspective="clinician",
                      instrument="srs")  # fmt: skip
    assert ReportedRupture(instrument="wai-sr").detect(srs).empty
    assert len(ReportedRupture(instrument="srs").detect(srs)) == 1


def test_a_computed_reliable_change_never_falls_below_the_items_resolution(
    make_series: Make,
) -> None:
    # ten first ratings with SD 2 and r = .99: 1.96 × 2 × √0.02 = 0.55 points, less than a
    # 12-item WAI-SR can show (1.96 · √2 · √(12/12) = 2.77): the value is raised to 2.77
    rule = ReliableDrop(reliability=0.99)
    small = rule.detect(clinic(make_series, 2.0))
    assert small.empty  # a 2-point dip is within the items' resolution
    got = rule.detect(clinic(make_series, 3.0))
    assert got["threshold"].iloc[0] == pytest.approx(1.96 * 2**0.5)
    assert (
        "raised to 2.77, the least change the items' resolution allows"
        in (got["provenance"].iloc[0])
    )
    unraised = ReliableDrop(reliability=0.5, z=1.5).detect(clinic(make_series, 3.1))
    assert "raised" not in unraised["provenance"].iloc[0]  # 3.00 is above the floor (2.12)
