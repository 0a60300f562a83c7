"""A self-contained HTML analysis report: trajectories with signals marked, reliability, and
model coefficients with intervals, each chart beside a table of its numbers.

The page has no scripts and no external assets (styles are inline), so it can be opened from
a file, mailed, or archived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

from alliance.reports.svg import PALETTE, Line, Marker, interval_plot, line_chart
from alliance.text import counted

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#111827}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;font-size:.8rem;margin:.3rem 0}
th,td{border:1px solid #e5e7eb;padding:.15rem .4rem;text-align:right}
th{background:#f9fafb}td.t,th.t{text-align:left}
.pair{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.note{color:#4b5563;font-size:.85rem}.urgent{color:#b91c1c;font-weight:600}
"""
RULE_COLORS = {
    "risk_item": "#b91c1c",
    "risk_unanswered": "#b91c1c",
    "repair": "#15803d",
    "off_track": "#c2410c",
    "outcome_deterioration": "#c2410c",
}
MAX_CLIENTS = 60


@dataclass
class ReportInput:
    """What the report shows; each table may be empty."""

    title: str
    tidy: pd.DataFrame
    signals: pd.DataFrame
    clients: pd.DataFrame
    alliance: tuple[str, str]
    outcome: tuple[str, str] | None = None
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    models: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: Sequence[str] = ()


