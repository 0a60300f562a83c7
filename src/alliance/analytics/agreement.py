"""Client–clinician agreement: discrepancy between their own ratings, and how well the
clinician predicts the client's rating (calibration).

Client and therapist alliance ratings agree only moderately (r = .36 over 53 studies; clients
rate higher, d = .63 — Tryon, Blackwell & Hammel 2007), and clients often keep
dissatisfaction to themselves, so a clinician's sense of the session can be rosier than the
client's. Two stances are compared on the same instrument, scale and session:

- **discrepancy**: the client's own rating (``perspective = client, stance = self``) against
  the clinician's own rating (``perspective = clinician, stance = self``);
- **calibration**: the clinician's prediction of the client's rating (``perspective =
  clinician, stance = prediction``) against the client's own rating.

Differences are flagged from ``min_difference`` × the scale's range (a derived threshold: no
published one exists).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.detector import (
    INSTRUMENT_PARAM,
    SCALE_PARAM,
    SEVERITY_PARAM,
    Detector,
    Param,
    Severity,
    concat_signals,
)
from alliance.analytics.series import IntArray, Ordered, order_series


def _pairs(
    ordered: Ordered, instrument: str | None, scale: str, stance: str
) -> list[tuple[int, IntArray, IntArray]]:
    """Per series key of the clinician's ratings: (key, clinician rows, matching client rows)."""
    out = []
    for k, key in enumerate(ordered.keys):
        if key.perspective != "clinician" or key.stance != stance or key.scale != scale:
            continue
        if key.scale_definition is None or (instrument and key.instrument != instrument):
            continue
        theirs = np.flatnonzero(ordered.key == k)
        ours = np.flatnonzero(
            ordered.select(instrument=key.instrument, scale=key.scale, perspective="client")
        )
        _, a, b = np.intersect1d(
            ordered.visit[theirs], ordered.visit[ours], assume_unique=True, return_indices=True
        )
        if len(a):
            out.append((k, theirs[a], ours[b]))
    return out


class _Comparison(Detector):
    stance: str
    instrument: str | None
    scale: str
    min_difference: float
    severity: Severity
    both_ways: bool

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        parts = []
        for k, theirs, ours in _pairs(ordered, self.instrument, self.scale, self.stance):
            key = ordered.keys[k]
            if key.scale_definition is None:
                continue
            low, high = key.scale_definition.range
            threshold = self.min_difference * (high - low)
            gap = ordered.score[theirs] - ordered.score[ours]
            hit = np.abs(gap) >= threshold if self.both_ways else key.sign * gap >= threshold
            parts.append(
                self._signals(
                    ordered,
                    theirs[hit],
                    value=ordered.score[theirs[hit]],
                    reference=ordered.score[ours[hit]],
                    threshold=threshold,
                )
            )
        return concat_signals(parts)


_MIN_DIFFERENCE = Param(
    "min_difference", "smallest difference flagged, as a share of the scale's range", "number",
    low=0.01, high=1, unit="of the scale's range",
)  # fmt: skip


class Discrepancy(_Comparison):
    """The clinician's own rating differs from the client's by ``min_difference`` × range
    or more, in either direction (signal on the clinician's rating; value = clinician,
    reference = client)."""

    rule = "discrepancy"
    provenance = (
        "derived: a difference of min_difference × range between client and clinician ratings; "
        "why it matters is published (they agree only moderately, r = .36, Tryon et al. 2007), "
        "the threshold is the project's"
    )
    params = (INSTRUMENT_PARAM, SCALE_PARAM, _MIN_DIFFERENCE, SEVERITY_PARAM)
    stance = "self"
    both_ways = True

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        min_difference: float = 0.2,
        severity: Severity = "low",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.min_difference = min_difference
        self.severity = severity


class CalibrationGap(_Comparison):
    """The clinician predicted a better rating than the client gave, by ``min_difference`` ×
    range or more (signal on the prediction; value = prediction, reference = client)."""

    rule = "calibration_gap"
    provenance = (
        "derived: a learning aid, the project's own; client and therapist alliance ratings "
        "agree only moderately (r = .36, Tryon et al. 2007: rating agreement, not noticing "
        "ruptures; therapists report more ruptures than patients, Muran et al. 2009) and "
        "clients keep things from therapists (Blanchard & Farber 2016); the threshold is the "
        "project's"
    )
    params = (INSTRUMENT_PARAM, SCALE_PARAM, _MIN_DIFFERENCE, SEVERITY_PARAM)
    stance = "prediction"
    both_ways = False

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        min_difference: float = 0.15,
        severity: Severity = "medium",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.min_difference = min_difference
        self.severity = severity


