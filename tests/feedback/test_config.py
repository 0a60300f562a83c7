from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance.analytics.expected import ExpectedTrajectory, OffTrack
from alliance.analytics.pipeline import DETECTOR_CLASSES
from alliance.analytics.repair import Repair
from alliance.analytics.ruptures import DropFromBaseline, DropFromPrevious
from alliance.analytics.signals import RiskItem, RiskUnanswered
from alliance.feedback.config import (
    ConfigError,
    FeedbackConfig,
    describe_parameters,
    load_config,
)


def test_defaults_round_trip_through_json() -> None:
    data = FeedbackConfig.default().to_dict()
    again = FeedbackConfig.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert set(data["rules"]) == {cls.rule for cls in DETECTOR_CLASSES}


def test_settings_reach_the_detectors() -> None:
    config = FeedbackConfig.from_dict(
        {"rules": {"drop_from_baseline": {"k": 1, "severity": "medium"},
                   "drop_from_previous": {"enabled": False, "min_drop": 3},
                   "repair": {"rupture": "drop_from_previous", "within": 2}}}
    )  # fmt: skip
    detectors = {d.rule: d for d in config.detectors()}
    assert "drop_from_previous" not in detectors
    baseline = detectors["drop_from_baseline"]
    assert isinstance(baseline, DropFromBaseline)
    assert (baseline.k, baseline.severity) == (1, "medium")
    repair = detectors["repair"]
    assert isinstance(repair, Repair) and repair.within == 2
    assert isinstance(repair.rupture, DropFromPrevious) and repair.rupture.min_drop == 3
    assert config.to_dict()["rules"]["drop_from_previous"] == {
        "enabled": False, "instrument": None, "scale": "total", "perspective": "client",
        "min_drop": 3, "severity": "medium",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {"risk_item": {"enabled": False}}}, "risk rule is always on"),
        ({"rules": {"risk_item": {"severity": "low"}}}, "risk rule is always on and always urgent"),
        ({"rules": {"risk_unanswered": {"enabled": False}}}, "always on and always high"),
        ({"rules": {"risk_unanswered": {"severity": "low"}}}, "cannot be disabled or configured"),
        (
            {"rules": {"drop_from_baseline": {"k": 9}}},
            r"rules\.drop_from_baseline: .*k must be a number from 0\.5 to 5",
        ),
        ({"rules": {"drop_from_baseline": {"kk": 1}}}, "unknown parameter 'kk'"),
        ({"rules": {"low_alliance": {}}}, "unknown rule 'low_alliance'"),
        ({"rules": {"repair": {"rupture": "risk_item"}}}, r"rules\.repair\.rupture: one of"),
        ({"rules": {"off_track": {"enabled": "yes"}}}, "true or false"),
        ({"rules": {"off_track": {"severity": "urgent"}}}, "severity must be one of high"),
        ({"version": 2}, "field version"),
        ({"rule": {}}, "unknown field"),
        ([1, 2], "is a mapping"),
    ],
)
def test_bad_configurations_are_refused_with_the_field(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FeedbackConfig.from_dict(data)


def test_the_risk_rule_is_always_built() -> None:
    config = FeedbackConfig.from_dict({"rules": {"risk_item": {"enabled": True}}})
    assert any(isinstance(d, RiskItem) for d in config.detectors())
    config.enabled["risk_item"] = False  # even tampering with the object does not remove it
    config.enabled["risk_unanswered"] = False
    assert any(isinstance(d, RiskItem) for d in config.detectors())
    assert any(isinstance(d, RiskUnanswered) for d in config.detectors())
    assert config.to_dict()["rules"]["risk_unanswered"] == {"enabled": True}


def test_every_parameter_is_described() -> None:
    described = describe_parameters()
    names = {(d["rule"], d["parameter"]) for d in described}
    for cls in DETECTOR_CLASSES:
        assert (cls.rule, "enabled") in names
        for p in cls.params:
            if p.kind == "data":
                continue
            assert (cls.rule, "rupture" if p.kind == "detector" else p.name) in names
    assert all(d["meaning"] and d["allowed"] and d["provenance"] for d in described)
    k = next(d for d in described if (d["rule"], d["parameter"]) == ("drop_from_baseline", "k"))
    assert (k["default"], k["allowed"]) == (2.0, "a number from 0.5 to 5 spreads")


def test_load_config_reads_yaml_and_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "clinic.yaml"
    good.write_text("rules:\n  drop_from_baseline:\n    k: 1\n", encoding="utf-8")
    assert load_config(good).params["drop_from_baseline"] == {"k": 1}
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  risk_item:\n    enabled: false\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: rules\.risk_item"):
        load_config(bad)


def test_the_documented_parameter_table_is_complete() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "analytics.md").read_text(encoding="utf-8")
    for d in describe_parameters():
        assert f"| {d['rule']} | {d['parameter']} | {d['meaning']} | {d['allowed']} |" in doc


def test_refusals_say_exactly_what_is_allowed() -> None:
    def refusal(data: object) -> str:
        with pytest.raises(ConfigError) as caught:
            FeedbackConfig.from_dict(data)
        return str(caught.value)

    rules = ", ".join(cls.rule for cls in DETECTOR_CLASSES)
    assert refusal({"rules": {"nope": {}}}) == f"unknown rule 'nope'; rules: {rules}"
    assert refusal({"rules": {"repair": 3}}) == "rules.repair: a mapping of settings; got 3"
    assert refusal({"rules": {"risk_item": {"enabled": False}}}) == (
        "rules.risk_item: the risk rule is always on and always urgent; it cannot be disabled "
        "or configured"
    )
    assert refusal({"rules": {"drop_from_baseline": {"rupture": "reliable_drop"}}}) == (
        "rules.drop_from_baseline: unknown parameter 'rupture'; allowed: enabled, instrument, "
        "scale, perspective, k, min_baseline, window, floor, severity"
    )
    assert refusal({"rules": {"repair": {"kk": 1}}}) == (
        "rules.repair: unknown parameter 'kk'; allowed: enabled, within, tolerance, severity, "
        "rupture"
    )
    assert refusal({"rules": {"repair": {"rupture": "x"}}}) == (
        "rules.repair.rupture: one of below_cutoff, drop_from_previous, drop_from_baseline, "
        "reliable_drop, reported_rupture; got 'x'"
    )
    assert refusal({"rules": {"repair": {"within": 0}}}).startswith(
        "rules.repair: Repair: parameter within must be"
    )


def test_an_empty_setting_for_a_risk_rule_is_accepted() -> None:
    config = FeedbackConfig.from_dict({"rules": {"risk_item": {}, "risk_unanswered": {}}})
    assert {d.rule for d in config.detectors()} >= {"risk_item", "risk_unanswered"}


def test_rules_not_named_in_a_configuration_are_on() -> None:
    config = FeedbackConfig(enabled={"drop_from_baseline": False})
    rules = {d.rule for d in config.detectors()}
    assert "drop_from_baseline" not in rules and "reliable_drop" in rules
    data = config.to_dict()["rules"]
    assert data["reliable_drop"]["enabled"] is True
    assert data["drop_from_baseline"]["enabled"] is False


def test_the_expected_trajectories_reach_the_off_track_rule() -> None:
    reference = ExpectedTrajectory.__new__(ExpectedTrajectory)
    found = [d for d in FeedbackConfig().detectors(reference=reference) if isinstance(d, OffTrack)]
    assert len(found) == 1 and found[0].reference is reference
