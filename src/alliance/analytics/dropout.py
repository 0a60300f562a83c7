"""Dropout against early alliance: logistic regression of dropping out on the early alliance.

The alliance predicts dropout (d ≈ .55 over 11 studies, Sharf, Primavera & Diener 2010), and
early ratings (sessions 1–3) are the usual predictor. Model (statsmodels ``Logit``):

    P(dropped_out) = logistic(b₀ + b₁·z)

with ``z`` the client's mean alliance over the first ``sessions`` sessions, standardized over
clients (so ``exp(b₁)`` is the odds ratio per SD of early alliance). Only episodes with an
early rating and a known end (``completed`` or ``dropped_out``) are used; other end reasons
(``referred``…) are left out.

Checked against: a direct maximisation of the same log-likelihood with ``scipy.optimize``
(``tests/analytics/test_dropout.py``) and the direction of the effect simulated by
:mod:`alliance.simulate`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from alliance.analytics.series import Ordered, order_series

DROPOUT_COLUMNS = (
    "term", "estimate", "std_error", "odds_ratio", "ci_low", "ci_high", "p_value", "n",
    "dropouts", "note",
)  # fmt: skip


def early_alliance(
    data: pd.DataFrame | Ordered, *, instrument: str, scale: str = "total", sessions: int = 3
) -> pd.DataFrame:
    """Per client episode: mean of the client's ratings in sessions 1 … ``sessions``."""
    ordered = data if isinstance(data, Ordered) else order_series(data)
    rows = np.flatnonzero(
        ordered.select(instrument=instrument, scale=scale, perspective="client")
        & (ordered.session <= sessions)
    )
    meta = ordered.meta(rows)
    frame = pd.DataFrame(
        {"client": meta["client"], "episode": meta["episode"], "score": ordered.score[rows]}
    )
    return (
        frame.groupby(["client", "episode"], sort=True)["score"]
        .mean()
        .rename("early_alliance")
        .reset_index()
    )


def dropout_model(early: pd.DataFrame, episodes: pd.DataFrame, *, ci: float = 0.95) -> pd.DataFrame:
    """Logistic regression of ``end_reason == "dropped_out"`` on standardized early alliance.

    ``early`` comes from :func:`early_alliance`; ``episodes`` has ``client, episode,
    end_reason``. Returns one row per term (:data:`DROPOUT_COLUMNS`).
    """
    for column in ("client", "episode", "end_reason"):
        if column not in episodes.columns:
            raise ValueError(f"episodes need a column {column!r}")
    ends = episodes[["client", "episode", "end_reason"]].astype({"client": str, "episode": str})
    early = early.astype({"client": str, "episode": str})
    d = early.merge(ends, on=["client", "episode"], how="inner")
    d = d[d["end_reason"].isin(["completed", "dropped_out"])]
    y = (d["end_reason"] == "dropped_out").to_numpy(dtype=np.float64)
    if len(d) < 10 or y.sum() < 2 or y.sum() > len(y) - 2:
        raise ValueError(
            f"dropout model needs at least 10 episodes with at least 2 dropouts and 2 "
            f"completions; got {len(d)} episodes, {int(y.sum())} dropouts"
        )
    x = d["early_alliance"].to_numpy(dtype=np.float64)
    sd = float(x.std(ddof=1))
    if not sd > 0:
        raise ValueError("early alliance does not vary between clients")
    z = (x - x.mean()) / sd
    design = sm.add_constant(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sm.Logit(y, design).fit(disp=0)
    bounds = np.asarray(result.conf_int(alpha=1 - ci))
    params, bse, pvalues = (np.asarray(v) for v in (result.params, result.bse, result.pvalues))
    note = f"logistic (statsmodels Logit); early alliance SD {sd:.3g} points"
    return pd.DataFrame(
        {
            "term": ["intercept", "early alliance (per SD)"],
            "estimate": params,
            "std_error": bse,
            "odds_ratio": np.exp(params),
            "ci_low": np.exp(bounds[:, 0]),
            "ci_high": np.exp(bounds[:, 1]),
            "p_value": pvalues,
            "n": len(d),
            "dropouts": int(y.sum()),
            "note": note,
        }
    )[list(DROPOUT_COLUMNS)]
