"""Goal agreement signals (issue 17): low goal subscale, client–clinician disagreement on a
goal's progress, a stalled goal while the alliance holds — by hand, and recovered from
simulated truth."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from alliance.analytics.goal_scale import goal_progress_definition
from alliance.analytics.goal_signals import GoalDisagreement, GoalStall, LowGoalAgreement
from alliance.analytics.series import order_series
from alliance.simulate import simulate_clinic
from alliance.simulate_goals import recovery


def rows(instrument: str, scale: str, perspective: str, scores: list[float]) -> list[dict]:
    return [
        {"client": "A", "episode": "1", "session": n, "date": dt.date(2026, 1, n),
         "instrument": instrument, "perspective": perspective, "scale": scale,
         "score": float(x)}
        for n, x in enumerate(scores, start=1)
    ]  # fmt: skip


def table(*parts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r for part in parts for r in part])


def test_goal_progress_reads_as_a_0_to_10_scale_whose_reliable_change_is_unconfirmed() -> None:
    ordered = order_series(table(rows("goals", "goal_2", "client", [1, 2])))
    key = ordered.keys[0]
    assert key.scale_definition is not None and key.scale_definition.range == (0, 10)
    rc = goal_progress_definition().scale("progress").reliable_change
    assert rc is not None and rc.value == 2.45 and rc.verified is False
    with pytest.raises(ValueError, match="column instrument"):  # only goal_<n> scales
        order_series(table(rows("goals", "progress", "client", [1])))


def test_low_goal_agreement_at_or_below_the_midpoint() -> None:
    data = table(rows("wai-sr", "goal", "client", [15, 12, 13, 11]))  # range 4–20: midpoint 12
    found = LowGoalAgreement().detect(data)
    assert list(found["session"]) == [2, 4]
    assert list(found["threshold"]) == [12.0, 12.0]
    assert list(LowGoalAgreement(share=0.25).detect(data)["session"]) == []


def test_goal_disagreement_averages_the_last_paired_ratings() -> None:
    data = table(
        rows("goals", "goal_1", "client", [3, 3, 4, 5]),
        rows("goals", "goal_1", "clinician", [7, 6, 5, 5]),  # gaps 4, 3, 1, 0
        rows("goals", "goal_2", "client", [5, 5]),
        rows("goals", "goal_2", "clinician", [1, 9]),  # gaps -4, 4: averages out
    )
    found = GoalDisagreement().detect(data)
    assert list(zip(found["scale"], found["session"], strict=True)) == [("goal_1", 2)]
    assert found.iloc[0]["spread"] == 3.5 and found.iloc[0]["value"] == 6.0
    assert found.iloc[0]["reference"] == 3.0
    assert len(GoalDisagreement(sessions=1).detect(data)) == 4  # 4, 3, -4 and 4 alone


def test_a_goal_stalls_only_while_the_alliance_holds() -> None:
    flat = rows("goals", "goal_1", "client", [3, 4, 3, 3, 4, 3, 3])
    rising = rows("goals", "goal_2", "client", [1, 2, 3, 4, 5, 6, 7])
    steady = rows("wai-sr", "total", "client", [50, 52, 51, 50, 52, 51, 51])
    found = GoalStall().detect(table(flat, rising, steady))
    assert list(zip(found["scale"], found["session"], strict=True)) == [
        ("goal_1", 6), ("goal_1", 7),
    ]  # fmt: skip
    assert found.iloc[0]["since_session"] == 1 and found.iloc[0]["reference"] == 3.0
    assert found.iloc[0]["spread"] < 0.2
    falling = rows("wai-sr", "total", "client", [50, 52, 51, 50, 52, 40, 51])
    assert list(GoalStall().detect(table(flat, falling))["session"]) == [7]  # not at 6
    assert GoalStall().detect(table(flat)).empty  # no alliance rating: it cannot look fine
    reached = rows("goals", "goal_1", "client", [10] * 7)
    assert GoalStall().detect(table(reached, steady)).empty


def test_stall_and_disagreement_are_recovered_from_simulated_truth() -> None:
    """On a clinic the defaults were not tuned on (seed 23; tuning used seed 11): both rules
    find most goals that truly stalled or were seen differently, and most of what they flag
    is real. The figures are in the issue note; these are floors."""
    clinic = simulate_clinic(seed=23, n_clients=150)
    data = clinic.tidy(goals=True)
    stall = recovery(clinic.goals, GoalStall().detect(data), "goal_stall", "stalled")
    gap = recovery(
        clinic.goals, GoalDisagreement().detect(data), "goal_disagreement", "disagreement"
    )
    assert stall["true"] > 20 and gap["true"] > 10
    assert stall["recall"] >= 0.7 and stall["precision"] >= 0.7, stall
    assert gap["recall"] >= 0.7 and gap["precision"] >= 0.85, gap
