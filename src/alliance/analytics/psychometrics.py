"""Internal consistency: Cronbach's alpha with its Feldt interval, McDonald's omega total
from a one-factor model, and item statistics.

Formulas, with ``k`` items and item covariance matrix ``C`` over complete rows (listwise):

- **alpha** ``α = k/(k − 1)·(1 − tr(C) / 1ᵀC1)`` (Cronbach 1951; Guttman's λ₃);
- **Feldt interval** (Feldt, Woodruff & Salih 1987): with ``F`` on ``n − 1`` and
  ``(n − 1)(k − 1)`` degrees of freedom, ``1 − (1 − α)·F(1 − a/2)`` to ``1 − (1 − α)·F(a/2)``,
  with ``n`` the number of complete rows actually used;
- **omega total** from one factor fitted by maximum likelihood to the item *correlations*
  (``statsmodels.multivariate.factor.Factor``, ``method="ml"``), loadings ``λ`` and
  uniquenesses ``θ = 1 − λ²``: ``ω = (Σλ)² / ((Σλ)² + Σθ)`` (McDonald 1999; the model-implied
  form of ``psych::omega`` for one factor, standardized items). Minres and ML extraction
  give slightly different ω; this one is ML.
- **corrected item–total correlation**: each item with the sum of the other items; **alpha if
  deleted**: alpha of the other items.

Checked against: ``pingouin.cronbach_alpha`` (alpha and its interval) and
``factor_analyzer.FactorAnalyzer(n_factors=1, method="ml")`` loadings (omega) on a bundled
dataset, ``tests/data/wai-sr-items.csv``, and pingouin's own example dataset
(``tests/analytics/test_psychometrics.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from statsmodels.multivariate.factor import Factor

RELIABILITY_COLUMNS = ("statistic", "value", "ci_low", "ci_high", "n", "k", "method", "note")

MIN_ROWS_FOR_CHANGE = 30
"""Rows with differing item answers needed before a file's own alpha goes into a
reliable-change value [DERIVED]: with 30 rows and 4 items an alpha of .80 has a one-sided 95%
Feldt lower bound of .68; with fewer the bound, and the value, swing widely."""


def _complete(items: pd.DataFrame) -> npt.NDArray[np.float64]:
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a DataFrame (one column per item); got {type(items)}")
    if items.shape[1] < 2:
        raise ValueError(f"reliability needs at least 2 item columns; got {items.shape[1]}")
    try:
        matrix = items.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("item columns must hold numbers") from None
    complete: npt.NDArray[np.float64] = matrix[~np.isnan(matrix).any(axis=1)]
    if len(complete) < 3:
        raise ValueError(f"reliability needs at least 3 complete rows; got {len(complete)}")
    return complete


def cronbach_alpha(items: pd.DataFrame, *, ci: float = 0.95) -> tuple[float, float, float, int]:
    """Alpha, the Feldt interval's bounds and the number of complete rows used.

    >>> frame = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(cronbach_alpha(frame)[0], 4)
    0.9538
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1; got {ci!r}")
    x = _complete(items)
    n, k = x.shape
    cov = np.cov(x, rowvar=False)
    total = float(cov.sum())
    if total <= 0:
        raise ValueError("the items do not vary; alpha is undefined")
    alpha = k / (k - 1) * (1.0 - float(np.trace(cov)) / total)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    a = 1 - ci
    low = 1 - (1 - alpha) * float(stats.f.isf(a / 2, df1, df2))
    high = 1 - (1 - alpha) * float(stats.f.isf(1 - a / 2, df1, df2))
    return alpha, low, high, n


