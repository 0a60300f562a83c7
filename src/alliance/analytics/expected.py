"""Expected trajectories and the off-track signal.

Finch, Lambert & Schaalje (2001) built expected recovery curves from 11,492 clients: a mixed
linear model of the score on the log of the session number, fitted separately by intake
severity, with tolerance intervals around each session's mean (sessions 1–20); a client
whose score falls outside the interval on the worse side is flagged as not on track. The
number and width of their intake bands, the exact log term and the interval coverage were not
confirmed, so here they are parameters with the project's defaults (derived):

- intake = the first rating of the episode; ``n_bands`` bands at quantiles of the reference
  intakes;
- per band, the mean curve ``expected(s) = b₀ + b₁·log(s)`` by ordinary least squares over all
  reference ratings (the fixed part of Finch et al.'s model; with unbalanced data the two can
  differ slightly);
- the tolerance band at session ``s`` is ``expected(s) ± z·SD(s)``, with ``SD(s)`` the spread of
  the band's residuals at that session (the band's pooled residual SD where fewer than 10
  ratings) and ``z`` the normal quantile for a two-sided ``coverage``.

The reference is the clinic's own history or a supplied table (:meth:`ExpectedTrajectory.
from_frame`). Checked against numpy ``polyfit`` on the same data in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

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
from alliance.analytics.series import Ordered, order_series

TABLE_COLUMNS = (
    "instrument", "scale", "band", "intake_low", "intake_high", "session", "expected",
    "lower", "upper", "sd", "n",
)  # fmt: skip
MIN_PER_SESSION = 10


@dataclass(frozen=True)
class ExpectedTrajectory:
    """Expected score and tolerance band per instrument, scale, intake band and session."""

    table: pd.DataFrame

    @classmethod
    def fit(
        cls,
        data: pd.DataFrame | Ordered,
        *,
        instrument: str,
        scale: str = "total",
        perspective: str = "client",
        n_bands: int = 3,
        max_session: int = 20,
        coverage: float = 0.9,
    ) -> ExpectedTrajectory:
        """Estimate the curves from reference ratings (a tidy table or ordered series)."""
        if not 0.5 <= coverage < 1:
            raise ValueError(f"coverage must be from 0.5 to below 1; got {coverage!r}")
        if not 1 <= n_bands <= 10:
            raise ValueError(f"n_bands must be from 1 to 10; got {n_bands!r}")
        ordered = data if isinstance(data, Ordered) else order_series(data)
        rows = ordered.select(instrument=instrument, scale=scale, perspective=perspective)
        rows &= ordered.session <= max_session
        if rows.sum() < 2 * MIN_PER_SESSION:
            raise ValueError(
                f"too few reference ratings of {instrument} {scale} to estimate expected "
                f"trajectories ({int(rows.sum())}; at least {2 * MIN_PER_SESSION} needed)"
            )
        intake = ordered.score[ordered.start][rows]
        x, session = ordered.score[rows], ordered.session[rows]
        firsts = ordered.score[rows & ordered.first]
        edges = np.quantile(firsts, np.linspace(0, 1, n_bands + 1))
        edges[0], edges[-1] = -np.inf, np.inf
        band = np.clip(np.searchsorted(edges, intake, side="right") - 1, 0, n_bands - 1)
        z = NormalDist().inv_cdf((1 + coverage) / 2)
        parts = []
        for b in range(n_bands):
            m = band == b
            if m.sum() < MIN_PER_SESSION:
                continue
            design = np.column_stack([np.ones(int(m.sum())), np.log(session[m])])
            coef, *_ = np.linalg.lstsq(design, x[m], rcond=None)
            resid = x[m] - design @ coef
            pooled = float(np.std(resid, ddof=2)) if m.sum() > 2 else float("nan")
            s_all = np.arange(1, int(session[m].max()) + 1)
            counts = np.bincount(session[m], minlength=len(s_all) + 1)[1:]
            sums = np.bincount(session[m], weights=resid, minlength=len(s_all) + 1)[1:]
            sq = np.bincount(session[m], weights=resid**2, minlength=len(s_all) + 1)[1:]
            with np.errstate(invalid="ignore", divide="ignore"):
                var = (sq - sums**2 / counts) / (counts - 1)
            sd = np.where(counts >= MIN_PER_SESSION, np.sqrt(np.maximum(var, 0)), pooled)
            expected = coef[0] + coef[1] * np.log(s_all)
            parts.append(
                pd.DataFrame(
                    {
                        "instrument": instrument,
                        "scale": scale,
                        "band": b + 1,
                        "intake_low": edges[b],
                        "intake_high": edges[b + 1],
                        "session": s_all,
                        "expected": expected,
                        "lower": expected - z * sd,
                        "upper": expected + z * sd,
                        "sd": sd,
                        "n": counts,
                    }
                )
            )
        return cls(pd.concat(parts, ignore_index=True))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ExpectedTrajectory:
        """A supplied table with :data:`TABLE_COLUMNS` (for example one saved by
        :meth:`to_frame` from another clinic's history)."""
        absent = [c for c in TABLE_COLUMNS if c not in frame.columns]
        if absent:
            raise ValueError(
                f"an expected-trajectory table needs the columns {', '.join(TABLE_COLUMNS)}; "
                f"missing: {', '.join(absent)}"
            )
        table = frame[list(TABLE_COLUMNS)].copy()
        if ((table["lower"] > table["expected"]) | (table["expected"] > table["upper"])).any():
            raise ValueError("expected-trajectory table: need lower ≤ expected ≤ upper per row")
        return cls(table)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def lookup(
        self, instrument: str, scale: str, intake: np.ndarray, session: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Expected score, lower and upper bound and SD per (intake, session); NaN where the
        table has no row."""
        t = self.table[(self.table["instrument"] == instrument) & (self.table["scale"] == scale)]
        out = [np.full(len(intake), np.nan) for _ in range(4)]
        for band in t.groupby("band"):
            rows = band[1]
            lo, hi = float(rows["intake_low"].iloc[0]), float(rows["intake_high"].iloc[0])
            lo = -np.inf if band[0] == t["band"].min() else lo
            hi = np.inf if band[0] == t["band"].max() else hi
            by_session = rows.set_index("session")
            m = (intake >= lo) & (intake < hi)
            if not m.any():
                continue
            for i, column in enumerate(("expected", "lower", "upper", "sd")):
                values = by_session[column].reindex(session[m]).to_numpy(dtype=np.float64)
                out[i][m] = values
        return out[0], out[1], out[2], out[3]

    def track(
        self,
        instrument: str,
        scale: str,
        intake: np.ndarray,
        session: np.ndarray,
        score: np.ndarray,
        *,
        higher_is_better: bool,
    ) -> list[str]:
        """Where each rating stands against its expected range: ``on track`` (inside the
        band, or beyond it on the better side), ``off track`` (outside it on the worse side,
        as :class:`OffTrack` flags), or ``not enough data`` (no row for that intake and
        session, or a missing rating)."""
        _, lower, upper, _ = self.lookup(instrument, scale, intake, session)
        return track_of(score, lower, upper, higher_is_better=higher_is_better)


TRACK_UNKNOWN = "not enough data"


def track_of(
    score: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, higher_is_better: bool
) -> list[str]:
    """:meth:`ExpectedTrajectory.track` for bounds already looked up."""
    bound = lower if higher_is_better else upper
    sign = 1.0 if higher_is_better else -1.0
    out = []
    for value, limit in zip(np.asarray(score, dtype=np.float64), bound, strict=True):
        if np.isnan(value) or np.isnan(limit):
            out.append(TRACK_UNKNOWN)
        else:
            out.append("off track" if sign * (value - limit) < 0 else "on track")
    return out


class OffTrack(Detector):
    """A rating outside the expected trajectory's tolerance band, on the worse side."""

    rule = "off_track"
    provenance = (
        "derived: after the published method of expected recovery curves by intake with "
        "tolerance intervals (Finch, Lambert & Schaalje 2001); bands, mean curve and coverage "
        "are the project's"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        Param("reference", "expected trajectories from a supplied table; empty estimates them "
              "from the data given (the clinic's own history)", "data", optional=True,
              of=ExpectedTrajectory),
        Param("n_bands", "intake bands when estimating from the data", "integer", low=1,
              high=10, unit="bands"),
        Param("coverage", "share of on-track ratings inside the tolerance band", "number",
              low=0.5, high=0.99),
        Param("max_session", "last session with an expected score", "integer", low=2, high=60),
        Param("min_session", "first session checked", "integer", low=2, high=60),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        reference: ExpectedTrajectory | None = None,
        n_bands: int = 3,
        coverage: float = 0.9,
        max_session: int = 20,
        min_session: int = 2,
        severity: Severity = "high",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.reference = reference
        self.n_bands = n_bands
        self.coverage = coverage
        self.max_session = max_session
        self.min_session = min_session
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.watched(self.instrument, self.scale, "client", "outcome")
        self.skipped_: dict[str, str] = {}
        parts = []
        for k, key in enumerate(ordered.keys):
            in_key = rows & (ordered.key == k)
            if key.scale_definition is None or not in_key.any():
                continue
            reference = self.reference
            if reference is None:
                try:
                    reference = ExpectedTrajectory.fit(
                        ordered, instrument=key.instrument, scale=key.scale,
                        n_bands=self.n_bands, max_session=self.max_session,
                        coverage=self.coverage,
                    )  # fmt: skip
                except ValueError as exc:
                    self.skipped_[f"{key.instrument} {key.scale}"] = str(exc)
                    continue
            idx = np.flatnonzero(
                in_key
                & (ordered.session >= self.min_session)
                & (ordered.session <= self.max_session)
            )
            intake = ordered.score[ordered.start[idx]]
            expected, lower, upper, sd = reference.lookup(
                key.instrument, key.scale, intake, ordered.session[idx]
            )
            if len(idx) and np.isnan(expected).all():
                self.skipped_[f"{key.instrument} {key.scale}"] = (
                    "the expected-trajectory table has no rows for these sessions"
                )
                continue
            bound = lower if key.sign > 0 else upper
            with np.errstate(invalid="ignore"):
                off = key.sign * (ordered.score[idx] - bound) < 0
            where = idx[off]
            parts.append(
                self._signals(
                    ordered,
                    where,
                    value=ordered.score[where],
                    reference=expected[off],
                    threshold=bound[off],
                    spread=sd[off],
                    since_session=ordered.session[ordered.start[where]],
                )
            )
        return concat_signals(parts)
