from __future__ import annotations

import warnings

import pandas as pd
import pytest
import statsmodels.formula.api as smf

from alliance.analytics.models import (
    MODEL_COLUMNS,
    _prepare,
    alliance_outcome_models,
    session_panel,
)
from alliance.simulate import simulate_clinic

WITHIN = "alliance (within client)"


def test_next_outcome_only_from_the_next_session() -> None:
    rows = []
    for session, (a, y) in ((1, (40, 10)), (2, (42, 9)), (4, (45, 7))):  # session 3 missed
        rows += [
            {"client": "A", "episode": "1", "session": session, "instrument": i,
             "perspective": "client", "scale": "total", "score": v, "clinician": "T1"}
            for i, v in (("wai-sr", a), ("phq-9", y))
        ]  # fmt: skip
    panel = session_panel(pd.DataFrame(rows))
    assert panel["session"].tolist() == [1, 2, 4]
    assert panel["outcome_next"].iloc[0] == 9.0
    assert panel["outcome_next"].isna().tolist() == [False, True, True]


def test_models_return_tidy_rows_with_caveats() -> None:
    panel = session_panel(simulate_clinic(seed=4).tidy())
    table = alliance_outcome_models(panel)
    assert list(table.columns) == list(MODEL_COLUMNS)
    assert table["model"].unique().tolist() == ["lagged", "detrended", "unlagged"]
    lagged = table[table["model"] == "lagged"]
    assert "Nickell" in lagged["caveat"].iloc[0]
    assert "outcome this session" in lagged["term"].tolist()
    assert "outcome this session" not in table[table["model"] == "unlagged"]["term"].tolist()
    between = table[table["term"] == "alliance (between clients)"]["caveat"]
    assert between.str.contains("attenuated").all()
    assert (table["ci_low"] < table["estimate"]).all() and (
        table["estimate"] < table["ci_high"]
    ).all()


def test_two_level_model_equals_statsmodels_directly() -> None:
    panel = session_panel(simulate_clinic(seed=6).tidy())
    ours = alliance_outcome_models(panel, variants=("lagged",), min_clinicians=1000)
    d = _prepare(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = smf.mixedlm(
            "outcome_next ~ alliance_within + alliance_between + log_session + outcome_c",
            d, groups=d["unit"],
        ).fit(reml=True)  # fmt: skip
    row = ours[ours["term"] == WITHIN].iloc[0]
    assert row["estimate"] == pytest.approx(direct.fe_params["alliance_within"])
    assert row["std_error"] == pytest.approx(direct.bse_fe["alliance_within"])


def test_too_little_data_is_refused() -> None:
    panel = session_panel(simulate_clinic(seed=1, n_clients=3, sessions=3).tidy())
    with pytest.raises(ValueError, match="too few clients or sessions"):
        alliance_outcome_models(panel)
    with pytest.raises(ValueError, match="unknown model variants"):
        alliance_outcome_models(panel, variants=("fancy",))


@pytest.mark.slow
def test_within_client_effect_is_recovered_in_at_least_90_of_100_seeds() -> None:
    truth = -0.25
    covered = 0
    for seed in range(100):
        clinic = simulate_clinic(seed=seed, within_effect=truth)
        table = alliance_outcome_models(session_panel(clinic.tidy()), variants=("lagged",))
        row = table[table["term"] == WITHIN].iloc[0]
        covered += bool(row["ci_low"] <= truth <= row["ci_high"])
    print(f"within-client effect {truth}: 95% interval covered the truth in {covered}/100 seeds")
    assert covered >= 90
