"""Per-organization feedback configuration: which rules are on and their thresholds.

Plain data, so that the service can store it as JSON per organization and an admin page can
show and edit it::

    {"version": 1,
     "rules": {"drop_from_baseline": {"enabled": true, "k": 2, "severity": "high"},
               "repair": {"enabled": true, "within": 3, "rupture": "drop_from_baseline"},
               ...}}

Rules and parameters not mentioned keep their defaults. Every value is checked against the
detector's declared parameters, and a bad one is refused with a message naming the rule, the
parameter and the allowed values. The risk rules (a risk answer, a risk item left empty)
cannot be disabled or configured: a configuration that tries is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alliance.analytics.detector import Detector
from alliance.analytics.expected import ExpectedTrajectory, OffTrack
from alliance.analytics.pipeline import ALWAYS_ON as ALWAYS_ON_DETECTORS
from alliance.analytics.pipeline import DETECTOR_CLASSES, RUPTURE_RULES
from alliance.analytics.repair import Repair

CONFIG_VERSION = 1
RULES: dict[str, type[Detector]] = {cls.rule: cls for cls in DETECTOR_CLASSES}
ALWAYS_ON: tuple[str, ...] = tuple(cls.rule for cls in ALWAYS_ON_DETECTORS)
"""The risk rules, always on and never configured (``risk_item``, ``risk_unanswered``)."""


class ConfigError(ValueError):
    """A feedback configuration that cannot be used; the message names the field."""


def _settable(cls: type[Detector]) -> list[str]:
    """Parameters an organization sets as plain data (not supplied data like references)."""
    return [p.name for p in cls.params if p.kind not in ("data", "detector")]


@dataclass
class FeedbackConfig:
    """Enabled rules and their parameters; :meth:`detectors` builds the detectors."""

    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RULES, True))
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    repair_follows: str = "drop_from_baseline"

    @classmethod
    def default(cls) -> FeedbackConfig:
        return cls()

    @classmethod
    def from_dict(cls, data: Any) -> FeedbackConfig:
        """Validate plain data (as stored) and return the configuration."""
        if not isinstance(data, dict):
            raise ConfigError(f"a feedback configuration is a mapping; got {type(data).__name__}")
        unknown = sorted(set(data) - {"version", "rules"})
        if unknown:
            raise ConfigError(f"unknown field(s) {unknown}; allowed: version, rules")
        if data.get("version", CONFIG_VERSION) != CONFIG_VERSION:
            raise ConfigError(f"field version: only {CONFIG_VERSION} is supported")
        rules = data.get("rules", {})
        if not isinstance(rules, dict):
            raise ConfigError("field rules: a mapping of rule name to settings")
        config = cls()
        for rule, settings in rules.items():
            config._apply(str(rule), settings)
        config.detectors()  # checks every parameter value against its declared range
        return config

    def _apply(self, rule: str, settings: Any) -> None:
        if rule not in RULES:
            raise ConfigError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
        if not isinstance(settings, dict):
            raise ConfigError(f"rules.{rule}: a mapping of settings; got {settings!r}")
        if rule in ALWAYS_ON:
            if settings.get("enabled", True) is not True or set(settings) - {"enabled"}:
                raise ConfigError(
                    f"rules.{rule}: the risk rule is always on"
                    + (" and always urgent" if rule == "risk_item" else " and always high")
                    + "; it cannot be disabled or configured"
                )
            return
        allowed = _settable(RULES[rule]) + (["rupture"] if rule == Repair.rule else [])
        for name, value in settings.items():
            if name == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(f"rules.{rule}.enabled: true or false; got {value!r}")
                self.enabled[rule] = value
            elif name == "rupture" and rule == Repair.rule:
                if value not in RUPTURE_RULES:
                    raise ConfigError(
                        f"rules.{rule}.rupture: one of {', '.join(RUPTURE_RULES)}; got {value!r}"
                    )
                self.repair_follows = value
            elif name in allowed:
                self.params.setdefault(rule, {})[name] = value
            else:
                raise ConfigError(
                    f"rules.{rule}: unknown parameter {name!r}; allowed: "
                    f"{', '.join(['enabled', *allowed])}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for every rule (defaults filled in), ready for JSON or YAML."""
        rules: dict[str, Any] = {}
        for rule, cls in RULES.items():
            if rule in ALWAYS_ON:
                rules[rule] = {"enabled": True}
                continue
            values = {n: v for n, v in cls.defaults().items() if n in _settable(cls)}
            values.update(self.params.get(rule, {}))
            entry: dict[str, Any] = {"enabled": self.enabled.get(rule, True), **values}
            if rule == Repair.rule:
                entry["rupture"] = self.repair_follows
            rules[rule] = entry
        return {"version": CONFIG_VERSION, "rules": rules}  # every dict in it is new

    def detectors(self, *, reference: ExpectedTrajectory | None = None) -> list[Detector]:
        """One detector per enabled rule (the risk rules always), configured.

        ``reference`` is an expected-trajectory table for the off-track rule; without one the
        rule estimates it from the data it is given.
        """
        built: dict[str, Detector] = {}
        for rule, cls in RULES.items():
            kwargs = dict(self.params.get(rule, {}))
            if rule == Repair.rule:
                continue
            if cls is OffTrack:
                kwargs["reference"] = reference
            try:
                detector = cls(**kwargs)
                detector.check_params()
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"rules.{rule}: {exc}") from None
            built[rule] = detector
        repair = Repair(rupture=built[self.repair_follows], **self.params.get(Repair.rule, {}))
        try:
            repair.check_params()
        except ValueError as exc:
            raise ConfigError(f"rules.{Repair.rule}: {exc}") from None
        built[Repair.rule] = repair
        return [built[r] for r in RULES if r in ALWAYS_ON or self.enabled.get(r, True)]


