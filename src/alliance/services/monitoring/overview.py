"""What a clinician reads before a session: each measure's series (and, in ``status.py``,
where each stands) — built from the timeline, so pages and the PDF report show the same
figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from alliance.instruments.registry import Registry
from alliance.services.records.timeline import Timeline

SERIES_ORDER = {"alliance": 0, "outcome": 1}


@dataclass(frozen=True)
class Point:
    session: int
    date: dt.date
    value: float | None
    band: str | None = None  # the score's band (e.g. "moderate"), where the scale has bands


@dataclass
class Series:
    """One line of a chart: a scale of an instrument from one rater."""

    instrument: str
    scale: str
    perspective: str
    stance: str
    label: str
    kind: str
    higher_is: str
    low: float
    high: float
    points: list[Point] = field(default_factory=list)

    @property
    def rater(self) -> str:
        if self.stance == "prediction":
            return "clinician's prediction"
        return "client" if self.perspective == "client" else self.perspective


@dataclass
class Overview:
    timeline: Timeline
    series: list[Series]
    last_session: dt.date | None
    sessions: int

    def by_instrument(self) -> dict[str, list[Series]]:
        grouped: dict[str, list[Series]] = {}
        for s in self.series:
            grouped.setdefault(s.instrument, []).append(s)
        return grouped


def overview(timeline: Timeline, registry: Registry) -> Overview:
    """Series of the current (not superseded) scores of the client's latest episode."""
    episode = timeline.episodes[-1] if timeline.episodes else None
    found: dict[tuple[str, str, str, str], Series] = {}
    last_date: dt.date | None = None
    count = 0
    if episode is not None:
        for sv in episode.sessions:
            count += 1
            last_date = sv.session.date
            for av in sv.administrations:
                if not av.current:
                    continue
                a = av.administration
                try:
                    inst = registry.get(a.instrument, a.version)
                except KeyError:
                    continue
                for score in av.scores:
                    key = (a.instrument, score.scale, a.perspective, a.stance)
                    if key not in found:
                        scale = inst.scale(score.scale)
                        found[key] = Series(
                            a.instrument,
                            score.scale,
                            a.perspective,
                            a.stance,
                            f"{inst.id.upper()} {scale.label.lower()}",
                            inst.kind,
                            scale.higher_is,
                            scale.range[0],
                            scale.range[1],
                        )
                    found[key].points.append(
                        Point(sv.session.number, sv.session.date, score.value, score.band)
                    )
    series = sorted(
        found.values(),
        key=lambda s: (
            SERIES_ORDER.get(s.kind, 9),
            s.instrument,
            s.scale != "total",
            s.scale,
            s.stance,
        ),
    )
    return Overview(timeline, series, last_date, count)
