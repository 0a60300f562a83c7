from __future__ import annotations

import re

import pandas as pd
import pytest

from alliance.analytics.detector import SIGNAL_COLUMNS
from alliance.analytics.pipeline import DETECTOR_CLASSES, detect_all
from alliance.feedback.alerts import alerts_frame, alerts_from_signals, reason
from alliance.feedback.config import FeedbackConfig
from alliance.feedback.guidance import GUIDANCE, SOURCES
from alliance.simulate import simulate_clinic


@pytest.fixture(scope="module")
def signals() -> pd.DataFrame:
    return detect_all(simulate_clinic(seed=5).tidy())


def test_every_rule_has_two_or_three_grounded_steps() -> None:
    for cls in DETECTOR_CLASSES:
        steps = GUIDANCE[cls.rule]
        assert 2 <= len(steps) <= 3, cls.rule
        for step in steps:
            assert step.sources and all(key in SOURCES for key in step.sources)
            assert len(step.text) > 30


def test_reasons_carry_the_numbers(signals: pd.DataFrame) -> None:
    for rule, part in signals.groupby("rule"):
        s = part.iloc[0]
        text = reason(s)
        assert str(s["session"]) in text, rule
        if pd.notna(s["value"]) and rule not in ("risk_item", "reported_rupture"):
            assert re.search(rf"\b{float(s['value']):g}\b", text), (rule, text)
    drop = signals[signals["rule"] == "drop_from_baseline"].iloc[0]
    assert f"{drop['reference']:.1f}" in reason(drop)


def test_risk_is_urgent_first_and_disabled_rules_are_dropped(signals: pd.DataFrame) -> None:
    config = FeedbackConfig.from_dict({"rules": {"drop_from_previous": {"enabled": False}}})
    alerts = alerts_from_signals(signals, config=config)
    assert "drop_from_previous" not in {a.rule for a in alerts}
    risk = [a for a in alerts if a.rule == "risk_item"]
    assert risk and all(a.priority == "urgent" for a in risk)
    assert alerts[0].priority == "urgent"
    ranks = ["urgent", "high", "medium", "low"]
    assert [ranks.index(a.priority) for a in alerts] == sorted(
        ranks.index(a.priority) for a in alerts
    )
    tampered = signals.copy()
    tampered.loc[tampered["rule"] == "risk_item", "severity"] = "low"
    assert all(
        a.priority == "urgent" for a in alerts_from_signals(tampered) if a.rule == "risk_item"
    )


def test_alerts_serialise(signals: pd.DataFrame) -> None:
    alerts = alerts_from_signals(signals.head(20))
    data = alerts[0].to_dict()
    assert data["state"] == "open" and data["next_steps"][0]["sources"]
    frame = alerts_frame(alerts)
    assert len(frame) == len(alerts) and frame["reason"].str.len().min() > 20


def test_risk_steps_cite_the_safety_plan_and_cover_a_client_not_reached() -> None:
    steps = GUIDANCE["risk_item"]
    plan = [s for s in steps if "safety plan" in s.text]
    assert plan and plan[0].sources == ("stanley_brown2012",)
    assert "Stanley" in SOURCES["stanley_brown2012"] and "2012" in SOURCES["stanley_brown2012"]
    assert "simon2013" not in plan[0].sources
    assert any(s.text.startswith("If you cannot reach the client") for s in steps)
    assert "Today" in steps[0].text
    empty = GUIDANCE["risk_unanswered"]
    assert "the same day" in empty[0].text and "next contact" not in empty[0].text
    assert "derived" in SOURCES["project_protocol"]


def test_steps_cite_what_their_sources_studied() -> None:
    # Whipple et al. (2003) studied feedback for clients at risk of a poor outcome, not a weak
    # early alliance; Tryon et al. (2007) studied rating agreement, not noticing ruptures
    early = [key for step in GUIDANCE["low_early_alliance"] for key in step.sources]
    assert "whipple2003" not in early
    assert "notice" not in SOURCES["tryon2007"]
    assert "meta-analytic examination" in SOURCES["tryon2007"]