def _control(
    kind: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] = (),
    unit: str = "",
    optional: bool = False,
) -> dict[str, Any]:
    """How a form asks for a value: its kind (``boolean``, ``number``, ``integer``, ``choice``
    or ``text``), range, choices and unit, and whether it may be left empty."""
    return {
        "kind": kind, "low": low, "high": high, "choices": list(choices), "unit": unit,
        "optional": optional,
    }  # fmt: skip


def describe_parameters() -> list[dict[str, Any]]:
    """Every configurable parameter: rule, name, meaning, allowed values, default, the rule's
    provenance and ``control`` (kind, range, choices, unit) — for an admin page or
    documentation."""
    out: list[dict[str, Any]] = []
    for rule, cls in RULES.items():
        defaults = cls.defaults()
        out.append(
            {
                "rule": rule,
                "parameter": "enabled",
                "meaning": "whether the rule raises alerts"
                + (" (the risk rules are always on)" if rule in ALWAYS_ON else ""),
                "allowed": "true" if rule in ALWAYS_ON else "true or false",
                "default": True,
                "provenance": cls.provenance,
                "control": _control("boolean"),
            }
        )
        for p in cls.params:
            if p.kind == "data":
                continue
            if p.kind == "detector":
                out.append(
                    {
                        "rule": rule, "parameter": "rupture",
                        "meaning": "the rupture rule whose ruptures are followed for repair",
                        "allowed": "one of " + ", ".join(RUPTURE_RULES),
                        "default": "drop_from_baseline", "provenance": cls.provenance,
                        "control": _control("choice", choices=RUPTURE_RULES),
                    }
                )  # fmt: skip
                continue
            out.append(
                {
                    "rule": rule, "parameter": p.name, "meaning": p.meaning,
                    "allowed": p.allowed(), "default": defaults[p.name],
                    "provenance": cls.provenance,
                    "control": _control(
                        p.kind, low=p.low, high=p.high, choices=p.choices, unit=p.unit,
                        optional=p.optional,
                    ),
                }
            )  # fmt: skip
    return out


def load_config(path: Path) -> FeedbackConfig:
    """Read a configuration from a YAML or JSON file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML or JSON ({exc})") from None
    try:
        return FeedbackConfig.from_dict(data if data is not None else {})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
