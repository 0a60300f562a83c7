"""All detectors in one pass, and a per-client summary.

:func:`detect_all` sorts the tidy table into series once and runs every detector on the same
arrays. The risk detectors (a risk answer, a risk item left empty) always run: they are added
when missing, and nothing can remove them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from alliance.analytics.agreement import CalibrationGap, Discrepancy
from alliance.analytics.change import (
    classify_change,
    confirmed_reliable_change,
    recovery_cutoff,
)
from alliance.analytics.detector import SEVERITIES, Detector, empty_signals
from alliance.analytics.expected import OffTrack
from alliance.analytics.goal_signals import GoalDisagreement, GoalStall, LowGoalAgreement
from alliance.analytics.repair import Repair
from alliance.analytics.ruptures import (
    BelowCutoff,
    DropFromBaseline,
    DropFromPrevious,
    ReliableDrop,
    ReportedRupture,
)
from alliance.analytics.series import Ordered, order_series
from alliance.analytics.signals import (
    LowEarlyAlliance,
    OutcomeDeterioration,
    RiskItem,
    RiskUnanswered,
)
from alliance.instruments.model import Scale
from alliance.instruments.registry import Registry

DETECTOR_CLASSES: tuple[type[Detector], ...] = (
    BelowCutoff,
    DropFromPrevious,
    DropFromBaseline,
    ReliableDrop,
    ReportedRupture,
    Repair,
    LowEarlyAlliance,
    OffTrack,
    OutcomeDeterioration,
    Discrepancy,
    CalibrationGap,
    LowGoalAgreement,
    GoalDisagreement,
    GoalStall,
    RiskItem,
    RiskUnanswered,
)
"""Every detector, one per rule, in the order signals are listed."""

ALWAYS_ON: tuple[type[Detector], ...] = (RiskItem, RiskUnanswered)
"""The risk rules: run whatever detectors are given; they cannot be configured."""

RUPTURE_RULES = (
    "below_cutoff",
    "drop_from_previous",
    "drop_from_baseline",
    "reliable_drop",
    "reported_rupture",
)


def default_detectors() -> list[Detector]:
    """One detector per rule with its default configuration."""
    return [cls() for cls in DETECTOR_CLASSES]


def detect_all(
    data: pd.DataFrame | Ordered,
    detectors: Iterable[Detector] | None = None,
    *,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """Signals of every detector (default: :func:`default_detectors`) over a tidy table,
    sorted by client, episode, session, severity and rule. The risk detectors always run."""
    chosen = list(default_detectors() if detectors is None else detectors)
    for detector in chosen:
        if not isinstance(detector, Detector):
            raise TypeError(f"detectors must be Detector objects; got {detector!r}")
    for always in ALWAYS_ON:
        if not any(isinstance(d, always) for d in chosen):
            chosen.append(always())
    ordered = data if isinstance(data, Ordered) else order_series(data, registry=registry)
    parts = [d.signals(ordered) for d in chosen]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_signals()
    signals = pd.concat(parts)
    # each signal's index is its rating's position: sort on the ordered arrays, not on text
    at = signals.index.to_numpy()
    rank: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
    rules = {d.rule: i for i, d in enumerate(DETECTOR_CLASSES)}
    severity = np.concatenate([np.full(len(p), rank[str(p["severity"].iloc[0])]) for p in parts])
    unknown = len(rules)  # a site's own detector sorts after the project's rules
    rule = np.concatenate(
        [np.full(len(p), rules.get(str(p["rule"].iloc[0]), unknown)) for p in parts]
    )
    order = np.lexsort(
        (rule, severity, ordered.session[at], ordered.episode_code[at], ordered.client_code[at])
    )
    return signals.iloc[order].reset_index(drop=True)


def client_summary(data: pd.DataFrame | Ordered, signals: pd.DataFrame) -> pd.DataFrame:
    """One row per client, episode, instrument and scale of the clients' own ratings.

    Columns: ``client, episode, instrument, scale, kind, clinician, ratings, first_session,
    last_session, first, last, mean, sd, change, category`` (Jacobson–Truax, where the scale
    has a confirmed reliable-change value; "recovered" needs the caseness cut-off of the same
    source, :func:`~alliance.analytics.change.recovery_cutoff`), and a count per rule of the
    signals on that series, plus ``risk`` and ``risk_unanswered`` (counts of risk answers and
    of risk items left empty in the client's episode).
    """
    ordered = data if isinstance(data, Ordered) else order_series(data)
    rows = ordered.select(perspective="client")
    keep = np.flatnonzero(rows & ~_pseudo(ordered))
    meta = ordered.meta(keep)
    frame = meta.assign(group=ordered.group[keep], score=ordered.score[keep])
    frame["kind"] = [ordered.keys[k].kind for k in ordered.key[keep]]
    grouped = frame.groupby("group", sort=True)
    summary = grouped.agg(
        client=("client", "first"),
        episode=("episode", "first"),
        instrument=("instrument", "first"),
        scale=("scale", "first"),
        kind=("kind", "first"),
        clinician=("clinician", "last"),
        ratings=("score", "size"),
        first_session=("session", "min"),
        last_session=("session", "max"),
        first=("score", "first"),
        last=("score", "last"),
        mean=("score", "mean"),
        sd=("score", "std"),
    )
    summary["change"] = summary["last"] - summary["first"]
    summary["category"] = None
    for (instrument, scale), part in summary.groupby(["instrument", "scale"]):
        definition = _scale(ordered, str(instrument), str(scale))
        rc = confirmed_reliable_change(definition) if definition else None
        if definition is None or rc is None:
            continue
        caseness = recovery_cutoff(definition)  # the same source as the reliable change
        summary.loc[part.index, "category"] = classify_change(
            part["first"], part["last"], min_change=rc, higher_is=definition.higher_is,
            clinical=None if caseness is None else (caseness.value, caseness.direction),
        )  # fmt: skip
    summary = summary.reset_index(drop=True)
    keys = ["client", "episode", "instrument", "scale"]
    risk_rules = [cls.rule for cls in ALWAYS_ON]  # counted per episode below
    on_series = (
        signals[(signals["perspective"] == "client") & ~signals["rule"].isin(risk_rules)]
        if len(signals)
        else signals
    )
    if len(on_series):
        counts = on_series.pivot_table(index=keys, columns="rule", values="session",
                                       aggfunc="size", fill_value=0)  # fmt: skip
        summary = summary.merge(counts.reset_index(), on=keys, how="left")
    for rule, column in ((RiskItem.rule, "risk"), (RiskUnanswered.rule, "risk_unanswered")):
        risk = signals[signals["rule"] == rule] if len(signals) else signals
        counts_of = risk.groupby(["client", "episode"]).size().rename(column) if len(risk) else None
        summary = summary.merge(
            counts_of.reset_index() if counts_of is not None else
            pd.DataFrame(columns=["client", "episode", column]),
            on=["client", "episode"], how="left",
        )  # fmt: skip
    count_columns = [c for c in summary.columns if c not in _BASE_COLUMNS]
    summary[count_columns] = summary[count_columns].fillna(0).astype(np.int64)
    return summary


_BASE_COLUMNS = {
    "client", "episode", "instrument", "scale", "kind", "clinician", "ratings",
    "first_session", "last_session", "first", "last", "mean", "sd", "change", "category",
}  # fmt: skip


def _pseudo(ordered: Ordered) -> np.ndarray:
    table = np.array([k.scale_definition is None for k in ordered.keys], dtype=bool)
    return table[ordered.key] if len(ordered.keys) else np.zeros(0, dtype=bool)


def _scale(ordered: Ordered, instrument: str, scale: str) -> Scale | None:
    for key in ordered.keys:
        if key.instrument == instrument and key.scale == scale:
            return key.scale_definition
    return None
