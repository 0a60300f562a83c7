"""The charts of the before-the-session view and the PDF report (the same for both): one per
instrument, client and clinician lines together, the expected band, and signals marked, then
one of the client's own subscales where the instrument has them; each with a data table of the
same numbers for screen readers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from alliance.analytics.expected import ExpectedTrajectory
from alliance.analytics.pipeline import RUPTURE_RULES
from alliance.reports.svg import PALETTE, Band, Line, Marker, line_chart
from alliance.services.monitoring.overview import Overview, Series
from alliance.web.pages.common import Terms

RATER_STYLE = {
    "client": (PALETTE[0], False),
    "clinician's prediction": (PALETTE[1], True),
    "clinician": (PALETTE[2], False),
    "observer": (PALETTE[3], False),
}
MARKED = {
    **dict.fromkeys(RUPTURE_RULES, ("rupture", "triangle", "#b91c1c")),
    "reported_rupture": ("rupture noticed", "circle", "#7e22ce"),
    "repair": ("repair", "diamond", "#15803d"),
    "off_track": ("off track", "triangle", "#c2410c"),
    "outcome_deterioration": ("deterioration", "triangle", "#c2410c"),
    "low_early_alliance": ("low early alliance", "triangle", "#c2410c"),
}


@dataclass
class Chart:
    title: str
    svg: str
    caption: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)


def _g(value: float | None) -> str:
    return (
        "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:g}"
    )


def _band(series: Series, trajectories: ExpectedTrajectory | None, terms: Terms) -> Band | None:
    """The expected band for the client's intake level, where the clinic has one."""
    if trajectories is None or not series.points or series.stance != "self":
        return None
    table = trajectories.table
    table = table[(table["instrument"] == series.instrument) & (table["scale"] == series.scale)]
    first = next((p.value for p in series.points if p.value is not None), None)
    if table.empty or first is None:
        return None
    table = table[(table["intake_low"] <= first) & (first < table["intake_high"])]
    last = max(p.session for p in series.points)
    table = table[table["session"] <= max(last, 1)]
    if table.empty:
        return None
    return Band(
        list(table["session"]),
        list(table["lower"]),
        list(table["upper"]),
        label=terms.text("expected range for clients who started like this one"),
    )


def client_charts(
    view: Overview,
    signals: pd.DataFrame | None = None,
    trajectories: ExpectedTrajectory | None = None,
    renegotiated: dict[int, list[str]] | None = None,
    *,
    terms: Terms | None = None,
) -> list[Chart]:
    """A chart per instrument (total scores), with signals of the client's own ratings, then
    one of the client's subscales per instrument that has them. ``renegotiated`` (session ->
    goals renegotiated in it) marks those sessions as repair events on alliance charts.
    Legends, titles and captions are in the organization's ``terms`` (patient, nurse …)."""
    terms = terms or Terms()
    charts, subscales = [], []  # every measure's total first: those are what a glance needs
    for instrument, series_list in view.by_instrument().items():
        totals = [s for s in series_list if s.scale == "total"]
        if not totals:
            continue
        lines, sessions = [], sorted({p.session for s in totals for p in s.points})
        for s in totals:
            color, dashed = RATER_STYLE.get(s.rater, (PALETTE[4], False))
            values = {p.session: p.value for p in s.points}
            lines.append(
                Line(
                    terms.text(s.rater),
                    sessions,
                    [values.get(n) for n in sessions],
                    color=color,
                    dashed=dashed,
                )
            )
        markers, marked_at = _markers(totals, signals, instrument)
        if renegotiated and totals[0].kind == "alliance":
            _mark_renegotiated(totals, renegotiated, markers, marked_at)
        bands = [b for b in (_band(s, trajectories, terms) for s in totals) if b is not None]
        first = totals[0]
        title = (
            f"{instrument.upper()} total ({_g(first.low)}–{_g(first.high)}, "
            f"higher is {first.higher_is})"
        )
        svg = line_chart(
            lines,
            title=title,
            y_range=(first.low, first.high),
            markers=markers,
            bands=bands,
            width=560,
            height=230,
        )
        chart = Chart(
            title,
            svg,
            terms.text(_caption(bands, markers)),
            ["Session", *[line.label for line in lines], "Marked"],
        )
        for i, n in enumerate(sessions):
            chart.rows.append(
                [
                    str(n),
                    *[_g(line.ys[i]) for line in lines],
                    ", ".join(marked_at.get(n, [])) or "—",
                ]
            )
        charts.append(chart)
        parts = [s for s in series_list if s.scale != "total" and s.rater == "client"]
        if parts:
            subscales.append(_subscale_chart(instrument, parts, terms))
    return charts + subscales


