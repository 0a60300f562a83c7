"""Goals beside the alliance chart: a small chart per goal of the client's progress ratings
(0–10) and the clinician's where given, with renegotiations marked; and the sessions where a
goal was renegotiated, for the alliance chart's repair marks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alliance.reports.svg import PALETTE, Line, Marker, line_chart
from alliance.services.records.goals import GoalView
from alliance.web.pages.charts import Chart

RENEGOTIATED = ("goal renegotiated", "diamond", "#15803d")
STATUS_TEXT = {
    "active": "active",
    "achieved": "achieved",
    "no_longer_wanted": "no longer wanted",
    "changed": "changed",
}


@dataclass(frozen=True)
class GoalChart:
    """A goal's small multiple: the goal as the client put it, its chart and data."""

    view: GoalView
    chart: Chart
    number: int  # the goal's place in the episode, for its short name "goal 2"


def session_of(day: dt.date, sessions: list[tuple[int, dt.date]]) -> int | None:
    """The session a change on ``day`` belongs to: the last one held on or before it."""
    held = [number for number, date in sessions if date <= day]
    return max(held) if held else None


def renegotiated_sessions(
    views: list[GoalView], sessions: list[tuple[int, dt.date]]
) -> dict[int, list[str]]:
    """Session number -> the goals renegotiated in it ("goal 2"), for the alliance chart."""
    out: dict[int, list[str]] = {}
    for number, view in enumerate(views, start=1):
        for version in view.renegotiations:
            at = session_of(version.agreed_on, sessions)
            if at is not None and f"goal {number}" not in out.get(at, []):
                out.setdefault(at, []).append(f"goal {number}")
    return out


def goal_charts(views: list[GoalView], sessions: list[tuple[int, dt.date]]) -> list[GoalChart]:
    """A small chart per goal shown (the active ones, then those closed), client solid,
    clinician dashed, renegotiations as diamonds."""
    out = []
    for number, view in enumerate(views, start=1):
        client, clinician = view.progress("client"), view.progress("clinician")
        xs = sorted({s for s, _ in client} | {s for s, _ in clinician})
        lines = []
        for label, points, color, dashed in (
            ("client", dict(client), PALETTE[0], False),
            ("clinician", dict(clinician), PALETTE[2], True),
        ):
            if points:
                lines.append(
                    Line(label, xs, [points.get(x) for x in xs], color=color, dashed=dashed)
                )
        markers = []
        for version in view.renegotiations:
            at = session_of(version.agreed_on, sessions)
            if at is not None:
                y = dict(client).get(at, 0)
                label, shape, color = RENEGOTIATED
                markers.append(Marker(float(at), float(y), f"{label} (session {at})",
                                      color=color, shape=shape))  # fmt: skip
        title = f"Goal {number}"
        svg = line_chart(
            lines, title=title, y_range=(0, 10), markers=markers, width=240, height=120
        ) if (lines or markers) else ""  # fmt: skip
        chart = Chart(title, svg, "", ["Session", "client", "clinician"])
        mine, theirs = dict(client), dict(clinician)
        for x in xs:
            chart.rows.append([str(x), *(str(d[x]) if x in d else "—" for d in (mine, theirs))])
        out.append(GoalChart(view=view, chart=chart, number=number))
    return out
