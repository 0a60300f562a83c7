"""Signals besides ruptures: low early alliance, outcome deterioration, and risk.

The risk signals are special: they have no parameters and
:func:`alliance.analytics.pipeline.detect_all` always runs them, whatever detectors it is
given. A risk answer is always ``urgent``; a risk item left empty is ``high`` and asks for the
same-day question the clinic service asks for (``feedback.guidance``, ``risk_unanswered``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.analytics.change import (
    classify_change,
    confirmed_cutoff,
    confirmed_reliable_change,
    flagged,
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
from alliance.analytics.series import Ordered
from alliance.analytics.tidy import RISK_SCALE, RISK_UNANSWERED_SCALE


class LowEarlyAlliance(Detector):
    """A low alliance rating in the first ``sessions`` sessions.

    Early alliance predicts outcome (r ≈ .28, Flückiger et al. 2018) and dropout (d ≈ .55,
    Sharf et al. 2010). "Low" is the instrument's confirmed cut-off where one exists (SRS: below
    36), a site's ``cutoff``, or else the lowest ``percentile`` of early ratings in the data —
    no alliance measure has published norms or cut-offs (Horvath's WAI site), so that choice
    is derived.
    """

    rule = "low_early_alliance"
    provenance = (
        "derived: an early rating on the low side of a cut-off or of the data's early ratings; "
        "the link it rests on is published (early alliance predicts outcome, Flückiger et al. "
        "2018, and dropout, Sharf et al. 2010), the threshold is not"
    )
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        PERSPECTIVE_PARAM,
        Param("sessions", "how many first sessions count as early", "integer", low=1, high=10,
              unit="sessions"),
        Param("cutoff", "flag early ratings worse than this; empty uses the instrument's "
              "published cut-off, or else the percentile", "number", low=-1000, high=1000,
              optional=True, unit="scale points"),
        Param("percentile", "without a cut-off, flag early ratings among the lowest this many "
              "percent of early ratings in the data", "number", low=1, high=50, unit="percent"),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        perspective: str = "client",
        sessions: int = 3,
        cutoff: float | None = None,
        percentile: float = 25.0,
        severity: Severity = "medium",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.perspective = perspective
        self.sessions = sessions
        self.cutoff = cutoff
        self.percentile = percentile
        self.severity = severity

    def check_params(self) -> None:
        super().check_params()
        if self.cutoff is not None and self.instrument is None:
            raise ValueError("LowEarlyAlliance: parameter cutoff needs parameter instrument")

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.watched(self.instrument, self.scale, self.perspective, "alliance") & (
            ordered.session <= self.sessions
        )
        parts = []
        x = ordered.score
        for k, key in enumerate(ordered.keys):
            in_key = rows & (ordered.key == k)
            if key.scale_definition is None or not in_key.any():
                continue
            found = confirmed_cutoff(key.scale_definition)
            provenance = self.provenance
            if self.cutoff is not None:
                hit = x * key.sign < float(self.cutoff) * key.sign
                threshold = float(self.cutoff)
                provenance += f"; site cut-off {threshold:g}"
            elif found is not None:
                threshold = found.value
                hit = flagged(x, threshold, found.direction)
                provenance += f"; {key.instrument} published cut-off {found.describe()}"
            else:
                q = self.percentile if key.sign > 0 else 100.0 - self.percentile
                threshold = float(np.percentile(x[in_key], q))
                hit = x * key.sign < threshold * key.sign
                provenance += (
                    f"; derived threshold: lowest {self.percentile:g}% of early ratings in "
                    f"these data ({threshold:g})"
                )
            where = np.flatnonzero(in_key & hit)
            parts.append(
                self._signals(
                    ordered,
                    where,
                    provenance=provenance,
                    value=x[where],
                    reference=threshold,
                    threshold=threshold,
                )
            )
        return concat_signals(parts)


class OutcomeDeterioration(Detector):
    """Reliable deterioration of an outcome since the episode's first rating (Jacobson &
    Truax 1991), with the instrument's confirmed reliable-change value (PHQ-9: 6 points,
    NHS Talking Therapies) or a site's ``reliable_change``."""

    rule = "outcome_deterioration"
    provenance = "published: reliable deterioration, Jacobson & Truax 1991"
    params = (
        INSTRUMENT_PARAM,
        SCALE_PARAM,
        Param("reliable_change", "smallest reliable change in scale points; empty uses the "
              "instrument's published value", "number", low=0.01, high=1000, optional=True,
              unit="scale points"),
        SEVERITY_PARAM,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instrument: str | None = None,
        scale: str = "total",
        reliable_change: float | None = None,
        severity: Severity = "high",
    ) -> None:
        self.instrument = instrument
        self.scale = scale
        self.reliable_change = reliable_change
        self.severity = severity

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.watched(self.instrument, self.scale, "client", "outcome")
        self.skipped_: dict[str, str] = {}
        parts = []
        first = ordered.score[ordered.start]
        for k, key in enumerate(ordered.keys):
            in_key = rows & (ordered.key == k) & ~ordered.first
            if key.scale_definition is None or not in_key.any():
                continue
            rc = (
                float(self.reliable_change)
                if self.reliable_change is not None
                else confirmed_reliable_change(key.scale_definition)
            )
            if rc is None:
                self.skipped_[f"{key.instrument} {key.scale}"] = (
                    "no confirmed reliable-change value; set reliable_change"
                )
                continue
            source = key.scale_definition.reliable_change
            provenance = self.provenance + (
                f"; value {rc:g} ({source.source})"
                if self.reliable_change is None and source is not None
                else f"; site value {rc:g}"
            )
            idx = np.flatnonzero(in_key)
            category = classify_change(
                first[idx],
                ordered.score[idx],
                min_change=rc,
                higher_is=key.scale_definition.higher_is,
            )
            where = idx[category == "deteriorated"]
            parts.append(
                self._signals(
                    ordered,
                    where,
                    provenance=provenance,
                    value=ordered.score[where],
                    reference=first[where],
                    threshold=rc,
                    since_session=ordered.session[ordered.start[where]],
                )
            )
        return concat_signals(parts)