def table_html(frame: pd.DataFrame, *, digits: int = 3, limit: int | None = None) -> str:
    """A DataFrame as an HTML table (numbers right-aligned, text left-aligned)."""
    if frame.empty:
        return "<p class='note'>(none)</p>"
    shown = frame.head(limit) if limit else frame
    text_columns = {c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])}
    head = "".join(
        f"<th class='{'t' if c in text_columns else ''}' scope='col'>{escape(str(c))}</th>"
        for c in shown.columns
    )
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for c, v in zip(shown.columns, row, strict=True):
            cells.append(f"<td class='{'t' if c in text_columns else ''}'>{_cell(v, digits)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f"<p class='note'>… {len(frame) - len(shown)} more rows in the CSV file.</p>"
        if limit and len(frame) > limit
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _cell(v: object, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return escape(str(v))


def render_report(data: ReportInput) -> str:
    """The whole page as text."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta name='viewport' content='width=device-width'><title>{escape(data.title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(data.title)}</h1>",
    ]
    parts += [f"<p class='note'>{escape(n)}</p>" for n in data.notes]
    parts.append(_summary(data.signals))
    parts.append(_trajectories(data))
    if not data.reliability.empty:
        parts.append("<h2>Reliability</h2>")
        parts.append(table_html(data.reliability))
        parts.append("<h3>Items</h3>" + table_html(data.items))
    if not data.models.empty:
        parts.append(_models(data.models))
    parts.append("<h2>Per-client summary</h2>" + table_html(data.clients, limit=200))
    parts.append("</body></html>")
    return "".join(parts)


def _summary(signals: pd.DataFrame) -> str:
    if signals.empty:
        return "<h2>Signals</h2><p>No signals.</p>"
    counts = (
        signals.groupby(["rule", "severity"]).size().rename("signals").reset_index()
        .merge(signals.groupby("rule")["client"].nunique().rename("clients").reset_index(),
               on="rule")
        .merge(signals.groupby("rule")["provenance"].first().reset_index(), on="rule")
    )  # fmt: skip
    risk = signals[signals["rule"] == "risk_item"]
    urgent = (
        f"<p class='urgent'>Risk item answered above its lowest option: "
        f"{counted(len(risk), 'administration')} of {counted(risk['client'].nunique(), 'client')}"
        ". Follow the risk "
        "protocol.</p>"
        if len(risk)
        else ""
    )
    empty = signals[signals["rule"] == "risk_unanswered"]
    if len(empty):
        urgent += (
            f"<p class='urgent'>Risk item left unanswered: {counted(len(empty), 'administration')}"
            f" of {counted(empty['client'].nunique(), 'client')}. An empty answer is not a no: "
            "ask the "
            "same day.</p>"
        )
    return "<h2>Signals</h2>" + urgent + table_html(counts)


def _trajectories(data: ReportInput) -> str:
    tidy, signals = data.tidy, data.signals
    instrument, scale = data.alliance
    own = tidy[(tidy["instrument"] == instrument) & (tidy["scale"] == scale)]
    if own.empty:
        return ""
    ranked = signals.groupby("client").size().sort_values(ascending=False)
    clients = list(ranked.index[:MAX_CLIENTS])
    clients += [c for c in own["client"].drop_duplicates() if c not in set(clients)]
    clients = clients[:MAX_CLIENTS]
    parts = [
        "<h2>Trajectories</h2>",
        f"<p class='note'>{escape(instrument.upper())} {escape(scale)}"
        + (
            f" and {escape(data.outcome[0].upper())} {escape(data.outcome[1])}"
            if data.outcome
            else ""
        )
        + f" per session; marks show signals. Clients with the most signals first "
        f"({len(clients)} of {own['client'].nunique()} shown).</p>",
    ]
    outcome = (
        tidy[(tidy["instrument"] == data.outcome[0]) & (tidy["scale"] == data.outcome[1])]
        if data.outcome
        else tidy.iloc[0:0]
    )
    for client in clients:
        parts.append(_client_chart(client, own, outcome, signals, data))
    return "".join(parts)


def _client_chart(
    client: object, own: pd.DataFrame, outcome: pd.DataFrame, signals: pd.DataFrame,
    data: ReportInput,
) -> str:  # fmt: skip
    mine = own[own["client"] == client].sort_values("session")
    lines = []
    for i, ((perspective, stance), part) in enumerate(mine.groupby(["perspective", "stance"])):
        label = "client" if perspective == "client" else f"{perspective} {stance}"
        color = PALETTE[i % len(PALETTE)]
        lines.append(
            Line(label, part["session"].tolist(), part["score"].tolist(), color=color,
                 dashed=perspective != "client")
        )  # fmt: skip
    client_series = mine[mine["perspective"] == "client"].set_index("session")["score"]
    marks = signals[(signals["client"] == client)]
    markers = []
    for s in marks.to_dict("records"):
        y = client_series.get(s["session"])
        if s["instrument"] != data.alliance[0] or y is None or pd.isna(y):
            continue
        rule = str(s["rule"])
        markers.append(
            Marker(float(s["session"]), float(y), f"session {s['session']}: {rule}",
                   color=RULE_COLORS.get(rule, "#7e22ce"),
                   shape="circle" if rule == "repair" else "triangle")
        )  # fmt: skip
    chart = line_chart(lines, title=f"{client}: {data.alliance[0].upper()} {data.alliance[1]}",
                       markers=markers)  # fmt: skip
    side = []
    out = outcome[outcome["client"] == client].sort_values("session")
    if len(out) and data.outcome:
        side.append(line_chart([Line("client", out["session"].tolist(), out["score"].tolist(),
                                     color=PALETTE[1])],
                               title=f"{client}: {data.outcome[0].upper()} {data.outcome[1]}",
                               width=360))  # fmt: skip
    listed = marks[["session", "rule", "severity", "value", "reference"]] if len(marks) else marks
    return (
        f"<h3>{escape(str(client))}</h3><div class='pair'>{chart}{''.join(side)}"
        f"{table_html(listed)}</div>"
    )


def _models(models: pd.DataFrame) -> str:
    parts = ["<h2>Alliance–outcome models</h2>"]
    for name, part in models.groupby("model", sort=False):
        rows = [
            (str(r["term"]), float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]))
            for r in part.to_dict("records")
            if r["term"] not in ("intercept", "Intercept")
        ]
        chart = interval_plot(rows, title=f"Model: {name}")
        shown = part[["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n_obs",
                      "n_clients"]]  # fmt: skip
        caveats = part["caveat"].drop_duplicates().tolist()
        parts.append(
            f"<h3>{escape(str(name))}</h3><div class='pair'>{chart}{table_html(shown)}</div>"
            + "".join(f"<p class='note'>{escape(c)}</p>" for c in caveats)
        )
    return "".join(parts)
