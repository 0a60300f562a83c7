"""Signals that agreement on goals is weakening: a low goal-agreement subscale, client and
clinician seeing a goal's progress differently, and a goal whose progress has stalled while
the alliance looks fine.

Agreement on goals is one of the alliance's three parts (Bordin 1979); goal-based outcomes
rate progress on each agreed goal 0–10 (Law & Jacob 2015; rows ``instrument = goals``,
``scale = goal_<n>``, see :mod:`alliance.analytics.goal_scale`). Every threshold here is the
project's own (``derived``): no published cut-off exists for a goal subscale of an alliance
measure, and the GBO reliable-change value is unconfirmed (``verified: false``), so it is not
used. Recall and precision of the stall and disagreement rules on simulated truth are in
``tests/analytics/test_goal_signals.py`` and the issue note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.detector import (
    INSTRUMENT_PARAM,
    PERSPECTIVE_PARAM,
    SEVERITY_PARAM,
    Detector,
    Param,
    Severity,
)
from alliance.analytics.goal_scale import GOAL_INSTRUMENT, GOAL_SCALE_PREFIX
from alliance.analytics.series import Ordered


class LowGoalAgreement(Detector):
    """The client's goal-agreement subscale (WAI-SR ``goal``, say) at or below ``share`` of
    its range above the floor (the midpoint by default: item answers averaging "sometimes"
    or less on the WAI-SR)."""

    rule = "low_goal_agreement"
    provenance = (
        "derived: a goal-agreement subscale at or below share × its range; agreement on goals "
        "is one of the alliance's three parts (Bordin 1979), the threshold is the project's "
        "(no alliance measure has published cut-offs)"
    )
    params = (
        INSTRUMENT_PARAM,
        Param("scale", "the goal-agreement subscale to watch", "text"),
        PERSPECTIVE_PARAM,
        Param("share", "flag ratings at or below this share of the scale's range above its "
              "floor", "number", low=0.05, high=0.95),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "goal",
        perspective: str = "client",
        share: float = 0.5,
        severity: Severity = "medium",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.share = share
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = np.flatnonzero(
            ordered.watched(self.instrument, self.scale, self.perspective, "alliance")
        )
        if not len(rows):
            return self._signals(ordered, rows, value=np.nan)
        bounds = np.array(
            [k.scale_definition.range if k.scale_definition else (np.nan, np.nan)
             for k in ordered.keys], dtype=np.float64,
        )  # fmt: skip
        low, high = bounds[ordered.key[rows], 0], bounds[ordered.key[rows], 1]
        threshold = low + self.share * (high - low)
        hit = ordered.score[rows] <= threshold
        return self._signals(
            ordered, rows[hit], value=ordered.score[rows[hit]], threshold=threshold[hit]
        )


def _goal_rows(ordered: Ordered, perspective: str) -> np.ndarray:
    keys = np.array(
        [
            k.instrument == GOAL_INSTRUMENT
            and k.scale.startswith(GOAL_SCALE_PREFIX)
            and k.perspective == perspective
            and k.stance == "self"
            for k in ordered.keys
        ],
        dtype=bool,
    )
    return np.flatnonzero(keys[ordered.key]) if len(ordered.keys) else np.zeros(0, np.int64)


class GoalDisagreement(Detector):
    """Client and clinician rate a goal's progress ``min_gap`` points or more apart, on
    average over their last ``sessions`` paired ratings (signal on the clinician's rating;
    value = clinician, reference = client)."""

    rule = "goal_disagreement"
    provenance = (
        "derived: the mean gap between client's and clinician's progress ratings of the same "
        "goal over their last paired ratings; goals are agreed and rated together in "
        "goal-based outcomes (Law & Jacob 2015), the threshold is the project's"
    )
    params = (
        Param("min_gap", "smallest mean difference flagged, in points of the 0–10 progress "
              "scale", "number", low=1, high=10),
        Param("sessions", "how many of the latest paired ratings the gap is averaged over",
              "integer", low=1, high=10),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self, *, min_gap: float = 3.0, sessions: int = 2, severity: Severity = "medium"
    ) -> None:
        self.min_gap = min_gap
        self.sessions = sessions
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        theirs, ours = _goal_rows(ordered, "clinician"), _goal_rows(ordered, "client")
        if not len(theirs) or not len(ours):
            return self._signals(ordered, theirs[:0], value=np.nan)
        scale_of = np.array([k.scale for k in ordered.keys], dtype=object)
        # match on client, episode, session and goal
        their_id = pd.MultiIndex.from_arrays([ordered.visit[theirs], scale_of[ordered.key[theirs]]])
        our_id = pd.MultiIndex.from_arrays([ordered.visit[ours], scale_of[ordered.key[ours]]])
        where = our_id.get_indexer(their_id)
        paired = where >= 0
        theirs, ours = theirs[paired], ours[where[paired]]
        gap = pd.Series(ordered.score[theirs] - ordered.score[ours])
        mean = (
            gap.groupby(ordered.group[theirs])
            .rolling(self.sessions, min_periods=self.sessions)
            .mean()
            .reset_index(level=0, drop=True)
            .sort_index()
            .to_numpy()
        )
        hit = np.abs(np.nan_to_num(mean)) >= self.min_gap
        return self._signals(
            ordered, theirs[hit], value=ordered.score[theirs[hit]],
            reference=ordered.score[ours[hit]], threshold=self.min_gap, spread=mean[hit],
        )  # fmt: skip


class GoalStall(Detector):
    """A goal's progress, as the client rates it, rises by less than ``min_slope`` points a
    session over their last ``sessions`` ratings (least-squares slope) and is not at 10,
    while the alliance looks fine: the client's latest alliance total at or before that
    session is no more than ``alliance_k`` of their own SDs below their earlier mean. A
    stalled goal behind a good alliance rating is easy to miss."""

    rule = "goal_stall"
    provenance = (
        "derived: a flat least-squares trend of a goal's progress ratings while the alliance "
        "holds; stuck goals are to be discussed and renegotiated (Law & Jacob 2015), the "
        "window and slope are the project's"
    )
    params = (
        Param("sessions", "how many of the latest progress ratings the trend is taken over",
              "integer", low=3, high=12),
        Param("min_slope", "a trend below this many points per session counts as stalled",
              "number", low=0.05, high=3),
        Param("alliance_k", "the alliance looks fine while its latest rating is no more than "
              "this many of the client's own SDs below their earlier mean", "number",
              low=0, high=5),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        sessions: int = 6,
        min_slope: float = 0.2,
        alliance_k: float = 1.0,
        severity: Severity = "medium",
    ) -> None:
        self.sessions = sessions
        self.min_slope = min_slope
        self.alliance_k = alliance_k
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = _goal_rows(ordered, "client")
        rows = rows[ordered.position[rows] >= self.sessions - 1]
        if not len(rows):
            return self._signals(ordered, rows, value=np.nan)
        window = rows[:, None] - np.arange(self.sessions - 1, -1, -1)[None, :]
        x = ordered.session[window].astype(np.float64)
        y = ordered.score[window]
        xc = x - x.mean(axis=1, keepdims=True)
        slope = (xc * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) / (xc * xc).sum(axis=1)
        fine = self._alliance_fine(ordered, rows)
        hit = (slope < self.min_slope) & (ordered.score[rows] < 10) & fine
        first = window[hit, 0]
        return self._signals(
            ordered, rows[hit], value=ordered.score[rows[hit]], reference=ordered.score[first],
            threshold=self.min_slope, spread=slope[hit], since_session=ordered.session[first],
        )  # fmt: skip

    def _alliance_fine(self, ordered: Ordered, rows: np.ndarray) -> np.ndarray:
        """Per goal rating: whether the client's latest alliance total at or before its
        session looks fine (see the class)."""
        alliance = np.flatnonzero(
            ordered.select(scale="total", perspective="client", kind="alliance")
        )
        fine = np.zeros(len(rows), dtype=bool)
        if not len(alliance):
            return fine
        base = ordered.baseline()
        ok = np.where(
            base.n[alliance] >= 2,
            ordered.score[alliance]
            >= base.mean[alliance] - self.alliance_k * np.nan_to_num(base.sd[alliance]),
            True,
        )
        episode_of = ordered.client_code * (int(ordered.episode_code.max()) + 1)
        episode_of = episode_of + ordered.episode_code
        held = pd.DataFrame(
            {"ep": episode_of[alliance], "session": ordered.session[alliance], "ok": ok}
        ).sort_values("session", kind="stable")
        wanted = pd.DataFrame(
            {"ep": episode_of[rows], "session": ordered.session[rows], "i": np.arange(len(rows))}
        ).sort_values("session", kind="stable")
        latest = pd.merge_asof(wanted, held, on="session", by="ep", direction="backward")
        fine[latest["i"].to_numpy()] = latest["ok"].eq(True).to_numpy()
        return fine


GOAL_DETECTORS: tuple[type[Detector], ...] = (LowGoalAgreement, GoalDisagreement, GoalStall)