class RiskItem(Detector):
    """A risk item answered at or above its risk threshold (e.g. PHQ-9 item 9 above "not at
    all"; CORE-10 item 6). Always urgent; it has no parameters and cannot be turned off.

    The flag itself comes from the scorer (``Scores.any_risk``), carried in the tidy table as
    the ``risk`` pseudo-scale by :func:`alliance.analytics.tidy.tidy_scores`.
    """

    rule = "risk_item"
    provenance = (
        "derived: the project's rule, an urgent alert and same-day follow-up for any risk-item "
        "answer at or above its threshold (the risk item itself is published)"
    )
    params = ()

    def __init__(self) -> None:
        """The risk rule takes no configuration: it cannot be tuned or turned off."""

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.select(scale=RISK_SCALE, stance=None)  # any perspective, any stance
        parts = []
        for k, key in enumerate(ordered.keys):
            where = np.flatnonzero(rows & (ordered.key == k) & (ordered.score >= 1))
            if not len(where):
                continue
            items = key.definition.risk_items
            sources = sorted({item.risk.source for item in items if item.risk})
            provenance = (
                "derived: the project's rule, an urgent alert and same-day follow-up for any "
                f"answer at or above the threshold of {key.instrument} risk item "
                f"{', '.join(item.id for item in items)} (published as the risk item: source "
                f"{', '.join(sources)})"
            )
            parts.append(
                self._signals(
                    ordered,
                    where,
                    severity="urgent",
                    provenance=provenance,
                    value=ordered.score[where],
                    threshold=1.0,
                )
            )
        return concat_signals(parts)


class RiskUnanswered(Detector):
    """A risk item left empty (e.g. PHQ-9 item 9 skipped while the other items were answered).

    An empty answer is not a no: the form cannot tell whether there is risk, so the clinician
    is asked to put the question the same day. The same rule, severity (``high``) and next
    steps as the alert the clinic service raises at submission. It has no parameters and
    cannot be turned off. The flag comes from the scorer (``Scores.any_risk_unanswered``),
    carried as the ``risk_unanswered`` pseudo-scale by
    :func:`alliance.analytics.tidy.tidy_scores`.
    """

    rule = "risk_unanswered"
    provenance = "derived: the project's rule (an unanswered risk item is not a no)"
    params = ()
    severity: Severity = "high"

    def __init__(self) -> None:
        """The rule takes no configuration: it cannot be tuned or turned off."""

    def _detect(self, ordered: Ordered) -> pd.DataFrame:
        rows = ordered.select(scale=RISK_UNANSWERED_SCALE, stance=None)  # any perspective
        where = np.flatnonzero(rows & (ordered.score >= 1))
        return self._signals(ordered, where, value=ordered.score[where], threshold=1.0)