def one_factor_loadings(items: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Standardized loadings of one factor fitted by maximum likelihood (statsmodels),
    signed so that their sum is positive."""
    x = _complete(items)
    if (np.ptp(x, axis=0) == 0).any():  # checked first: numpy warns on a zero SD
        raise ValueError("an item does not vary; its correlations are undefined")
    corr = np.corrcoef(x, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Factor(corr=corr, n_factor=1, method="ml", nobs=len(x)).fit()
    loadings = np.asarray(fitted.loadings, dtype=np.float64)[:, 0]
    return loadings if loadings.sum() >= 0 else -loadings


def omega_total(items: pd.DataFrame) -> float:
    """McDonald's omega total from one ML factor on the item correlations."""
    loadings = one_factor_loadings(items)
    common = float(loadings.sum()) ** 2
    unique = float(np.sum(1.0 - loadings**2))
    return common / (common + unique)


def reliability(items: pd.DataFrame, *, ci: float = 0.95) -> pd.DataFrame:
    """Alpha (with its Feldt interval) and omega total as a tidy table (``RELIABILITY_COLUMNS``).
    Rows with a missing item are left out (listwise)."""
    alpha, low, high, n = cronbach_alpha(items, ci=ci)
    k = items.shape[1]
    omega = omega_total(items)
    return pd.DataFrame(
        [
            ("alpha", alpha, low, high, n, k, "Cronbach; Feldt interval",
             f"{ci:.0%} interval; complete rows only"),
            ("omega_total", omega, np.nan, np.nan, n, k, "McDonald; one ML factor on "
             "correlations (statsmodels)", "no interval computed; assumes one factor"),
        ],
        columns=list(RELIABILITY_COLUMNS),
    )  # fmt: skip


def item_statistics(items: pd.DataFrame) -> pd.DataFrame:
    """Per item: ``item, n, mean, sd, item_total_r`` (corrected), ``alpha_if_deleted``,
    ``loading`` (one ML factor)."""
    x = _complete(items)
    k = x.shape[1]
    total = x.sum(axis=1)
    rows = []
    loadings = one_factor_loadings(items)
    for j, name in enumerate(items.columns):
        rest = total - x[:, j]
        varies = np.ptp(x[:, j]) > 0 and np.ptp(rest) > 0
        r = float(np.corrcoef(x[:, j], rest)[0, 1]) if varies else float("nan")
        others = pd.DataFrame(np.delete(x, j, axis=1))
        alpha_without = cronbach_alpha(others)[0] if k > 2 else float("nan")
        rows.append(
            (str(name), len(x), float(x[:, j].mean()), float(x[:, j].std(ddof=1)), r,
             alpha_without, float(loadings[j]))
        )  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["item", "n", "mean", "sd", "item_total_r", "alpha_if_deleted", "loading"],
    )


def change_reliability(
    items: pd.DataFrame, *, min_rows: int = MIN_ROWS_FOR_CHANGE
) -> tuple[float, int] | str:
    """The reliability to put into a reliable-change value from a file's own item answers:
    ``(r, n)``, or a sentence saying why there is none [DERIVED].

    ``r`` is Cronbach's alpha over the ``n`` complete rows whose answers are not all equal,
    taken at the lower bound of its one-sided 95% Feldt interval. A row that gives every item
    the same mark says nothing about how much items disagree, and a file of such rows has an
    alpha of 1 whatever the measurement error (an SRS dip from 40 to 37 then counted as a
    "high" reliable drop); the lower bound makes a small sample give a smaller ``r`` and so a
    larger reliable change. Fewer than ``min_rows`` such rows give no value.

    >>> frame = pd.DataFrame({"a": [1, 2, 3, 4, 5] * 8, "b": [2, 2, 3, 5, 5] * 8,
    ...                       "c": [1, 3, 3, 4, 4] * 8})
    >>> r, n = change_reliability(frame)
    >>> (round(r, 3), n)
    (0.929, 32)
    """
    x = _complete(items)
    varied = x[np.ptp(x, axis=1) > 0]
    if len(varied) < min_rows:
        return (
            f"only {len(varied)} complete rows answer the items differently (at least "
            f"{min_rows} are needed); rows that mark every item the same do not show "
            "measurement error"
        )
    try:
        _, low, _, n = cronbach_alpha(pd.DataFrame(varied), ci=0.90)
    except ValueError as exc:
        return str(exc)
    if not low > 0:
        return f"the items hardly agree (alpha's lower bound {low:.2f})"
    return min(low, 0.99), n
