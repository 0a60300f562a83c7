from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.instruments.scoring import score
from alliance.records import ADMINISTRATION_COLUMNS
from alliance.simulate import simulate_clinic, spread_items


def test_same_seed_same_clinic_other_seed_other_clinic() -> None:
    a, b = simulate_clinic(seed=4), simulate_clinic(seed=4)
    for key in a.administrations:
        pd.testing.assert_frame_equal(a.administrations[key], b.administrations[key])
    pd.testing.assert_frame_equal(a.ruptures, b.ruptures)
    other = simulate_clinic(seed=5)
    assert not a.sessions["alliance"].equals(other.sessions["alliance"])


def test_answers_score_back_to_the_simulated_totals(registry: Registry) -> None:
    clinic = simulate_clinic(seed=2)
    wai = clinic.administrations["wai-sr"]
    assert list(wai.columns[: len(ADMINISTRATION_COLUMNS)]) == list(ADMINISTRATION_COLUMNS)
    own = wai[wai["perspective"] == "client"]
    totals = score(registry.get("wai-sr"), own).scales["total"].values
    truth = clinic.sessions[clinic.sessions["client_rated"]]["alliance"].to_numpy()
    np.testing.assert_array_equal(totals, truth)
    predictions = wai[wai["stance"] == "prediction"]
    assert predictions["perspective"].eq("clinician").all()
    assert predictions["rupture_reported"].notna().all() and own["rupture_reported"].isna().all()
    phq = clinic.administrations["phq-9"]
    scored = score(registry.get("phq-9"), phq)
    outcome = clinic.sessions[clinic.sessions["client_rated"]]["outcome"].to_numpy()
    np.testing.assert_array_equal(scored.scales["total"].values, outcome)
    assert scored.any_risk.sum() == (phq["item_9"] > 0).sum() > 0


def test_truth_tables_agree_with_each_other() -> None:
    clinic = simulate_clinic(seed=3, n_clients=150)
    assert set(clinic.episodes["end_reason"]) == {"completed", "dropped_out"}
    done = clinic.episodes[clinic.episodes["end_reason"] == "completed"]
    assert (done["sessions"] == 10).all()
    onsets = clinic.sessions[clinic.sessions["rupture_onset"]]
    assert sorted(zip(onsets["client"], onsets["session"], strict=True)) == sorted(
        zip(clinic.ruptures["client"], clinic.ruptures["session"], strict=True)
    )
    assert clinic.clinicians["team"].nunique() == 2
    assert clinic.clinicians["prediction_bias"].mean() > 0
    assert clinic.parameters["within_effect"] == -0.25


def test_dropout_follows_low_early_alliance() -> None:
    clinic = simulate_clinic(seed=9, n_clients=600)
    early = clinic.sessions[clinic.sessions["session"] <= 3].groupby("client")["alliance"].mean()
    dropped = clinic.episodes.set_index("client")["end_reason"].eq("dropped_out")
    assert early[dropped].mean() < early[~dropped].mean() - 2


def test_spread_items_adds_up_within_range() -> None:
    rng = np.random.default_rng(1)
    totals = rng.integers(12, 61, 500)
    items = spread_items(rng, totals, 12, 1, 5)
    assert (items.sum(axis=1) == totals).all()
    assert items.min() >= 1 and items.max() <= 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_clients": 0}, "n_clients must be a whole number"),
        ({"rupture_rate": 1.5}, "rupture_rate must be a probability"),
        ({"within_noise": 0}, "within_noise must be positive"),
        ({"rupture_from": 1}, "rupture_from must be 2 or more"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_clinic(seed=1, **kwargs)
