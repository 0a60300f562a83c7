"""Therapist effects: how much of the variance in a rating lies between clinicians.

An intercept-only three-level model — sessions in clients in clinicians — fitted by REML with
statsmodels ``MixedLM`` (clinician random intercept, client variance component); each level's
intraclass correlation is its variance over the total (as in CECPfuns ``getICCfromMLM``):

    ICC_clinician = τ²_T / (τ²_T + τ²_C + σ²),   ICC_client = τ²_C / (τ²_T + τ²_C + σ²).

ICCs are defined for intercept-only models; with predictors they become ambiguous. Typical
therapist shares of outcome variance are about 5% (Wampold & Brown 2005; Johns et al. 2019,
range 0.2–29%), and studies usually have fewer therapists than recommended, so the table
carries the numbers of clinicians and clients and a caveat. Clinicians should never be
ranked on a handful of clients.

Checked against: the one-way ANOVA estimator of the between-group variance on a balanced
design, where REML and ANOVA estimates coincide (``tests/analytics/test_therapist.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from alliance.analytics.series import Ordered, order_series

EFFECT_COLUMNS = ("component", "variance", "share", "n_clinicians", "n_clients", "n_obs", "note")


def therapist_effects(
    data: pd.DataFrame | Ordered,
    *,
    instrument: str,
    scale: str = "total",
    perspective: str = "client",
) -> pd.DataFrame:
    """Variance components and ICCs of one scale's ratings (:data:`EFFECT_COLUMNS`).

    Raises
    ------
    ValueError
        When the ratings have no ``clinician`` or fewer than 2 clinicians.
    """
    ordered = data if isinstance(data, Ordered) else order_series(data)
    rows = np.flatnonzero(
        ordered.select(instrument=instrument, scale=scale, perspective=perspective)
    )
    meta = ordered.meta(rows)
    d = pd.DataFrame(
        {
            "score": ordered.score[rows],
            "clinician": meta["clinician"].to_numpy(),
            "unit": meta["client"].astype(str).to_numpy()
            + "/"
            + meta["episode"].astype(str).to_numpy(),
        }
    ).dropna()
    n_clin = d["clinician"].nunique()
    if n_clin < 2:
        raise ValueError(
            f"therapist effects need ratings with a clinician column and at least 2 clinicians; "
            f"got {n_clin}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = smf.mixedlm(
            "score ~ 1", d, groups=d["clinician"], re_formula="1",
            vc_formula={"client": "0 + C(unit)"},
        ).fit(reml=True)  # fmt: skip
    tau_t = float(np.asarray(result.cov_re)[0, 0])
    tau_c = float(np.asarray(result.vcomp)[0])
    sigma = float(result.scale)
    total = tau_t + tau_c + sigma
    note = f"intercept-only REML (statsmodels); {n_clin} clinicians" + (
        "; fewer than 30 clinicians: an imprecise estimate" if n_clin < 30 else ""
    )
    return pd.DataFrame(
        {
            "component": ["clinician", "client", "session"],
            "variance": [tau_t, tau_c, sigma],
            "share": [tau_t / total, tau_c / total, sigma / total],
            "n_clinicians": n_clin,
            "n_clients": d["unit"].nunique(),
            "n_obs": len(d),
            "note": note,
        }
    )[list(EFFECT_COLUMNS)]
