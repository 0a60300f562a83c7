"""Turn signals into alerts: a priority, a plain-language reason with the numbers, next steps.

Priority is the signal's severity, set per rule in the organization's configuration, and for
a fall graded by its size (``priority.py``: a fall just past the rule's limit ranks below one of
twice the limit or more); a risk answer is always ``urgent``, a risk item left empty always
``high``, and neither is ever dropped, whatever the configuration says.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from alliance.analytics.detector import SEVERITIES, Severity
from alliance.analytics.goal_scale import GOAL_INSTRUMENT
from alliance.analytics.signals import RiskItem, RiskUnanswered
from alliance.feedback.config import ALWAYS_ON, FeedbackConfig
from alliance.feedback.guidance import GUIDANCE, NextStep
from alliance.feedback.priority import GRADED_RULES, fall_size, graded_priority

ALERT_STATES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class Alert:
    """A signal put in front of a clinician."""

    client: str
    episode: str
    session: int
    rule: str
    priority: Severity
    reason: str
    next_steps: tuple[NextStep, ...]
    provenance: str
    instrument: str | None = None
    scale: str | None = None
    date: Any = None
    clinician: str | None = None
    state: str = "open"
    size: float | None = None  # a fall's size in limits (reliable changes), for graded rules

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_steps"] = [asdict(step) for step in self.next_steps]
        return data


def _g(value: Any, digits: int = 1) -> str:
    """A number as short text: whole numbers without decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    number = float(value)
    return f"{number:.0f}" if number == round(number) else f"{number:.{digits}f}"


def _what(s: pd.Series) -> str:
    if str(s["instrument"]) == GOAL_INSTRUMENT:  # goal_2 -> "progress on goal 2"
        return f"progress on {str(s['scale']).replace('_', ' ')}"
    return f"{str(s['instrument']).upper()} {s['scale']}"


def _since(s: pd.Series) -> str:
    return _g(s["since_session"], 0)


REASONS: dict[str, Callable[[pd.Series], str]] = {
    "below_cutoff": lambda s: (
        f"{_what(s)} was {_g(s['value'])} in session {s['session']}, on the concerning side "
        f"of the cut-off {_g(s['threshold'])}."
    ),
    "drop_from_previous": lambda s: (
        f"{_what(s)} went from {_g(s['reference'])} in session {_since(s)} to "
        f"{_g(s['value'])} in session {s['session']} (a change of {_g(s['change'])} points; "
        f"flagged from {_g(s['threshold'])})."
    ),
    "drop_from_baseline": lambda s: (
        f"{_what(s)} was {_g(s['value'])} in session {s['session']}, "
        f"{_g(abs(s['change']))} points from the client's usual {_g(s['reference'])} — more "
        f"than the limit of {_g(s['threshold'])} ({_g(s['threshold'] / s['spread'])} × the "
        f"client's spread of {_g(s['spread'])})."
    ),
    "reliable_drop": lambda s: (
        f"{_what(s)} went from {_g(s['reference'])} in session {_since(s)} to "
        f"{_g(s['value'])} in session {s['session']}, a change of {_g(abs(s['change']))} "
        f"points, beyond reliable change ({_g(s['threshold'])})."
    ),
    "reported_rupture": lambda s: (
        f"The {s['perspective']} reported a rupture in session {s['session']}."
    ),
    "repair": lambda s: (
        f"{_what(s)} recovered to {_g(s['value'])} in session {s['session']} after the "
        f"rupture in session {_since(s)} (pre-rupture level {_g(s['reference'])})."
    ),
    "low_early_alliance": lambda s: (
        f"Early {_what(s)} was {_g(s['value'])} in session {s['session']}, on the low side "
        f"of {_g(s['threshold'])}."
    ),
    "off_track": lambda s: (
        f"{_what(s)} was {_g(s['value'])} in session {s['session']}, outside the expected "
        f"range for clients with a similar start (expected {_g(s['reference'])}, limit "
        f"{_g(s['threshold'])})."
    ),
    "outcome_deterioration": lambda s: (
        f"{_what(s)} went from {_g(s['reference'])} in session {_since(s)} to "
        f"{_g(s['value'])} in session {s['session']}: a reliable deterioration (a change of "
        f"{_g(s['threshold'])} points or more counts as reliable)."
    ),
    "discrepancy": lambda s: (
        f"In session {s['session']} your {_what(s)} rating was {_g(s['value'])} and the "
        f"client's {_g(s['reference'])}, {_g(abs(s['change']))} points apart (flagged from "
        f"{_g(s['threshold'])})."
    ),
    "calibration_gap": lambda s: (
        f"In session {s['session']} you predicted the client would rate {_what(s)} "
        f"{_g(s['value'])}; they rated {_g(s['reference'])} ({_g(s['change'])} points; "
        f"flagged from {_g(s['threshold'])})."
    ),
    "low_goal_agreement": lambda s: (
        f"{_what(s)} was {_g(s['value'])} in session {s['session']}, at or below "
        f"{_g(s['threshold'])}: the client may not share the goals of the work."
    ),
    "goal_disagreement": lambda s: (
        f"In session {s['session']} you rated {_what(s)} {_g(s['value'])} and the client "
        f"{_g(s['reference'])}; over the last sessions your ratings were "
        f"{_g(abs(s['spread']))} points apart on average (flagged from {_g(s['threshold'])})."
    ),
    "goal_stall": lambda s: (
        f"{_what(s)} went from {_g(s['reference'])} in session {_since(s)} to "
        f"{_g(s['value'])} in session {s['session']} ({_g(s['spread'], 2)} points a session, "
        f"under {_g(s['threshold'], 2)}) while the alliance ratings held up."
    ),
    "risk_item": lambda s: (
        f"The risk item of {str(s['instrument']).upper()} was answered above its lowest "
        f"option in session {s['session']}."
    ),
    "risk_unanswered": lambda s: (
        f"The risk item of {str(s['instrument']).upper()} was left unanswered in session "
        f"{s['session']}. The form cannot tell whether there is risk: an empty answer is not "
        "a no."
    ),
}


