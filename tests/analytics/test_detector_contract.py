"""One contract over every detector (rule)."""

from __future__ import annotations

import inspect
import re

import pandas as pd
import pytest

from alliance.analytics.detector import SEVERITIES, SIGNAL_COLUMNS, Detector
from alliance.analytics.pipeline import DETECTOR_CLASSES
from alliance.analytics.signals import RiskItem, RiskUnanswered
from alliance.simulate import simulate_clinic


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    data = simulate_clinic(seed=11, n_clients=60).tidy(goals=True)
    predictions = data[(data["stance"] == "prediction") & (data["scale"] != "rupture_reported")]
    # one PHQ-9 whose risk item was left empty (the simulator answers every item)
    risk = data[(data["scale"] == "risk") & (data["score"] == 0)].head(1)
    empty = risk.assign(scale="risk_unanswered", score=1.0)
    return pd.concat([data, predictions.assign(stance="self"), empty], ignore_index=True)


# settings under which each rule has something to find in a simulated clinic
FINDS = {
    "below_cutoff": {"instrument": "wai-sr", "cutoff": 40},
    "drop_from_previous": {"min_drop": 1},
    "reliable_drop": {"reliability": 0.8},
    "outcome_deterioration": {"reliable_change": 3},
}


# "published" only where a source states the rule itself (issue 14's review of sources);
# a rule that rests on a published finding but sets its own threshold or use is "derived"
LABELS = {
    "below_cutoff": "published",  # OpenFIT: SRS below 36
    "drop_from_previous": "published",  # OpenFIT: SRS down 1 point or more
    "drop_from_baseline": "derived",
    "reliable_drop": "derived",  # Jacobson & Truax's index, published for pre–post change
    "reported_rupture": "derived",  # Muran et al. 2009 asked; alerting on it is ours
    "repair": "derived",
    "low_early_alliance": "derived",  # the link is published, the threshold is not
    "off_track": "derived",  # after Finch et al. 2001; bands and coverage are ours
    "outcome_deterioration": "published",  # reliable deterioration with a published value
    "discrepancy": "derived",
    "calibration_gap": "derived",  # Tryon et al. 2007 studied agreement, not noticing
    "low_goal_agreement": "derived",  # Bordin's goals are published, no cut-off is
    "goal_disagreement": "derived",  # goals rated together (Law & Jacob); the gap is ours
    "goal_stall": "derived",  # stuck goals are discussed (Law & Jacob); window and slope ours
    "risk_item": "derived",  # the same-day urgent rule is the project's
    "risk_unanswered": "derived",  # "an empty answer is not a no" is the project's
}


@pytest.mark.parametrize("cls", DETECTOR_CLASSES, ids=lambda c: c.rule)
def test_provenance_is_published_only_where_the_source_states_the_rule(
    cls: type[Detector],
) -> None:
    assert cls.provenance.split(":", 1)[0] == LABELS[cls.rule]
    assert "notice ruptures poorly" not in cls.provenance


def test_rule_names_are_unique() -> None:
    rules = [cls.rule for cls in DETECTOR_CLASSES]
    assert len(set(rules)) == len(rules)


@pytest.mark.parametrize("cls", DETECTOR_CLASSES, ids=lambda c: c.rule)
def test_configuration_is_the_keyword_only_constructor(cls: type[Detector]) -> None:
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.rule)
    assert re.match(r"(published|open-source|derived): \S", cls.provenance)
    signature = inspect.signature(cls.__init__)
    arguments = [p for name, p in signature.parameters.items() if name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in arguments)
    assert [p.name for p in arguments] == [p.name for p in cls.params]
    detector = cls()
    assert detector.get_params() == cls.defaults()
    detector.check_params()
    again = cls(**detector.get_params())
    assert repr(again) == repr(detector)
    for p in cls.params:
        assert p.meaning and p.allowed()


@pytest.mark.parametrize("cls", DETECTOR_CLASSES, ids=lambda c: c.rule)
def test_bad_values_are_refused_when_used_naming_the_parameter(cls: type[Detector]) -> None:
    for p in cls.params:
        bad: object = {"number": 1e9, "integer": 2.5, "choice": "urgent-ish", "text": 7,
                       "detector": "drop", "data": "table"}[p.kind]  # fmt: skip
        detector = cls(**{p.name: bad})  # storing never fails
        with pytest.raises(ValueError, match=rf"parameter {p.name} must be"):
            detector.check_params()


@pytest.mark.parametrize("cls", DETECTOR_CLASSES, ids=lambda c: c.rule)
def test_detect_returns_the_signal_shape(cls: type[Detector], tidy: pd.DataFrame) -> None:
    before = tidy.copy()
    signals = cls().detect(tidy)
    pd.testing.assert_frame_equal(tidy, before)  # the input is not changed
    assert list(signals.columns) == list(SIGNAL_COLUMNS)
    assert isinstance(signals.index, pd.RangeIndex)
    assert set(signals["rule"]) <= {cls.rule}
    assert set(signals["severity"]) <= set(SEVERITIES)
    assert signals["provenance"].str.match(r"(published|open-source|derived|site setting)").all()
    pd.testing.assert_frame_equal(signals, cls().detect(tidy))  # deterministic
    found = cls(**FINDS.get(cls.rule, {})).detect(tidy)
    assert len(found) > 0, f"{cls.rule} found nothing in a simulated clinic"


def test_only_the_risk_rule_is_urgent_and_it_cannot_be_configured() -> None:
    with pytest.raises(TypeError):
        RiskItem(enabled=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        RiskUnanswered(severity="low")  # type: ignore[call-arg]
    for cls in DETECTOR_CLASSES:
        severity = next((p for p in cls.params if p.name == "severity"), None)
        if cls.rule in ("risk_item", "risk_unanswered"):
            assert cls.params == ()
        else:
            assert severity is not None and "urgent" not in severity.choices
