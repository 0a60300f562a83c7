"""One clinician's calibration: how close their predictions of the client's alliance rating
came, over time and with uncertainty, and how often they noticed a drop the client reported.

Client and clinician ratings of the alliance agree only moderately (r = .36; on average
clients rate it higher, d = .63 — Tryon, Blackwell & Hammel 2007), and clients keep
dissatisfaction to themselves (Blanchard & Farber 2016), so a clinician's sense of one
client's session can miss what the client felt; feedback on one's own predictions is a way to
learn what would otherwise stay unseen. (Tryon et al. studied rating agreement, not whether
clinicians notice ruptures; therapists reported more ruptures than patients in Muran et al.
2009.) The figures, all over the sessions in which the clinician
predicted the client's rating and the client rated (:func:`~alliance.analytics.agreement.
calibration_pairs`; ``error = prediction − rating``):

- **mean error** with a 95% interval clustered by client (:func:`clustered_mean`): a
  client whom the clinician misreads tends to be misread at every session, so sessions are
  not independent; a positive mean error on a higher-is-better scale is overestimation;
- **direction**: ``over`` when the interval lies above 0, ``under`` when below, otherwise
  ``unclear``;
- **clearly lower**: sessions the calibration rule
  (:class:`~alliance.analytics.agreement.CalibrationGap`) flags — the client rated at least
  ``min_difference`` × the scale's range below the prediction (default 0.15 × 48 = 7.2 WAI-SR
  points; a derived threshold, no published one exists); **clearly higher** is the same
  distance the other way;
- **per period** (calendar months by default): the rows of
  :func:`~alliance.analytics.agreement.calibration_table` with the same clustered interval;
- **largest gaps**: the sessions with the largest absolute error;
- **drops noticed**: a *drop* is a session in which a rupture rule that detects a fall
  (by default drop from the client's own baseline and reliable drop; the service passes the
  organization's configured ones) fired on the client's own rating. It counts as *noticed*
  when, in that same session, the clinician reported a rupture
  (:class:`~alliance.analytics.ruptures.ReportedRupture`) or their prediction fell from their
  own previous prediction for that client by at least ``min_prediction_fall`` × the scale's
  range (default 0.1 × 48 = 4.8 WAI-SR points). [DERIVED] Both the same-session window and
  the prediction-fall threshold are the project's definitions; comparing a prediction with
  the clinician's own earlier predictions, not with the client's rating, keeps a clinician's
  general optimism from counting as noticing.

No figure here compares clinicians: the input must hold one clinician's predictions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm

from alliance.analytics.agreement import (
    CalibrationGap,
    calibration_pairs,
    calibration_table,
    rating_periods,
)
from alliance.analytics.detector import Detector
from alliance.analytics.ruptures import DropFromBaseline, ReliableDrop, ReportedRupture
from alliance.analytics.series import Ordered, order_series

LEVEL = 0.95
MIN_PREDICTION_FALL = 0.1
MIN_CLIENTS = 3  # [DERIVED] no interval from fewer clients: with 2, t(1) = 12.7 says nothing
Direction = Literal["over", "under", "unclear"]

PERIOD_COLUMNS = ("period", "n", "clients", "bias", "low", "high", "mean_abs_error",
                  "correlation")  # fmt: skip
DROP_COLUMNS = ("client", "episode", "session", "date", "rating", "rules", "reported",
                "prediction", "previous_prediction", "prediction_fell", "noticed")  # fmt: skip


@dataclass(frozen=True)
class ClusteredMean:
    """A mean over ``n`` values from ``clusters`` clients with its interval (None with too
    few clients)."""

    n: int
    clusters: int
    mean: float | None
    low: float | None
    high: float | None


def clustered_mean(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    level: float = LEVEL,
    min_clusters: int = 2,
) -> ClusteredMean:
    """The mean of ``values`` with a cluster-robust interval (clusters: one id per value).

    Formula: with N values in G clusters, residuals ``r = x − x̄`` and cluster sums
    ``S_g = Σ r``, the variance of the mean is ``V = G/(G − 1) · Σ S_g² / N²`` (the sandwich
    estimator of an intercept-only regression with the usual small-sample factor
    G/(G − 1)·(N − 1)/(N − k), which is G/(G − 1) for k = 1), and the interval is
    ``x̄ ± t(G − 1) · √V`` (t quantile with G − 1 degrees of freedom).
    Computed by statsmodels (``OLS(...).fit(cov_type="cluster", use_t=True)``, whose
    cluster covariance statsmodels documents as matching Stata's); the sandwich estimator is
    Liang & Zeger (1986), a reference from background knowledge the project did not check
    against the paper. Checked against the formula above computed by hand
    (``tests/analytics/test_calibration.py``).

    >>> m = clustered_mean([1.0, 3.0, 2.0, 6.0], ["a", "a", "b", "b"])
    >>> (m.n, m.clusters, m.mean)
    (4, 2, 3.0)
    >>> round(m.low, 2), round(m.high, 2)
    (-9.71, 15.71)

    With fewer than ``min_clusters`` clusters (at least 2) the interval is None.
    """
    if not 0 < level < 1:
        raise ValueError(f"level: a probability between 0 and 1 (exclusive); got {level!r}")
    if isinstance(min_clusters, bool) or not isinstance(min_clusters, int) or min_clusters < 2:
        raise ValueError(f"min_clusters: a whole number of 2 or more; got {min_clusters!r}")
    x = np.asarray(values, dtype=np.float64)
    groups = np.asarray(clusters, dtype=object)
    if x.shape != groups.shape or x.ndim != 1:
        raise ValueError(
            f"values and clusters: one cluster id per value; got {x.shape} and {groups.shape}"
        )
    keep = ~np.isnan(x)
    x, groups = x[keep], groups[keep]
    codes = pd.factorize(pd.Series(groups, dtype=object))[0]
    n, g = len(x), int(codes.max()) + 1 if len(codes) else 0
    if n == 0:
        return ClusteredMean(0, 0, None, None, None)
    mean = float(x.mean())
    if g < min_clusters:
        return ClusteredMean(n, g, mean, None, None)
    if np.all(x == x[0]):
        return ClusteredMean(n, g, mean, mean, mean)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels notes on tiny samples; handled above
        fit = sm.OLS(x, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
        low, high = (float(v) for v in np.asarray(fit.conf_int(alpha=1 - level))[0])
    return ClusteredMean(n, g, mean, low, high)


@dataclass(frozen=True)
class Calibration:
    """One clinician's calibration on one instrument and scale (see the module docstring).

    ``pairs`` has :data:`~alliance.analytics.agreement.PAIR_COLUMNS` plus ``clearly_lower``
    and ``clearly_higher``; ``by_period`` has :data:`PERIOD_COLUMNS`; ``largest`` is the
    ``pairs`` rows with the largest absolute error; ``drops`` has :data:`DROP_COLUMNS`.
    """

    instrument: str
    scale: str
    scale_range: tuple[float, float]
    threshold: float
    min_difference: float
    prediction_fall: float
    pairs: pd.DataFrame
    error: ClusteredMean
    abs_error: ClusteredMean
    correlation: float
    by_period: pd.DataFrame
    largest: pd.DataFrame
    drops: pd.DataFrame
    level: float = LEVEL

    @property
    def n(self) -> int:
        return len(self.pairs)

    @property
    def clearly_lower(self) -> int:
        return int(self.pairs["clearly_lower"].sum()) if self.n else 0

    @property
    def clearly_higher(self) -> int:
        return int(self.pairs["clearly_higher"].sum()) if self.n else 0

    @property
    def share_clearly_lower(self) -> float | None:
        return self.clearly_lower / self.n if self.n else None

    @property
    def direction(self) -> Direction:
        """``over`` when the whole interval of the mean error is above 0, ``under`` below."""
        low, high = self.error.low, self.error.high
        if low is not None and low > 0:
            return "over"
        if high is not None and high < 0:
            return "under"
        return "unclear"

    @property
    def drops_noticed(self) -> int:
        return int(self.drops["noticed"].sum()) if len(self.drops) else 0


def calibration(
    data: pd.DataFrame | Ordered,
    *,
    instrument: str = "wai-sr",
    scale: str = "total",
    gap: CalibrationGap | None = None,
    drop_rules: Sequence[Detector] | None = None,
    min_prediction_fall: float = MIN_PREDICTION_FALL,
    largest: int = 5,
    period: str = "M",
    level: float = LEVEL,
    min_clients: int = MIN_CLIENTS,
) -> Calibration:
    """One clinician's calibration from a tidy score table (see the module docstring).

    ``data`` holds the clinician's clients' ratings: the client's own ratings, the
    clinician's predictions (stance ``prediction``) and the ``rupture_reported`` pseudo-scale.
    ``gap`` gives the "clearly lower" threshold (default :class:`CalibrationGap` with its
    default ``min_difference``); ``drop_rules`` are the rules whose signals on the client's
    own rating are drops (default drop from baseline and reliable drop). Intervals need at
    least ``min_clients`` clients (default 3; the project's choice).

    Raises
    ------
    ValueError
        When the predictions come from more than one clinician, or for a parameter outside
        its range (named).
    """
    if not 0 < min_prediction_fall <= 1:
        raise ValueError(
            f"min_prediction_fall: a share of the scale's range above 0 and at most 1; "
            f"got {min_prediction_fall!r}"
        )
    if isinstance(largest, bool) or not isinstance(largest, int) or largest < 0:
        raise ValueError(f"largest: a whole number of 0 or more; got {largest!r}")
    ordered = data if isinstance(data, Ordered) else order_series(data)
    gap = gap if gap is not None else CalibrationGap()
    if not isinstance(gap, CalibrationGap):
        raise TypeError(f"gap: a CalibrationGap; got {gap!r}")
    gap = CalibrationGap(instrument=instrument, scale=scale,
                         min_difference=gap.min_difference, severity=gap.severity)  # fmt: skip
    low, high, sign = _scale_of(ordered, instrument, scale)
    threshold = gap.min_difference * (high - low)

    pairs = calibration_pairs(ordered, scale=scale, instrument=instrument)
    clinicians = sorted(map(str, pairs["clinician"].unique()))
    if len(clinicians) > 1:
        raise ValueError(
            f"data: predictions of {len(clinicians)} clinicians ({', '.join(clinicians)}); "
            "calibration is shown for one clinician at a time"
        )
    flagged = _visits(gap.signals(ordered))
    pairs["clearly_lower"] = [
        (str(c), str(e), int(s)) in flagged
        for c, e, s in pairs[["client", "episode", "session"]].itertuples(index=False)
    ]
    pairs["clearly_higher"] = sign * pairs["error"] <= -threshold
    table = calibration_table(ordered, scale=scale, period=period)
    table = table[table["instrument"] == instrument]
    overall = table[table["period"] == "all"]
    interval = partial(clustered_mean, level=level, min_clusters=min_clients)
    by_period = _by_period(pairs, table[table["period"] != "all"], period, interval)
    order = pairs["error"].abs().sort_values(ascending=False, kind="stable").index
    return Calibration(
        instrument=instrument,
        scale=scale,
        scale_range=(low, high),
        threshold=threshold,
        min_difference=gap.min_difference,
        prediction_fall=min_prediction_fall * (high - low),
        pairs=pairs,
        error=interval(pairs["error"], pairs["client"]),
        abs_error=interval(pairs["error"].abs(), pairs["client"]),
        correlation=float(overall["correlation"].iloc[0]) if len(overall) else math.nan,
        by_period=by_period,
        largest=pairs.loc[order[:largest]].reset_index(drop=True),
        drops=_drops(ordered, instrument, scale, drop_rules, min_prediction_fall * (high - low)),
        level=level,
    )


def _scale_of(ordered: Ordered, instrument: str, scale: str) -> tuple[float, float, float]:
    for key in ordered.keys:
        if key.instrument == instrument and key.scale == scale and key.scale_definition:
            low, high = key.scale_definition.range
            return float(low), float(high), key.sign
    raise ValueError(
        f"instrument/scale: no {instrument} {scale} ratings in the data; calibration needs "
        "the client's ratings and the clinician's predictions of them"
    )


def _visits(signals: pd.DataFrame) -> set[tuple[str, str, int]]:
    return {
        (str(c), str(e), int(s))
        for c, e, s in signals[["client", "episode", "session"]].itertuples(index=False)
    }


def _by_period(
    pairs: pd.DataFrame,
    table: pd.DataFrame,
    period: str,
    interval: Callable[[pd.Series, pd.Series], ClusteredMean],
) -> pd.DataFrame:
    if pairs.empty or table.empty:
        return pd.DataFrame(columns=list(PERIOD_COLUMNS))
    labels = rating_periods(pairs["date"], period)
    rows = []
    for row in table.to_dict("records"):
        part = pairs[labels == row["period"]]
        estimate = interval(part["error"], part["client"])
        rows.append(
            {
                "period": str(row["period"]),
                "n": int(row["n"]),
                "clients": estimate.clusters,
                "bias": float(row["bias"]),
                "low": estimate.low,
                "high": estimate.high,
                "mean_abs_error": float(row["mean_abs_error"]),
                "correlation": float(row["correlation"]),
            }
        )
    return pd.DataFrame(rows, columns=list(PERIOD_COLUMNS))


def _drops(
    ordered: Ordered,
    instrument: str,
    scale: str,
    rules: Sequence[Detector] | None,
    fall: float,
) -> pd.DataFrame:
    """One row per session with a drop signal on the client's own rating."""
    chosen = list(rules) if rules is not None else [DropFromBaseline(), ReliableDrop()]
    own = ordered.select(instrument=instrument, scale=scale, perspective="client")
    at: dict[int, list[str]] = {}
    for rule in chosen:
        found = rule.signals(ordered)
        for position in found.index.to_numpy(dtype=np.int64):
            if own[position]:
                at.setdefault(int(position), []).append(rule.rule)
    if not at:
        return pd.DataFrame(columns=list(DROP_COLUMNS))
    positions = np.array(sorted(at), dtype=np.int64)
    visits = ordered.visit[positions]
    reported = ReportedRupture(instrument=instrument, perspective="clinician").signals(ordered)
    reported_at = set(ordered.visit[reported.index.to_numpy(dtype=np.int64)].tolist())
    predicted = np.flatnonzero(
        ordered.select(instrument=instrument, scale=scale, perspective="clinician",
                       stance="prediction")
    )  # fmt: skip
    prediction = dict(zip(ordered.visit[predicted].tolist(), ordered.score[predicted], strict=True))
    previous = dict(
        zip(ordered.visit[predicted].tolist(), ordered.previous_score[predicted], strict=True)
    )
    sign = ordered.sign[positions]
    meta = ordered.meta(positions)
    rows = []
    for i, visit in enumerate(visits.tolist()):
        now, before = prediction.get(visit, math.nan), previous.get(visit, math.nan)
        fell = bool(sign[i] * (before - now) >= fall) if not math.isnan(now + before) else False
        was_reported = visit in reported_at
        rows.append(
            {
                "client": meta["client"].iloc[i],
                "episode": meta["episode"].iloc[i],
                "session": int(meta["session"].iloc[i]),
                "date": meta["date"].iloc[i] if "date" in meta else None,
                "rating": float(ordered.score[positions[i]]),
                "rules": ", ".join(dict.fromkeys(at[int(positions[i])])),
                "reported": was_reported,
                "prediction": None if math.isnan(now) else float(now),
                "previous_prediction": None if math.isnan(before) else float(before),
                "prediction_fell": fell,
                "noticed": was_reported or fell,
            }
        )
    return pd.DataFrame(rows, columns=list(DROP_COLUMNS))
