"""How a client is doing, at a glance: one status line per measure on the before-the-session
view — latest score and band, change since the previous rating, the expected track, risk.
(The caseload's per-client status is in ``caseload_status.py``.)

"On track" uses the clinic's expected trajectories (``analysis.reference``): the client's
rating against the tolerance band for clients who started at a similar level, as the
off-track rule judges it (``ExpectedTrajectory.track``); a measure with a single rating, or a
session the clinic's history has no range for, is "not enough data".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.analytics.expected import TRACK_UNKNOWN, ExpectedTrajectory, track_of
from alliance.services.monitoring.overview import Overview, Point, Series
from alliance.services.monitoring.risk_history import RiskAnswer


def _g(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class RiskStatus:
    """The risk question of a measure: how many answers still need follow-up, the latest."""

    open: int
    latest: RiskAnswer | None

    def text(self) -> str:
        if self.latest is None:
            return "no risk answers"
        last = self.latest
        what = "left empty" if not last.answered else f"answered {last.answer}"
        if self.open:
            return (
                f"{self.open} risk answer{'s' if self.open != 1 else ''} to follow up "
                f"(latest: {what} in session {last.session}, {last.state})"
            )
        return f"last risk answer in session {last.session}, {last.state}"


@dataclass(frozen=True)
class MeasureStatus:
    """One measure's line: the client's own latest total and how it stands."""

    series: Series
    latest: Point
    previous: Point | None
    track: str
    expected: tuple[float, float] | None  # the tolerance band at the latest session
    prediction: float | None  # the clinician's prediction of the latest rating
    risk: RiskStatus | None  # for measures with a risk question

    @property
    def change(self) -> float | None:
        if self.previous is None or self.previous.value is None or self.latest.value is None:
            return None
        return self.latest.value - self.previous.value

    def change_text(self) -> str:
        change = self.change
        if self.previous is None or change is None:
            return "first rating"
        if change == 0:
            return f"unchanged since session {self.previous.session}"
        better = (change > 0) == (self.series.higher_is == "better")
        direction = "up" if change > 0 else "down"
        return (
            f"{direction} {_g(abs(change))} since session {self.previous.session} "
            f"({'better' if better else 'worse'})"
        )


def measure_statuses(
    view: Overview,
    trajectories: ExpectedTrajectory | None,
    risk_answers: list[RiskAnswer],
    *,
    risk_instruments: set[str] | None = None,
) -> list[MeasureStatus]:
    """A line per measure the client rated in the latest episode (alliance first).

    ``risk_instruments``: instruments with a risk question (a risk line for each)."""
    predictions = {
        s.instrument: {p.session: p.value for p in s.points}
        for s in view.series
        if s.scale == "total" and s.stance == "prediction"
    }
    out = []
    for s in view.series:
        if (s.scale, s.perspective, s.stance) != ("total", "client", "self"):
            continue
        scored = [p for p in s.points if p.value is not None]
        if not scored:
            continue
        latest = scored[-1]
        previous = scored[-2] if len(scored) >= 2 else None
        track, expected = TRACK_UNKNOWN, None
        if trajectories is not None and previous is not None:
            intake = np.array([scored[0].value], dtype=np.float64)
            session = np.array([latest.session])
            _, lower, upper, _ = trajectories.lookup(s.instrument, s.scale, intake, session)
            [track] = track_of(
                np.array([latest.value], dtype=np.float64), lower, upper,
                higher_is_better=s.higher_is == "better",
            )  # fmt: skip
            if not (np.isnan(lower[0]) or np.isnan(upper[0])):
                expected = (float(lower[0]), float(upper[0]))
        risk = None
        if risk_instruments is not None and s.instrument in risk_instruments:
            mine = [r for r in risk_answers if r.instrument == s.instrument]
            open_ = [r for r in mine if r.alert is None or r.alert.state != "resolved"]
            risk = RiskStatus(len(open_), mine[0] if mine else None)  # newest first
        out.append(
            MeasureStatus(
                s,
                latest,
                previous,
                track,
                expected,
                predictions.get(s.instrument, {}).get(latest.session),
                risk,
            )
        )
    return out
