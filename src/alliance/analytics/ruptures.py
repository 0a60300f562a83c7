"""Rupture detectors: one class per rule, each over every matching series at once.

Alliance ratings are ceiling-bound and clients are polite, so besides a low absolute score the
detectors look for drops: from the previous session, from the client's own running baseline,
and beyond reliable change; a rupture reported by the client or clinician counts too. All
comparisons respect the scale's direction (``higher_is`` in the instrument definition), so a
"drop" is a change towards worse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.change import (
    confirmed_cutoff,
    confirmed_session_drop,
    flagged,
    reliable_change_value,
    resolution_floor,
)
from alliance.analytics.detector import (
    INSTRUMENT_PARAM,
    PERSPECTIVE_PARAM,
    SCALE_PARAM,
    SEVERITY_PARAM,
    Detector,
    Param,
    Severity,
    concat_signals,
)
from alliance.analytics.series import BoolArray, Ordered
from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE
from alliance.instruments.model import Cutoff, CutoffDirection, Instrument, Scale


def cutoff_provenance(instrument: Instrument, scale: Scale, cutoff: Cutoff) -> str:
    """Where a published cut-off comes from and how sure it is: the value, the side flagged
    (marked partial when sources differ on the boundary), the population it is for, the
    source, and any cut-off of the scale for another population that is not confirmed."""
    others = [
        c.describe() for c in scale.cutoffs if c is not cutoff and not c.verified and c.population
    ]
    return (
        f"published: {instrument.id.upper()} {scale.id} {cutoff.describe()} — "
        f"{instrument.sources[cutoff.source]}" + (f"; {'; '.join(others)}" if others else "")
    )


class RuptureDetector(Detector):
    """A detector of ruptures on alliance series (chosen by instrument, scale, perspective)."""

    instrument: str | None
    scale: str
    perspective: str

    def _rows(self, ordered: Ordered) -> BoolArray:
        return ordered.watched(self.instrument, self.scale, self.perspective, "alliance")


class BelowCutoff(RuptureDetector):
    """A rating on the worse side of a cut-off: the instrument's confirmed cut-off (for the
    SRS, below 36: OpenFIT KA-01028) or one the site sets for a named instrument."""

    rule = "below_cutoff"
    provenance = (
        "published: the instrument's confirmed cut-off (SRS below 36, OpenFIT KA-01028), with "
        "how sure its boundary is"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        PERSPECTIVE_PARAM,
        Param(
            "cutoff", "flag ratings worse than this; empty uses the instrument's published "
            "cut-off (instruments without one are not checked)", "number", low=-1000, high=1000,
            optional=True, unit="scale points",
        ),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        perspective: str = "client",
        cutoff: float | None = None,
        severity: Severity = "medium",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.cutoff = cutoff
        self.severity = severity

    def check_params(self) -> None:
        super().check_params()
        if self.cutoff is not None and self.instrument is None:
            raise ValueError(
                "BelowCutoff: parameter cutoff needs parameter instrument (a cut-off belongs "
                "to one instrument's scale)"
            )

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = self._rows(ordered)
        parts = []
        for k, key in enumerate(ordered.keys):
            if key.scale_definition is None or not rows[ordered.key == k].any():
                continue
            if self.cutoff is not None:
                value = float(self.cutoff)
                direction: CutoffDirection = "below" if key.sign > 0 else "above"
                provenance = f"site setting: {key.instrument} {key.scale} cut-off {value:g}"
            else:
                found = confirmed_cutoff(key.scale_definition)
                if found is None:
                    continue
                value, direction = found.value, found.direction
                provenance = cutoff_provenance(key.definition, key.scale_definition, found)
            x = ordered.score
            hit = flagged(x, value, direction)
            where = np.flatnonzero(hit & rows & (ordered.key == k))
            parts.append(
                self._signals(
                    ordered,
                    where,
                    provenance=provenance,
                    value=x[where],
                    reference=value,
                    threshold=value,
                )
            )
        return concat_signals(parts)


class DropFromPrevious(RuptureDetector):
    """A rating at least ``min_drop`` points worse than the client's previous rating.

    Applied only where a feedback system published the rule: with ``min_drop`` empty (the
    default) each series uses its instrument's confirmed ``session_drop`` (the SRS: 1 point,
    OpenFIT's alert table), and instruments without one are skipped and listed in
    ``skipped_``. On a 12–60 scale such as the WAI-SR a one-point fall is mostly
    session-to-session noise (precision .10–.12 against simulated ruptures,
    ``bench/alerts.py``); a site that wants the rule there sets ``min_drop``.
    """

    rule = "drop_from_previous"
    provenance = (
        "published: OpenFIT alert rules (SRS down 1 point or more from the previous session)"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        PERSPECTIVE_PARAM,
        Param("min_drop", "smallest drop in scale points that is flagged; empty uses the "
              "instrument's published value (only the SRS has one)", "number",
              low=0.01, high=1000, optional=True, unit="scale points"),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        perspective: str = "client",
        min_drop: float | None = None,
        severity: Severity = "medium",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.min_drop = min_drop
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = self._rows(ordered)
        self.skipped_: dict[str, str] = {}
        prev = ordered.previous_score
        parts = []
        for k, key in enumerate(ordered.keys):
            in_key = rows & (ordered.key == k)
            if key.scale_definition is None or not in_key.any():
                continue
            if self.min_drop is not None:
                value = float(self.min_drop)
                provenance = f"site setting: drop of {value:g} points from the previous rating"
            else:
                found = confirmed_session_drop(key.scale_definition)
                if found is None:
                    self.skipped_[f"{key.instrument} {key.scale}"] = (
                        "no published drop-from-previous rule; set min_drop"
                    )
                    continue
                value, provenance = found, self.provenance
            drop = ordered.sign * (prev - ordered.score)  # no previous: NaN compares False
            hit = in_key & (drop >= value)
            where = np.flatnonzero(hit)
            found_signals = self._signals(
                ordered, where, provenance=provenance,
                value=ordered.score[where], reference=prev[where], threshold=value,
                since_session=ordered.previous_session[where],
            )  # fmt: skip
            parts.append(found_signals)
        return concat_signals(parts)


class DropFromBaseline(RuptureDetector):
    """A rating at least ``k`` spreads worse than the mean of the client's earlier ratings.

    ``spread`` is the larger of the client's own SD (of the earlier ratings) and a floor —
    ``floor`` points when set, otherwise the sample's typical spread (the median over clients
    of each client's SD) — so a small dip in a very steady series is not over-read, nor a drop
    in a series that swings a lot anyway. k = 2 is the threshold Stiles et al. (2004) used,
    k = 1 the one of Strauss et al. (2006); Gumz et al. (2012) recommend reporting both and
    taking the stricter of within- and between-person variability. The baseline (all earlier
    ratings, or the last ``window``) and the floor are the project's reading of those papers,
    whose exact rules were not published in retrievable form.

    Without ``floor`` the result depends on which other clients share the sample, by design
    (the sample's variability is half of Gumz et al.'s rule). In the clinic service the
    sample is the clinic's whole history (``Ordered.use_reference_spreads``), so a client's
    signals do not change with who else is in a request; ``alliance analyze`` uses the file
    it is given, and a site that wants one limit for every file sets ``floor``.
    """

    rule = "drop_from_baseline"
    provenance = (
        "derived: k·SD drop from the client's running baseline; k = 2 Stiles et al. 2004, "
        "k = 1 Strauss et al. 2006, stricter of own and sample spread Gumz et al. 2012 "
        "(thresholds published; baseline and spread rule are the project's reading)"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        PERSPECTIVE_PARAM,
        Param("k", "how many spreads below the baseline mean a rating must fall", "number",
              low=0.5, high=5, unit="spreads"),
        Param("min_baseline", "earlier ratings needed before the rule applies", "integer",
              low=2, high=50, unit="ratings"),
        Param("window", "use only this many most recent earlier ratings; empty uses all",
              "integer", low=2, high=100, optional=True, unit="ratings"),
        Param("floor", "smallest spread in scale points; empty uses the typical client "
              "spread of the sample analysed (the clinic's history, or the file), which "
              "depends on who is in it", "number", low=0, high=1000, optional=True,
              unit="scale points"),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        perspective: str = "client",
        k: float = 2.0,
        min_baseline: int = 3,
        window: int | None = None,
        floor: float | None = None,
        severity: Severity = "high",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.k = k
        self.min_baseline = min_baseline
        self.window = window
        self.floor = floor
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        base = ordered.baseline(self.window)
        floor = ordered.typical_spread if self.floor is None else float(self.floor)
        spread = np.fmax(base.sd, floor)
        drop = ordered.sign * (base.mean - ordered.score)
        hit = (
            self._rows(ordered)
            & (base.n >= self.min_baseline)
            & (spread > 0)
            & (drop >= self.k * spread)
        )
        where = np.flatnonzero(hit)
        return self._signals(
            ordered, where,
            value=ordered.score[where], reference=base.mean[where],
            threshold=self.k * spread[where], spread=spread[where],
        )  # fmt: skip


class ReliableDrop(RuptureDetector):
    """A change for the worse from the previous rating larger than reliable change.

    The reliable-change value is, in order: ``reliable_change`` when set; the instrument's
    confirmed value; else Jacobson & Truax's ``z·SD₁·√(2(1 − r))`` with ``reliability`` (r)
    and the SD of at least 10 first ratings in the data (SD₁), never below
    :func:`~alliance.analytics.change.resolution_floor` (the error of reading each answer to
    its step). A series with none of these is skipped and listed in ``skipped_``.
    """

    rule = "reliable_drop"
    provenance = (
        "derived: a fall from the previous rating beyond reliable change; the index is "
        "published for change over treatment (Jacobson & Truax 1991), its use from one "
        "session to the next is the project's"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        PERSPECTIVE_PARAM,
        Param("reliable_change", "smallest reliable change in scale points; empty uses the "
              "instrument's published value", "number", low=0.01, high=1000, optional=True,
              unit="scale points"),
        Param("reliability", "scale reliability for computing reliable change when no value "
              "is published (for example Cronbach's alpha)", "number", low=0, high=0.99,
              optional=True),
        Param("z", "critical value for a computed reliable change (1.96 = 95%)", "number",
              low=1, high=4),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        perspective: str = "client",
        reliable_change: float | None = None,
        reliability: float | None = None,
        z: float = 1.96,
        severity: Severity = "high",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.reliable_change = reliable_change
        self.reliability = reliability
        self.z = z
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = self._rows(ordered)
        self.skipped_: dict[str, str] = {}
        parts = []
        prev = ordered.previous_score
        for k, key in enumerate(ordered.keys):
            in_key = rows & (ordered.key == k)
            if key.scale_definition is None or not in_key.any():
                continue
            found = self._value(ordered, in_key, key.definition, key.scale_definition)
            if isinstance(found, str):
                self.skipped_[f"{key.instrument} {key.scale}"] = found
                continue
            value, provenance, strict = found
            drop = ordered.sign * (prev - ordered.score)
            hit = in_key & ((drop > value) if strict else (drop >= value))
            where = np.flatnonzero(hit)
            parts.append(
                self._signals(
                    ordered,
                    where,
                    provenance=provenance,
                    value=ordered.score[where],
                    reference=prev[where],
                    threshold=value,
                    since_session=ordered.previous_session[where],
                )
            )
        return concat_signals(parts)

    def _value(
        self, ordered: Ordered, in_key: BoolArray, instrument: Instrument, scale: Scale
    ) -> tuple[float, str, bool] | str:
        if self.reliable_change is not None:
            return float(self.reliable_change), "site setting: reliable change value", False
        rc = scale.reliable_change
        if rc is not None and rc.verified:
            return float(rc.value), f"{self.provenance}; value {rc.value:g} ({rc.source})", False
        if self.reliability is None:
            return "no confirmed reliable-change value; set reliable_change or reliability"
        firsts = ordered.score[in_key & ordered.first]
        if len(firsts) < 10:
            return "fewer than 10 first ratings to estimate the baseline SD"
        sd = float(np.std(firsts, ddof=1))
        if not sd > 0:
            return "first ratings do not vary; the baseline SD is zero"
        value = reliable_change_value(sd, float(self.reliability), z=float(self.z))
        provenance = (
            f"{self.provenance}; value {value:.2f} = {self.z:g}·SD₁·√(2(1 − r)) from this "
            f"data's first ratings (SD₁ {sd:.2f}) and r = {self.reliability:g}"
        )
        floor = resolution_floor(instrument, scale, z=float(self.z))
        if value < floor:
            provenance += (
                f", raised to {floor:.2f}, the least change the items' resolution allows "
                f"(z·√2·√(Σh²/12))"
            )
            value = floor
        return value, provenance, True


class ReportedRupture(Detector):
    """A rupture the rater reported for the session (a yes/no question beside the rating).

    Clients and therapists both rated post-session rupture presence in Muran et al. (2009),
    where patients reported fewer ruptures than therapists; the yes/no question here is the
    project's own (the questionnaire's items were not confirmed).
    """

    rule = "reported_rupture"
    provenance = (
        "derived: an alert on a rupture the rater reports after the session; patients and "
        "therapists rated post-session ruptures in Muran et al. 2009 (published), the question "
        "and the alert are the project's"
    )
    params = (INSTRUMENT_PARAM, PERSPECTIVE_PARAM, SEVERITY_PARAM)

    def __init__(
        self,
        *,
        instrument: str | None = None,
        perspective: str = "clinician",
        severity: Severity = "high",
    ) -> None:
        self.instrument = instrument
        self.perspective = perspective
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.select(
            instrument=self.instrument,
            scale=REPORTED_RUPTURE_SCALE,
            perspective=self.perspective,
            stance=None,
        )
        where = np.flatnonzero(rows & (ordered.score >= 1))
        return self._signals(
            ordered, where,
            value=ordered.score[where], threshold=1.0,
        )  # fmt: skip