def reason(signal: pd.Series) -> str:
    """The plain-language reason for one signal (a row of a signals table)."""
    make = REASONS.get(str(signal["rule"]))
    if make is None:
        return f"Rule {signal['rule']} fired in session {signal['session']}."
    return make(signal)


def alerts_from_signals(
    signals: pd.DataFrame, *, config: FeedbackConfig | None = None
) -> list[Alert]:
    """One alert per signal of an enabled rule, most urgent first (then by client and
    session). A risk answer always becomes an urgent alert, a risk item left empty a high
    one; neither can be switched off."""
    config = config or FeedbackConfig.default()
    alerts = []
    for _, s in signals.iterrows():
        rule = str(s["rule"])
        if rule not in ALWAYS_ON and not config.enabled.get(rule, True):
            continue
        severity = str(s["severity"])
        priority: Severity = "urgent" if rule == RiskItem.rule else _severity(severity)
        size = fall_size(s.get("change"), s.get("threshold")) if rule in GRADED_RULES else None
        if rule not in ALWAYS_ON:
            priority = graded_priority(priority, size)
        if rule == RiskUnanswered.rule:
            priority = "high"  # as the clinic service raises it
        clinician = s.get("clinician")
        alerts.append(
            Alert(
                client=str(s["client"]),
                episode=str(s["episode"]),
                session=int(s["session"]),
                rule=rule,
                priority=priority,
                reason=reason(s),
                next_steps=GUIDANCE.get(rule, ()),
                provenance=str(s["provenance"]),
                instrument=str(s["instrument"]),
                scale=str(s["scale"]),
                date=s.get("date"),
                clinician=None if clinician is None or pd.isna(clinician) else str(clinician),
                size=None if size is None else round(size, 2),
            )
        )
    rank = {p: i for i, p in enumerate(SEVERITIES)}
    return sorted(alerts, key=lambda a: (rank[a.priority], a.client, a.episode, a.session))


def _severity(value: str) -> Severity:
    for s in SEVERITIES:
        if s == value:
            return s
    raise ValueError(f"signal severity must be one of {', '.join(SEVERITIES)}; got {value!r}")


def alerts_frame(alerts: list[Alert]) -> pd.DataFrame:
    """Alerts as a table; next steps joined with " | "."""
    columns = ["client", "episode", "session", "date", "clinician", "rule", "priority",
               "reason", "next_steps", "provenance"]  # fmt: skip
    return pd.DataFrame(
        [
            {**{c: getattr(a, c) for c in columns if c != "next_steps"},
             "next_steps": " | ".join(step.text for step in a.next_steps)}
            for a in alerts
        ],
        columns=columns,
    )  # fmt: skip
