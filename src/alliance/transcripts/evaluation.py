"""Statistics for checking transcript signals against ratings: ρ, AUROC, partial ρ, bootstrap.

- **Spearman's ρ**: Pearson's correlation of the ranks, ties given their average rank
  (Spearman 1904). Checked by hand in the tests (a tie-free case against
  1 − 6Σd²/(n(n²−1)), and a case with ties).
- **AUROC**: the probability that a random positive case scores above a random negative one,
  ties counting one half — the Mann–Whitney U statistic divided by n₁n₀ (Hanley & McNeil
  1982, Radiology 143:29–36), computed from average ranks.
- **Partial Spearman ρ**: ranks of x and y are each regressed (least squares, with an
  intercept) on the ranks of the covariates, and the residuals correlated.
- **Bootstrap confidence interval**: percentile interval over resamples of whole sessions
  (Efron & Tibshirani 1993, ch. 13); resamples where the statistic is undefined (for
  example a resample with no positive case) are dropped and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

Floats = npt.NDArray[np.float64]


def _ranks(x: Floats) -> Floats:
    ranked: Floats = np.asarray(pd.Series(x).rank(method="average"), dtype=np.float64)
    return ranked


def _pearson(x: Floats, y: Floats) -> float:
    x, y = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((x @ x) * (y @ y)))
    return float(x @ y) / denominator if denominator > 0 else float("nan")


def _clean(*arrays: npt.ArrayLike) -> list[Floats]:
    columns = [np.asarray(a, dtype=np.float64) for a in arrays]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError(f"the inputs differ in length: {sorted(lengths)}")
    keep = np.ones(len(columns[0]), dtype=bool)
    for c in columns:
        keep &= ~np.isnan(c)
    return [c[keep] for c in columns]


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman's ρ over the pairs where neither value is missing."""
    a, b = _clean(x, y)
    if len(a) < 3:
        return float("nan")
    return _pearson(_ranks(a), _ranks(b))


def auroc(scores: npt.ArrayLike, positive: npt.ArrayLike) -> float:
    """Area under the ROC curve of ``scores`` for the cases where ``positive`` is true."""
    s, p = _clean(scores, positive)
    is_pos = p.astype(bool)
    n1, n0 = int(is_pos.sum()), int((~is_pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = _ranks(s)
    u = ranks[is_pos].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))


def partial_spearman(
    x: npt.ArrayLike, y: npt.ArrayLike, covariates: Sequence[npt.ArrayLike]
) -> float:
    """Spearman's ρ of x and y with the ranks of the covariates partialled out."""
    if not covariates:
        raise ValueError("covariates: at least one is needed")
    columns = _clean(x, y, *covariates)
    if len(columns[0]) < len(covariates) + 3:
        return float("nan")
    ranked = [_ranks(c) for c in columns]
    design = np.column_stack([np.ones(len(ranked[0])), *ranked[2:]])

    def residual(v: Floats) -> Floats:
        beta = np.linalg.lstsq(design, v, rcond=None)[0]
        fitted: Floats = design @ beta
        return v - fitted

    return _pearson(residual(ranked[0]), residual(ranked[1]))


@dataclass(frozen=True, slots=True)
class Estimate:
    """A statistic with its percentile bootstrap interval."""

    value: float
    low: float
    high: float
    n: int
    resamples: int
    dropped: int

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap(
    statistic: Callable[..., float],
    *columns: npt.ArrayLike,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 20261126,
) -> Estimate:
    """``statistic(*columns)`` with a percentile interval from resampling rows together."""
    if not 0 < level < 1:
        raise ValueError(f"level: must lie between 0 and 1, got {level!r}")
    if resamples < 100:
        raise ValueError(f"resamples: must be at least 100, got {resamples!r}")
    data = [np.asarray(c, dtype=np.float64) for c in columns]
    n = len(data[0])
    value = statistic(*data)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        rows = rng.integers(0, n, size=n)
        draws.append(statistic(*(c[rows] for c in data)))
    finite = np.array([d for d in draws if np.isfinite(d)])
    if len(finite) == 0:
        return Estimate(value, float("nan"), float("nan"), n, resamples, resamples)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n, resamples, resamples - len(finite))
