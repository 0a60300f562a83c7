"""Small self-contained SVG charts: trajectories with marked signals, and interval plots.

Charts are plain SVG text with no scripts, fonts or external references, so a report or a
web page can inline them. Each chart has a ``<title>`` and ``<desc>`` for screen readers and
should be shown beside a table of the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1b6ca8", "#c2410c", "#4d7c0f", "#7e22ce", "#0f766e", "#b91c1c")
FONT = "font-family='system-ui, sans-serif' font-size='11'"


@dataclass(frozen=True)
class Line:
    """One series of points; ``None`` or NaN values break the line."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = PALETTE[0]
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    """A point to mark (a signal): ``shape`` is ``circle``, ``triangle`` or ``diamond``."""

    x: float
    y: float
    label: str
    color: str = "#b91c1c"
    shape: str = "triangle"


@dataclass(frozen=True)
class Band:
    """A shaded range (e.g. an expected trajectory's tolerance band)."""

    xs: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    label: str = ""
    color: str = "#94a3b8"


@dataclass
class _Frame:
    x0: float
    x1: float
    y0: float
    y1: float
    width: int
    height: int
    left: int = 44
    right: int = 12
    top: int = 26
    bottom: int = 34
    parts: list[str] = field(default_factory=list)

    def px(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (x - self.x0) / span * (self.width - self.left - self.right)

    def py(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return (
            self.height
            - self.bottom
            - (y - self.y0) / span * (self.height - self.top - self.bottom)
        )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``–``high``."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + 1.0
    raw = 0.7 * (high - low) / max(count - 1, 1)  # a little finer than count ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def whole_ticks(low: float, high: float, count: int = 8) -> list[float]:
    """Ticks at whole numbers only (session numbers): 1, 2 for two sessions, never 1.1."""
    return [t for t in nice_ticks(low, high, count) if float(t).is_integer()]


def _fmt(v: float) -> str:
    return f"{v:g}"


def _open(frame: _Frame, title: str, description: str) -> None:
    frame.parts.append(
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {frame.width} {frame.height}' "
        f"width='{frame.width}' height='{frame.height}' role='img' {FONT}>"
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        f"<text x='{frame.left}' y='14' font-weight='600'>{escape(title)}</text>"
    )


def _axes(frame: _Frame, x_ticks: list[float], y_ticks: list[float], x_label: str) -> None:
    p = frame.parts
    bottom = frame.height - frame.bottom
    for t in y_ticks:
        y = frame.py(t)
        p.append(
            f"<line x1='{frame.left}' x2='{frame.width - frame.right}' y1='{y:.1f}' "
            f"y2='{y:.1f}' stroke='#e5e7eb'/><text x='{frame.left - 4}' y='{y + 4:.1f}' "
            f"text-anchor='end' fill='#374151'>{_fmt(t)}</text>"
        )
    for t in x_ticks:
        x = frame.px(t)
        p.append(
            f"<text x='{x:.1f}' y='{bottom + 14}' text-anchor='middle' "
            f"fill='#374151'>{_fmt(t)}</text>"
        )
    p.append(
        f"<line x1='{frame.left}' x2='{frame.width - frame.right}' y1='{bottom}' y2='{bottom}' "
        f"stroke='#6b7280'/><text x='{(frame.left + frame.width - frame.right) / 2:.1f}' "
        f"y='{frame.height - 4}' text-anchor='middle' fill='#374151'>{escape(x_label)}</text>"
    )


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    x_label: str = "session",
    y_range: tuple[float, float] | None = None,
    markers: Sequence[Marker] = (),
    bands: Sequence[Band] = (),
    width: int = 480,
    height: int = 200,
    whole_x: bool = True,
) -> str:
    """A line chart of one or more series with optional markers and shaded bands.

    ``whole_x``: the x values count something (sessions), so ticks stand at whole numbers
    and a single point sits in the middle with its own tick."""
    xs = [float(x) for line in lines for x in line.xs] + [m.x for m in markers]
    ys = [y for line in lines for y in _finite(line.ys)] + [m.y for m in markers]
    for band in bands:
        ys += _finite(band.lows) + _finite(band.highs)
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if whole_x and x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y0, y1 = y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    frame = _Frame(x0=x0, x1=x1 if x1 > x0 else x0 + 1, y0=y0, y1=y1 if y1 > y0 else y0 + 1,
                   width=width, height=height)  # fmt: skip
    description = "; ".join(
        f"{line.label}: " + ", ".join(f"{_fmt(x)}→{'–' if y is None else _fmt(y)}"
                                      for x, y in zip(line.xs, line.ys, strict=True))
        for line in lines
    )  # fmt: skip
    _open(frame, title, description)
    x_ticks = (whole_ticks if whole_x else nice_ticks)(frame.x0, frame.x1, 8)
    _axes(frame, x_ticks, nice_ticks(frame.y0, frame.y1), x_label)
    for band in bands:
        upper = [
            f"{frame.px(x):.1f},{frame.py(h):.1f}" for x, h in zip(band.xs, band.highs, strict=True)
        ]
        lower = [
            f"{frame.px(x):.1f},{frame.py(lo):.1f}"
            for x, lo in zip(band.xs, band.lows, strict=True)
        ]
        frame.parts.append(
            f"<polygon points='{' '.join(upper + lower[::-1])}' fill='{band.color}' "
            f"fill-opacity='0.25'><title>{escape(band.label)}</title></polygon>"
        )
    for line in lines:
        for segment in _segments(line.xs, line.ys):
            points = " ".join(f"{frame.px(x):.1f},{frame.py(y):.1f}" for x, y in segment)
            dash = " stroke-dasharray='4 3'" if line.dashed else ""
            frame.parts.append(
                f"<polyline points='{points}' fill='none' stroke='{line.color}' "
                f"stroke-width='1.8'{dash}/>"
            )
            for x, y in segment:
                frame.parts.append(
                    f"<circle cx='{frame.px(x):.1f}' cy='{frame.py(y):.1f}' r='2.2' "
                    f"fill='{line.color}'/>"
                )
    for m in markers:
        frame.parts.append(_marker(frame, m))
    _legend(frame, lines)
    frame.parts.append("</svg>")
    return "".join(frame.parts)


def _segments(xs: Sequence[float], ys: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None or not math.isfinite(float(y)):
            out.append([])
        else:
            out[-1].append((float(x), float(y)))
    return [s for s in out if s]


def _marker(frame: _Frame, m: Marker) -> str:
    x, y = frame.px(m.x), frame.py(m.y)
    label = f"<title>{escape(m.label)}</title>"
    if m.shape == "circle":
        return (
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='none' stroke='{m.color}' "
            f"stroke-width='2'>{label}</circle>"
        )
    if m.shape == "diamond":
        pts = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"
    else:
        pts = f"{x:.1f},{y + 7:.1f} {x - 6:.1f},{y - 4:.1f} {x + 6:.1f},{y - 4:.1f}"
    return f"<polygon points='{pts}' fill='{m.color}' fill-opacity='0.85'>{label}</polygon>"


def _legend(frame: _Frame, lines: Sequence[Line]) -> None:
    x = float(frame.width - frame.right)
    for line in reversed(lines):
        text = escape(line.label)
        x -= 16 + 7.0 * len(line.label)
        frame.parts.append(
            f"<rect x='{x:.1f}' y='6' width='10' height='10' fill='{line.color}'/>"
            f"<text x='{x + 13:.1f}' y='15' fill='#374151'>{text}</text>"
        )


def interval_plot(
    rows: Sequence[tuple[str, float, float, float]],
    *,
    title: str,
    x_label: str = "estimate (95% interval)",
    reference: float | None = 0.0,
    width: int = 520,
) -> str:
    """Estimates with intervals, one row each: ``(label, estimate, low, high)``."""
    values = [v for _, e, lo, hi in rows for v in (e, lo, hi) if math.isfinite(v)]
    if reference is not None:
        values.append(reference)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.05 or 1.0
    height = 40 + 22 * len(rows) + 30
    frame = _Frame(x0=low - pad, x1=high + pad, y0=0, y1=1, width=width, height=height,
                   left=190, top=30)  # fmt: skip
    description = "; ".join(
        f"{label}: {e:.3g} "
        + (
            f"({lo:.3g} to {hi:.3g})"
            if math.isfinite(lo) and math.isfinite(hi)
            else "(no interval)"
        )
        for label, e, lo, hi in rows
    )
    _open(frame, title, description)
    _axes(frame, nice_ticks(frame.x0, frame.x1, 6), [], x_label)
    if reference is not None:
        x = frame.px(reference)
        frame.parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{frame.top}' y2='{height - frame.bottom}' "
            "stroke='#9ca3af' stroke-dasharray='3 3'/>"
        )
    for i, (label, estimate, lo, hi) in enumerate(rows):
        y = frame.top + 12 + 22 * i
        frame.parts.append(
            f"<text x='{frame.left - 8}' y='{y + 4}' text-anchor='end'>{escape(label)}</text>"
        )
        if math.isfinite(lo) and math.isfinite(hi):
            frame.parts.append(
                f"<line x1='{frame.px(lo):.1f}' x2='{frame.px(hi):.1f}' y1='{y}' y2='{y}' "
                f"stroke='{PALETTE[0]}' stroke-width='2'/>"
            )
        if math.isfinite(estimate):
            frame.parts.append(
                f"<circle cx='{frame.px(estimate):.1f}' cy='{y}' r='4' fill='{PALETTE[0]}'>"
                f"<title>{escape(label)}: {estimate:.3g}</title></circle>"
            )
    frame.parts.append("</svg>")
    return "".join(frame.parts)