PAIR_COLUMNS = ("clinician", "client", "episode", "session", "date", "instrument", "scale",
                "prediction", "rating", "error")  # fmt: skip


def calibration_pairs(
    data: pd.DataFrame | Ordered, *, scale: str = "total", instrument: str | None = None
) -> pd.DataFrame:
    """Every session in which the clinician predicted the client's rating and the client
    rated: one row each with :data:`PAIR_COLUMNS`.

    ``prediction`` is the clinician's prediction (``perspective = clinician, stance =
    prediction``), ``rating`` the client's own rating of the same instrument, scale and
    session, ``error = prediction − rating`` (positive = the clinician expected a better
    rating than the client gave, on a higher-is-better scale). ``date`` is the client's rating
    date (None without dates); ``clinician`` is the prediction's clinician, ``"(not given)"``
    when the table has none. Rows are in client, episode and session order.
    """
    ordered = data if isinstance(data, Ordered) else order_series(data)
    frames = []
    for _k, theirs, ours in _pairs(ordered, instrument, scale, "prediction"):
        meta = ordered.meta(ours)
        frames.append(
            pd.DataFrame(
                {
                    "clinician": ordered.meta(theirs)["clinician"].to_numpy(),
                    "client": meta["client"].to_numpy(),
                    "episode": meta["episode"].to_numpy(),
                    "session": meta["session"].to_numpy(),
                    "date": meta["date"].to_numpy() if "date" in meta else None,
                    "instrument": meta["instrument"].to_numpy(),
                    "scale": scale,
                    "prediction": ordered.score[theirs],
                    "rating": ordered.score[ours],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    pairs = pd.concat(frames, ignore_index=True)
    pairs["clinician"] = pairs["clinician"].fillna("(not given)")
    pairs["error"] = pairs["prediction"] - pairs["rating"]
    pairs = pairs.sort_values(["client", "episode", "session", "instrument"], kind="stable")
    return pairs.reset_index(drop=True)[list(PAIR_COLUMNS)]


def calibration_table(
    data: pd.DataFrame | Ordered, *, scale: str = "total", period: str = "M"
) -> pd.DataFrame:
    """Per clinician, instrument and period: how far predictions were from clients' ratings.

    Columns: ``clinician, instrument, scale, period, n, bias`` (mean of prediction − client,
    positive = overestimation on a higher-is-better scale), ``mean_abs_error``,
    ``correlation`` (Pearson, NaN with fewer than 3 pairs). ``period`` is a pandas period code
    applied to the client's rating date (``"M"`` months); without dates the period is
    ``"all"``. The overall row per clinician has period ``"all"``. The pairs behind it are
    :func:`calibration_pairs`.
    """
    columns = ["clinician", "instrument", "scale", "period", "n", "bias", "mean_abs_error",
               "correlation"]  # fmt: skip
    pairs = calibration_pairs(data, scale=scale)
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    overall = pairs.assign(period="all")
    parts = [overall]
    periods = rating_periods(pairs["date"], period)
    if periods.notna().any():
        dated = periods.notna()
        parts.append(pairs[dated].assign(period=periods[dated]))
    both = pd.concat(parts, ignore_index=True)
    grouped = both.groupby(["clinician", "instrument", "scale", "period"], sort=True)
    table = grouped.agg(
        n=("error", "size"),
        bias=("error", "mean"),
        mean_abs_error=("error", lambda e: float(np.mean(np.abs(e)))),
    )
    table["correlation"] = grouped.apply(_correlation)
    return table.reset_index()[columns]


def rating_periods(dates: pd.Series, period: str = "M") -> pd.Series:
    """The period label (``"2026-02"`` for months) of each date; missing where undated."""
    parsed = pd.to_datetime(dates, errors="coerce")
    labels = pd.Series(None, index=dates.index, dtype=object)
    known = parsed.notna()
    if known.any():
        labels[known] = parsed[known].dt.to_period(period).astype(str)
    return labels


def _correlation(group: pd.DataFrame) -> float:
    if len(group) < 3 or group["prediction"].std() == 0 or group["rating"].std() == 0:
        return float("nan")
    return float(np.corrcoef(group["prediction"], group["rating"])[0, 1])
