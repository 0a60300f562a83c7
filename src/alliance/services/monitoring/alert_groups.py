"""Open alerts as the problems they point at: one group per rule and episode (and measure),
so that a drop flagged at sessions 8, 9 and 11 is one card reading "3 times, sessions 8–11",
not three. A risk alert stays on its own: each risk answer needs its own follow-up record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alliance.analytics.goal_scale import GOAL_INSTRUMENT
from alliance.services.monitoring.alerting import RISK_RULES
from alliance.store.alerts import PRIORITIES, Alert

RULE_TITLES = {
    "risk_item": "Risk answer",
    "risk_unanswered": "Risk question left empty",
    "drop_from_previous": "Drop from the previous rating",
    "drop_from_baseline": "Drop from the client's usual level",
    "reliable_drop": "Reliable drop",
    "reported_rupture": "Rupture noticed",
    "repair": "Repair after a rupture",
    "low_early_alliance": "Low alliance early on",
    "off_track": "Off the expected track",
    "outcome_deterioration": "Reliable deterioration",
    "discrepancy": "Your rating and the client's far apart",
    "calibration_gap": "Your prediction far from the client's rating",
    "below_cutoff": "Below the cut-off",
    "low_goal_agreement": "Low agreement on goals",
    "goal_disagreement": "You and the client see a goal's progress differently",
    "goal_stall": "A goal not moving while the alliance holds",
}


def rule_title(rule: str) -> str:
    return RULE_TITLES.get(rule, rule.replace("_", " ").capitalize())


@dataclass
class AlertGroup:
    """Alerts of one rule, episode and measure; the newest first."""

    rule: str
    alerts: list[Alert] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)  # ascending, without repeats

    @property
    def title(self) -> str:
        return rule_title(self.rule)

    @property
    def latest(self) -> Alert:
        return self.alerts[0]

    @property
    def priority(self) -> str:
        return min((a.priority for a in self.alerts), key=PRIORITIES.index)

    @property
    def state(self) -> str:
        """``open`` while any alert of the group is open, else ``acknowledged``."""
        return "open" if self.open_ids else "acknowledged"

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.alerts]

    @property
    def open_ids(self) -> list[str]:
        return [a.id for a in self.alerts if a.state == "open"]

    @property
    def is_risk(self) -> bool:
        return self.rule in RISK_RULES

    @property
    def measure(self) -> str | None:
        numbers = self.latest.numbers or {}
        instrument, scale = numbers.get("instrument"), numbers.get("scale")
        if instrument == GOAL_INSTRUMENT and scale:
            return str(scale).replace("_", " ")
        return f"{str(instrument).upper()} {scale}" if instrument and scale else None

    def span(self) -> str:
        """``session 10``, or ``3 times, sessions 8–11``."""
        times = len(self.alerts)
        if not self.sessions:
            return f"{times} times" if times > 1 else ""
        if len(self.sessions) == 1:
            where = f"session {self.sessions[0]}"
        else:
            where = f"sessions {self.sessions[0]}–{self.sessions[-1]}"
        return f"{times} times, {where}" if times > 1 else where


def group_alerts(alerts: Iterable[Alert], session_numbers: dict[str, int]) -> list[AlertGroup]:
    """Unresolved alerts grouped by rule, episode and measure (risk alerts one by one),
    most urgent first, then risk before the rest, then the most recent.

    ``session_numbers``: session id → number, for alerts that name their session by id."""
    groups: dict[tuple[str, ...], AlertGroup] = {}
    for alert in alerts:
        if alert.state == "resolved":
            continue
        numbers = alert.numbers or {}
        if alert.rule in RISK_RULES:
            key: tuple[str, ...] = ("risk", alert.id)
        else:
            key = (
                alert.rule,
                alert.episode_id or "",
                str(numbers.get("instrument", "")),
                str(numbers.get("scale", "")),
            )
        group = groups.setdefault(key, AlertGroup(alert.rule))
        group.alerts.append(alert)
        session = numbers.get("session")
        if not isinstance(session, int):
            session = session_numbers.get(alert.session_id or "")
        if session is not None and session not in group.sessions:
            group.sessions.append(session)
    for group in groups.values():
        group.sessions.sort()
        group.alerts.sort(
            key=lambda a: (
                _session_of(a, session_numbers),
                a.created_at.timestamp() if a.created_at else 0.0,
            ),
            reverse=True,
        )
    return sorted(
        groups.values(),
        key=lambda g: (
            PRIORITIES.index(g.priority),
            not g.is_risk,
            -(g.sessions[-1] if g.sessions else 0),
        ),
    )


def _session_of(alert: Alert, session_numbers: dict[str, int]) -> int:
    session = (alert.numbers or {}).get("session")
    if isinstance(session, int):
        return session
    return session_numbers.get(alert.session_id or "", 0)
