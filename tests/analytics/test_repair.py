from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from alliance.analytics.repair import Repair
from alliance.analytics.ruptures import DropFromBaseline, DropFromPrevious

Make = Callable[..., pd.DataFrame]
RUPTURE = DropFromBaseline(k=2, floor=1.0)


def test_a_v_shaped_rupture_is_repaired_at_the_recovery(make_series: Make) -> None:
    data = make_series({"A": [50, 51, 50, 51, 44, 50, 51]})
    got = Repair(rupture=RUPTURE).detect(data)
    assert got[["session", "since_session"]].values.tolist() == [[6, 5]]
    assert got["reference"].iloc[0] == 50.5  # mean of the ratings before the rupture
    assert got["rule"].iloc[0] == "repair"


def test_no_repair_when_the_rating_stays_low_or_recovers_too_late(make_series: Make) -> None:
    data = make_series({"A": [50, 51, 50, 51, 44, 45, 44, 44, 51], "B": [50, 51, 50, 51, 44, 45]})
    assert Repair(rupture=RUPTURE, within=3).detect(data).empty
    late = Repair(rupture=RUPTURE, within=4).detect(data)
    assert late[["client", "session"]].values.tolist() == [["A", 9]]


def test_a_decline_over_several_sessions_is_one_episode(make_series: Make) -> None:
    data = make_series({"A": [50, 50, 50, 49, 46, 43, 50]})
    rupture = DropFromPrevious(min_drop=3)
    assert len(rupture.detect(data)) == 2  # sessions 5 and 6
    got = Repair(rupture=rupture, within=3, tolerance=0).detect(data)
    assert got[["session", "since_session"]].values.tolist() == [[7, 5]]


def test_tolerance_is_measured_in_spreads(make_series: Make) -> None:
    data = make_series({"A": [50, 51, 50, 51, 44, 49]})
    assert Repair(rupture=RUPTURE, tolerance=0).detect(data).empty
    assert len(Repair(rupture=RUPTURE, tolerance=1.5).detect(data)) == 1


def test_missed_sessions_count_towards_the_window(make_series: Make) -> None:
    data = make_series({"A": [50, 51, 50, 51, 44, None, None, None, 51]})
    assert Repair(rupture=RUPTURE, within=3).detect(data).empty
    assert len(Repair(rupture=RUPTURE, within=4).detect(data)) == 1
