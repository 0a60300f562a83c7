"""Repair: the rating returns to its pre-rupture level within a number of sessions.

Gumz et al. (2012) describe rupture–repair episodes by number, magnitude and length, the
simple V (a one-session dip, then recovery) being the most frequent shape and a decline over
several sessions followed by a sudden repair the next; repaired ruptures go with better
outcomes than unrepaired ones (Eubanks, Muran & Safran 2018, r = .29). No published rule
says exactly when a rupture counts as repaired, so this operational definition is the
project's own (derived):

- a rupture episode starts at a rupture signal of the configured detector; further ruptures
  before the episode is repaired, or before its window has passed, belong to the same
  episode (a multi-session decline);
- the **pre-rupture level** is the mean of the client's ratings before the episode;
- the episode is **repaired** at the first rating, no later than ``within`` sessions after it
  began, that is back to at least the pre-rupture level less ``tolerance`` × the client's
  spread (the spread of :class:`~alliance.analytics.ruptures.DropFromBaseline`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.detector import SEVERITY_PARAM, Detector, Param, Severity
from alliance.analytics.ruptures import DropFromBaseline
from alliance.analytics.series import Ordered


class Repair(Detector):
    """A rupture episode repaired within ``within`` sessions (signal at the repair)."""

    rule = "repair"
    provenance = (
        "derived: return to the pre-rupture level within a set number of sessions; "
        "episode shape and length after Gumz et al. 2012, importance of repair Eubanks et al. "
        "2018 (the operational rule is the project's)"
    )
    params = (
        Param("rupture", "the rupture rule whose ruptures are followed; empty uses a drop "
              "from the client's baseline (k = 2)", "detector", optional=True),
        Param("within", "sessions after the rupture in which the rating must recover",
              "integer", low=1, high=20, unit="sessions"),
        Param("tolerance", "how far below the pre-rupture level still counts, in the "
              "client's spreads", "number", low=0, high=3, unit="spreads"),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        rupture: Detector | None = None,
        within: int = 3,
        tolerance: float = 0.5,
        severity: Severity = "low",
    ) -> None:
        self.rupture = rupture
        self.within = within
        self.tolerance = tolerance
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rupture = self.rupture if self.rupture is not None else DropFromBaseline()
        found = np.unique(rupture.signals(ordered).index.to_numpy(dtype=np.int64))
        base = ordered.baseline()
        starts = found[base.n[found] >= 1]
        level = base.mean[starts]
        spread = np.fmax(base.sd[starts], ordered.typical_spread[starts])
        spread = np.where(np.isnan(spread), 0.0, spread)
        sign = ordered.sign[starts]
        bound = level - sign * self.tolerance * spread
        # candidates: the ratings after each start, no more than ``within`` sessions later
        cand = starts[:, None] + np.arange(1, self.within + 1)[None, :]
        n = len(ordered)
        safe = np.minimum(cand, max(n - 1, 0))
        valid = (
            (cand < n)
            & (ordered.group[safe] == ordered.group[starts][:, None])
            & (ordered.session[safe] <= ordered.session[starts][:, None] + self.within)
        )
        with np.errstate(invalid="ignore"):
            back = valid & (sign[:, None] * (ordered.score[safe] - bound[:, None]) >= 0)
        repaired = back.any(axis=1)
        at = np.where(repaired, safe[np.arange(len(starts)), back.argmax(axis=1)], -1)
        keep = _episode_starts(ordered, starts, at, self.within)
        ok = keep & repaired
        where = at[ok]
        return self._signals(
            ordered, where,
            value=ordered.score[where], reference=level[ok], threshold=bound[ok],
            spread=spread[ok], since_session=ordered.session[starts[ok]],
        )  # fmt: skip

    def check_params(self) -> None:
        super().check_params()
        if self.rupture is not None:
            self.rupture.check_params()


def _episode_starts(
    ordered: Ordered, starts: np.ndarray, repaired_at: np.ndarray, within: int
) -> np.ndarray:
    """Which ruptures start an episode: a rupture before the open episode of its series is
    repaired (or before that episode's window has passed) belongs to that episode."""
    keep = np.ones(len(starts), dtype=bool)
    group = ordered.group[starts].tolist()
    session = ordered.session[starts].tolist()
    at = repaired_at.tolist()
    all_groups, all_sessions = ordered.group, ordered.session
    open_group, open_until = -1, -1
    for i, position in enumerate(starts.tolist()):
        if group[i] == open_group and position < open_until:
            keep[i] = False
            continue
        open_group = group[i]
        if at[i] >= 0:
            open_until = at[i]
        else:  # unrepaired: the episode lasts until its window has passed
            q = position + 1
            while (
                q < len(all_groups)
                and all_groups[q] == group[i]
                and all_sessions[q] <= session[i] + within
            ):
                q += 1
            open_until = q
    return keep
