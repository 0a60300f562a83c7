"""A client's risk history: every risk answer (and risk question left empty), newest first,
with the alert it raised and what was done about it — read from the timeline, so the
before-the-session view and the PDF report show the same lines.

The answers are read from the administrations themselves, not from the alerts, so an answer
is listed even if its alert were missing; the alert and its follow-ups are joined by the key
the submission gave them (``risk:<administration>``, ``risk-empty:<administration>``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from alliance.instruments.registry import Registry
from alliance.services.monitoring.follow_up import describe
from alliance.services.monitoring.risk import answer_text
from alliance.services.records.timeline import Timeline
from alliance.store.alerts import Alert, RiskFollowUp


@dataclass(frozen=True)
class RiskAnswer:
    """One risk question of one form: answered at or above its threshold, or left empty."""

    date: dt.date
    session: int
    episode: str
    instrument: str
    question: str
    answer: str
    answered: bool
    current: bool
    alert: Alert | None
    follow_ups: list[RiskFollowUp] = field(default_factory=list)

    @property
    def state(self) -> str:
        """What the page says about the follow-up: resolved, being followed up, or open."""
        if self.alert is None:
            return "no alert found"
        if self.alert.state == "resolved":
            return "resolved"
        return "followed up, still open" if self.follow_ups else self.alert.state

    def follow_up_lines(self) -> list[tuple[str, str]]:
        """(summary, note) per follow-up, oldest first."""
        return [(describe(f), f.note) for f in self.follow_ups]


def risk_history(t: Timeline, registry: Registry) -> list[RiskAnswer]:
    """Every risk answer of the client, newest session first."""
    alerts = {a.key: a for a in t.alerts}
    entries: list[RiskAnswer] = []
    for number, ev in enumerate(t.episodes, start=1):
        for sv in ev.sessions:
            for av in sv.administrations:
                a = av.administration
                try:
                    inst = registry.get(a.instrument, a.version)
                except KeyError:  # a definition the site no longer loads
                    continue
                for item in inst.risk_items:
                    rule = item.risk
                    if rule is None:
                        continue
                    value = a.answers.get(item.id)
                    if value is not None and value < rule.at_or_above:
                        continue
                    answered = value is not None
                    shown = "left empty" if value is None else answer_text(inst, item, value)
                    alert = alerts.get(f"{'risk' if answered else 'risk-empty'}:{a.id}")
                    entries.append(
                        RiskAnswer(
                            date=sv.session.date,
                            session=sv.session.number,
                            episode=f"E{number}",
                            instrument=inst.id,
                            question=inst.question_name(item.id),
                            answer=shown,
                            answered=answered,
                            current=av.current,
                            alert=alert,
                            follow_ups=t.follow_ups.get(alert.id, []) if alert else [],
                        )
                    )
    entries.sort(key=lambda e: (e.date, e.session), reverse=True)
    return entries
