from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.therapist import EFFECT_COLUMNS, therapist_effects


def _balanced(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(12):
        u_t = rng.normal(0, 2.0)
        for c in range(8):
            u_c = rng.normal(0, 3.0)
            for s in range(1, 7):
                rows.append({"client": f"T{t}C{c}", "episode": "1", "session": s,
                             "instrument": "wai-sr", "perspective": "client", "scale": "total",
                             "score": 45 + u_t + u_c + rng.normal(0, 2.5),
                             "clinician": f"T{t}"})  # fmt: skip
    return pd.DataFrame(rows)


def test_reml_components_equal_the_anova_estimator_on_a_balanced_design() -> None:
    data = _balanced()
    table = therapist_effects(data, instrument="wai-sr").set_index("component")
    # nested one-way ANOVA (sessions in clients in clinicians), balanced: REML = ANOVA
    n_t, n_c, n_s = 12, 8, 6
    y = data["score"].to_numpy().reshape(n_t, n_c, n_s)
    client_means, clin_means, grand = y.mean(axis=2), y.mean(axis=(1, 2)), y.mean()
    ms_e = ((y - client_means[..., None]) ** 2).sum() / (n_t * n_c * (n_s - 1))
    ms_c = n_s * ((client_means - clin_means[:, None]) ** 2).sum() / (n_t * (n_c - 1))
    ms_t = n_c * n_s * ((clin_means - grand) ** 2).sum() / (n_t - 1)
    assert table.loc["session", "variance"] == pytest.approx(ms_e, rel=1e-4)
    assert table.loc["client", "variance"] == pytest.approx((ms_c - ms_e) / n_s, rel=1e-3)
    assert table.loc["clinician", "variance"] == pytest.approx((ms_t - ms_c) / (n_c * n_s),
                                                               rel=1e-3)  # fmt: skip
    assert table["share"].sum() == pytest.approx(1.0)
    assert list(table.reset_index().columns) == list(EFFECT_COLUMNS)
    assert "fewer than 30 clinicians" in table["note"].iloc[0]


def test_one_clinician_is_refused() -> None:
    data = _balanced()
    data["clinician"] = "T0"
    with pytest.raises(ValueError, match="at least 2 clinicians"):
        therapist_effects(data, instrument="wai-sr")
