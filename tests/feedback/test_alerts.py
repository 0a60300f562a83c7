from __future__ import annotations

import re

import pandas as pd
import pytest

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