def test_a_risk_item_left_empty_is_a_high_alert_whatever_the_configuration() -> None:
    from alliance.analytics.signals import RiskUnanswered

    tidy = pd.DataFrame(
        {"client": "A", "episode": "1", "session": [4], "instrument": "phq-9",
         "perspective": "client", "scale": "risk_unanswered", "score": [1.0]}
    )  # fmt: skip
    signals = RiskUnanswered().detect(tidy)
    config = FeedbackConfig()
    config.enabled["risk_unanswered"] = False  # tampering does not drop it
    signals.loc[:, "severity"] = "low"
    (alert,) = alerts_from_signals(signals, config=config)
    assert (alert.rule, alert.priority, alert.session) == ("risk_unanswered", "high", 4)
    assert alert.reason == (
        "The risk item of PHQ-9 was left unanswered in session 4. The form cannot tell whether "
        "there is risk: an empty answer is not a no."
    )
    assert alert.next_steps == GUIDANCE["risk_unanswered"]  # the clinic service's steps


def _signal(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(SIGNAL_COLUMNS, float("nan"))
    row.update(client="C1", episode="E1", session=3, date="2026-01-05", instrument="wai-sr",
               scale="total", perspective="client", clinician="T01", severity="medium",
               provenance="site setting: test")  # fmt: skip
    row.update(values)
    return row


def test_every_field_of_an_alert_comes_from_its_signal() -> None:
    signals = pd.DataFrame(
        [
            _signal(rule="discrepancy", session=1),  # disabled below: skipped, not the end
            _signal(
                rule="site_rule",
                severity="low",
                clinician=float("nan"),
                change=-5.0,
                threshold=2.0,
                session=2,
                date="2026-01-12",
            ),
            _signal(rule="calibration_gap", change=-8.0, threshold=7.2, client="C2"),
            _signal(
                rule="risk_item",
                severity="low",
                instrument="phq-9",
                scale="risk",
                provenance="derived: the risk rule",
                client="C3",
                episode="E9",
            ),
            _signal(
                rule="risk_unanswered",
                severity="medium",
                instrument="phq-9",
                scale="risk_unanswered",
                client="C4",
            ),
        ]
    )
    config = FeedbackConfig.from_dict({"rules": {"discrepancy": {"enabled": False},
                                                 "risk_item": {"enabled": True}}})  # fmt: skip
    alerts = {a.rule: a for a in alerts_from_signals(signals, config=config)}
    assert set(alerts) == {"site_rule", "calibration_gap", "risk_item", "risk_unanswered"}
    site = alerts["site_rule"].to_dict()
    assert site == {
        "client": "C1", "episode": "E1", "session": 2, "rule": "site_rule", "priority": "low",
        "reason": "Rule site_rule fired in session 2.", "next_steps": [],
        "provenance": "site setting: test", "instrument": "wai-sr", "scale": "total",
        "date": "2026-01-12", "clinician": None, "state": "open", "size": None,
    }  # fmt: skip
    gap = alerts["calibration_gap"]  # not graded by size: keeps its severity
    assert (gap.priority, gap.size, gap.clinician, gap.client) == ("medium", None, "T01", "C2")
    assert gap.next_steps == GUIDANCE["calibration_gap"]
    risk = alerts["risk_item"]
    assert (risk.priority, risk.client, risk.episode, risk.instrument, risk.scale) == (
        "urgent",
        "C3",
        "E9",
        "phq-9",
        "risk",
    )
    assert risk.provenance == "derived: the risk rule" and risk.date == "2026-01-05"
    assert alerts["risk_unanswered"].priority == "high"
    order = [a.rule for a in alerts_from_signals(signals, config=config)]
    assert order == ["risk_item", "risk_unanswered", "calibration_gap", "site_rule"]


def test_a_rule_the_configuration_does_not_name_stays_on() -> None:
    signals = pd.DataFrame([_signal(rule="site_rule")])
    assert [a.rule for a in alerts_from_signals(signals, config=FeedbackConfig(enabled={}))] == [
        "site_rule"
    ]