def _subscale_chart(instrument: str, parts: list[Series], terms: Terms) -> Chart:
    """The client's own rating on each subscale (WAI-SR task, goal and bond, say)."""
    sessions = sorted({p.session for s in parts for p in s.points})
    lines = []
    for k, s in enumerate(parts):
        values = {p.session: p.value for p in s.points}
        lines.append(
            Line(
                s.scale,  # task, goal, bond: short enough for the legend
                sessions,
                [values.get(n) for n in sessions],
                color=PALETTE[(k + 1) % len(PALETTE)],
            )
        )
    low, high = min(s.low for s in parts), max(s.high for s in parts)
    title = terms.text(
        f"{instrument.upper()} subscales, the client's own rating ({_g(low)}–{_g(high)}, "
        f"higher is {parts[0].higher_is})"
    )
    svg = line_chart(
        lines, title=f"{instrument.upper()} subscales", y_range=(low, high), width=560, height=190
    )
    chart = Chart(
        title,
        svg,
        "One line per subscale. A fall in one subscale can show where the strain lies "
        "(goals, tasks or the bond) before the total moves much.",
        ["Session", *[line.label for line in lines]],
    )
    for i, n in enumerate(sessions):
        chart.rows.append([str(n), *[_g(line.ys[i]) for line in lines]])
    return chart


def _markers(
    totals: list[Series], signals: pd.DataFrame | None, instrument: str
) -> tuple[list[Marker], dict[int, list[str]]]:
    markers: list[Marker] = []
    marked: dict[int, list[str]] = {}
    if signals is None or signals.empty:
        return markers, marked
    own = next((s for s in totals if s.rater == "client"), totals[0])
    values = {p.session: p.value for p in own.points}
    chosen = signals[(signals["instrument"] == instrument) & signals["rule"].isin(list(MARKED))]
    for _, row in chosen.iterrows():
        session = int(row["session"])
        label, shape, color = MARKED[str(row["rule"])]
        y = values.get(session)
        if y is None:
            y = own.low
        if label not in marked.get(session, []):
            marked.setdefault(session, []).append(label)
            markers.append(
                Marker(
                    float(session),
                    float(y),
                    f"{label} (session {session})",
                    color=color,
                    shape=shape,
                )
            )
    return markers, marked


def _mark_renegotiated(
    totals: list[Series],
    renegotiated: dict[int, list[str]],
    markers: list[Marker],
    marked: dict[int, list[str]],
) -> None:
    """A goal agreed anew is a repair event: a diamond where it happened."""
    own = next((s for s in totals if s.rater == "client"), totals[0])
    values = {p.session: p.value for p in own.points}
    for session, names in sorted(renegotiated.items()):
        label = f"{' and '.join(names)} renegotiated"
        y = values.get(session)
        marked.setdefault(session, []).append(label)
        markers.append(
            Marker(float(session), float(own.low if y is None else y),
                   f"{label} (session {session})", color="#15803d", shape="diamond")
        )  # fmt: skip


def _caption(bands: list[Any], markers: list[Marker]) -> str:
    parts = ["Solid: the client's own rating; dashed: the clinician's prediction of it."]
    if bands:
        parts.append(
            "Shaded: the range expected for clients of this clinic who started at a similar level."
        )
    if markers:
        parts.append(
            "Marks: triangles for ruptures and off-track signals, diamonds for "
            "repairs (goals renegotiated among them), circles for ruptures a rater noticed."
        )
    return " ".join(parts)
