from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from alliance.analytics.dropout import dropout_model, early_alliance
from alliance.simulate import simulate_clinic


def test_logistic_estimates_match_a_direct_likelihood_fit() -> None:
    clinic = simulate_clinic(seed=8, n_clients=400)
    early = early_alliance(clinic.tidy(), instrument="wai-sr")
    table = dropout_model(early, clinic.episodes)
    d = early.merge(clinic.episodes, on=["client", "episode"])
    z = (d["early_alliance"] - d["early_alliance"].mean()) / d["early_alliance"].std(ddof=1)
    y = (d["end_reason"] == "dropped_out").to_numpy(float)

    def nll(b: np.ndarray) -> float:
        eta = b[0] + b[1] * z.to_numpy()
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    direct = optimize.minimize(nll, np.zeros(2), method="BFGS").x
    np.testing.assert_allclose(table["estimate"], direct, atol=1e-4)
    # the simulator makes dropout more likely after a low early alliance
    slope = table[table["term"] == "early alliance (per SD)"].iloc[0]
    assert slope["odds_ratio"] < 1 and slope["ci_high"] < 1
    assert slope["dropouts"] == int(y.sum())


def test_other_end_reasons_are_left_out_and_too_few_refused() -> None:
    early = pd.DataFrame({"client": list("ABCDEFGHIJKL"), "episode": "1",
                          "early_alliance": np.arange(12.0)})  # fmt: skip
    ends = early[["client", "episode"]].assign(end_reason=["completed"] * 11 + ["referred"])
    with pytest.raises(ValueError, match="at least 2 dropouts"):
        dropout_model(early, ends)
    with pytest.raises(ValueError, match="column 'end_reason'"):
        dropout_model(early, ends.drop(columns=["end_reason"]))
