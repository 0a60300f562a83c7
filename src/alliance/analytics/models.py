"""Alliance–outcome multilevel models separating within-client from between-client effects.

The question: when a client's alliance is better than usual *for them* at one session, is
their outcome better at the next? (Falkenström, Granström & Holmqvist 2013; Zilcha-Mano
2014.) The pragmatic multilevel version (statsmodels ``MixedLM``, REML):

    outcome[t+1] ~ alliance_within[t] + alliance_between + outcome[t] + log(session[t])

- ``alliance_within`` = the rating minus the client's own mean (person-mean centred); in the
  ``detrended`` variant, the residual of a per-client straight line of alliance on session
  (person-mean centring fails when the alliance itself has a trend);
- ``alliance_between`` = the client's mean, grand-mean centred (attenuated when clients have
  few sessions, because person means from few ratings are unreliable);
- ``outcome[t]`` is the lagged outcome, grand-mean centred but *not* person-mean centred
  (person-mean centring a lagged outcome biases its coefficient downward, Hamaker & Grasman
  2015); the ``unlagged`` variant leaves it out;
- ``log(session)`` absorbs the long-term trend (Finch et al. 2001's log-session shape;
  Falkenström et al. 2017 and 2020 on detrending);
- random intercept per client; with at least ``min_clinicians`` clinicians, clients are
  nested in clinicians (a clinician random intercept and a client variance component).

A lagged outcome with a random intercept in a short series is endogenous, so its estimates are
biased (Nickell 1981; Falkenström et al. 2017) — by about −(1 + ρ)/(T − 1) for the
autoregressive coefficient. Every row says so in its ``caveat`` column; a structural-equation
model (RI-CLPM) is the recommended confirmation (Falkenström 2024).

Checked against: parameter recovery on simulated clinics with a known within-client effect
(``tests/analytics/test_models.py``: the 95% interval covers the truth in at least 90 of 100
seeds) and, for a model without clinicians, ``statsmodels`` ``MixedLM`` fitted directly on
the same formula.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from alliance.analytics.series import Ordered, order_series

MODEL_COLUMNS = (
    "model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n_obs",
    "n_clients", "n_clinicians", "converged", "caveat",
)  # fmt: skip

CAVEATS = {
    "lagged": (
        "approximate: a lagged outcome with a random intercept in a short series is "
        "endogenous (Nickell 1981; Falkenström et al. 2017); confirm with RI-CLPM"
    ),
    "detrended": (
        "sensitivity: within-client alliance detrended per client; lagged-outcome caveat "
        "applies (Nickell 1981; Falkenström et al. 2017)"
    ),
    "unlagged": (
        "sensitivity: no lagged outcome, so earlier outcome can confound the alliance effect "
        "(Zilcha-Mano et al. 2015)"
    ),
    "between": "between-client effect is attenuated when clients have few sessions",
}
TERMS = {
    "alliance_within": "alliance (within client)",
    "alliance_between": "alliance (between clients)",
    "outcome_c": "outcome this session",
    "log_session": "log(session)",
    "Intercept": "intercept",
}


def session_panel(
    data: pd.DataFrame | Ordered,
    *,
    alliance: tuple[str, str] = ("wai-sr", "total"),
    outcome: tuple[str, str] = ("phq-9", "total"),
) -> pd.DataFrame:
    """One row per client session with the client's alliance and outcome ratings and the
    outcome of the next session (``outcome_next``, only when that session is ``session + 1``).

    Columns: ``client, episode, clinician, session, alliance, outcome, outcome_next``.
    """
    ordered = data if isinstance(data, Ordered) else order_series(data)
    frames = []
    for name, (instrument, scale) in (("alliance", alliance), ("outcome", outcome)):
        rows = np.flatnonzero(
            ordered.select(instrument=instrument, scale=scale, perspective="client")
        )
        if not len(rows):
            raise ValueError(f"no client {instrument} {scale} ratings for the {name} side")
        meta = ordered.meta(rows)[["client", "episode", "session", "clinician"]]
        frames.append(meta.assign(**{name: ordered.score[rows]}))
    keys = ["client", "episode", "session"]
    panel = (
        frames[0]
        .merge(frames[1].drop(columns="clinician"), on=keys, how="outer")
        .sort_values(keys, ignore_index=True)
    )
    panel["clinician"] = panel.groupby(["client", "episode"])["clinician"].transform(
        lambda c: c.ffill().bfill()
    )
    following = panel.groupby(["client", "episode"])
    next_session = following["session"].shift(-1)
    panel["outcome_next"] = (
        following["outcome"].shift(-1).where(next_session == panel["session"] + 1)
    )
    return panel[["client", "episode", "clinician", "session", "alliance", "outcome",
                  "outcome_next"]]  # fmt: skip


def _prepare(panel: pd.DataFrame) -> pd.DataFrame:
    d = panel.dropna(subset=["alliance", "outcome", "outcome_next"]).copy()
    d["unit"] = d["client"].astype(str) + "/" + d["episode"].astype(str)
    person = d.groupby("unit")["alliance"].transform("mean")
    d["alliance_within"] = d["alliance"] - person
    means = d.groupby("unit")["alliance"].mean()
    d["alliance_between"] = person - means.mean()
    d["outcome_c"] = d["outcome"] - d["outcome"].mean()
    d["log_session"] = np.log(d["session"].astype(np.float64))
    d["alliance_within_detrended"] = _detrend(d)
    return d


def _detrend(d: pd.DataFrame) -> pd.Series:
    """Residual of a per-unit line of alliance on session (person-mean centred where a unit
    has fewer than 3 sessions)."""
    s = d["session"].astype(np.float64)
    g = d.groupby("unit")
    s_mean = g["session"].transform("mean")
    a_mean = g["alliance"].transform("mean")
    ds, da = s - s_mean, d["alliance"] - a_mean
    sxx = (ds * ds).groupby(d["unit"]).transform("sum")
    sxy = (ds * da).groupby(d["unit"]).transform("sum")
    n = g["alliance"].transform("size")
    slope = (sxy / sxx).where((n >= 3) & (sxx > 0), 0.0)
    return da - slope * ds


def alliance_outcome_models(
    panel: pd.DataFrame,
    *,
    min_clinicians: int = 5,
    variants: tuple[str, ...] = ("lagged", "detrended", "unlagged"),
    ci: float = 0.95,
) -> pd.DataFrame:
    """Fit the primary model (``lagged``) and its sensitivity variants; return one tidy row
    per model and term (:data:`MODEL_COLUMNS`)."""
    unknown = [v for v in variants if v not in ("lagged", "detrended", "unlagged")]
    if unknown:
        raise ValueError(f"unknown model variants {unknown}; allowed: lagged, detrended, unlagged")
    d = _prepare(panel)
    n_units = d["unit"].nunique()
    if n_units < 5 or len(d) < 20:
        raise ValueError(
            f"too few clients or sessions with alliance, outcome and next outcome "
            f"({n_units} clients, {len(d)} sessions; need at least 5 and 20)"
        )
    clinicians = d["clinician"].dropna().nunique() if "clinician" in d else 0
    nested = bool(clinicians >= min_clinicians and d["clinician"].notna().all())
    rows = []
    for variant in variants:
        within = "alliance_within_detrended" if variant == "detrended" else "alliance_within"
        terms = f"{within} + alliance_between + log_session"
        if variant != "unlagged":
            terms += " + outcome_c"
        rows.append(_fit(d, variant, f"outcome_next ~ {terms}", within, nested=nested, ci=ci))
    out = pd.concat(rows, ignore_index=True)
    out["n_clinicians"] = clinicians
    return out[list(MODEL_COLUMNS)]


def _fit(
    d: pd.DataFrame, variant: str, formula: str, within: str, *, nested: bool, ci: float
) -> pd.DataFrame:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if nested:
            model = smf.mixedlm(
                formula, d, groups=d["clinician"], re_formula="1",
                vc_formula={"client": "0 + C(unit)"},
            )  # fmt: skip
        else:
            model = smf.mixedlm(formula, d, groups=d["unit"])
        result = model.fit(reml=True)
    converged = bool(getattr(result, "converged", True)) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    table = result.conf_int(alpha=1 - ci)
    params, bse, pvalues = result.fe_params, result.bse_fe, result.pvalues
    out = pd.DataFrame(
        {
            "model": variant,
            "term": [TERMS.get("alliance_within" if t == within else t, t) for t in params.index],
            "estimate": params.to_numpy(),
            "std_error": bse.to_numpy(),
            "ci_low": table.loc[params.index, 0].to_numpy(),
            "ci_high": table.loc[params.index, 1].to_numpy(),
            "p_value": pvalues.loc[params.index].to_numpy(),
            "n_obs": int(result.nobs),
            "n_clients": d["unit"].nunique(),
            "converged": converged,
        }
    )
    out["caveat"] = CAVEATS[variant]
    out.loc[out["term"] == TERMS["alliance_between"], "caveat"] += "; " + CAVEATS["between"]
    return out
