"""Rupture detectors against the ruptures injected into simulated clinics.

Recall: share of injected ruptures (whose session the client rated) flagged in the session the
rating fell. Precision: share of signals in a session where the client was in an injected
rupture. For the repair rule (following ``drop_from_baseline`` k = 2), among the injected
ruptures that rule caught: the share of repaired ones marked repaired (first figure) and of
unrepaired ones left unmarked (second figure); its count is the number of those ruptures.
Noise is the within-client SD of the WAI-SR total (points); depth is the injected fall in
units of that SD. Run with ``-s`` to print the table.
"""

from __future__ import annotations

import pytest

from alliance.analytics.detector import Detector
from alliance.analytics.repair import Repair
from alliance.analytics.ruptures import (
    DropFromBaseline,
    DropFromPrevious,
    ReliableDrop,
    ReportedRupture,
)
from alliance.analytics.series import order_series
from alliance.simulate import simulate_clinic

SCENARIOS = [(1.5, 2.0), (1.5, 3.0), (3.0, 2.0), (3.0, 3.0)]
SEEDS = (101, 102, 103)
DETECTORS: dict[str, Detector] = {
    "drop_from_previous": DropFromPrevious(min_drop=1),  # the SRS rule tried on the WAI-SR
    "drop_from_baseline k=1": DropFromBaseline(k=1),
    "drop_from_baseline k=2": DropFromBaseline(k=2),
    "reliable_drop (r = .85)": ReliableDrop(reliability=0.85),
    "reported_rupture": ReportedRupture(),
}


def _evaluate(noise: float, depth: float) -> dict[str, tuple[float, float, int]]:
    counts = {name: [0, 0, 0, 0] for name in [*DETECTORS, "repair"]}
    for seed in SEEDS:
        clinic = simulate_clinic(seed=seed, n_clients=200, within_noise=noise, rupture_depth=depth)
        ordered = order_series(clinic.tidy())
        in_rupture = clinic.sessions.set_index(["client", "session"])["in_rupture"]
        injected = clinic.ruptures[clinic.ruptures["observed"]]
        onsets = set(zip(injected["client"], injected["session"], strict=True))
        for name, detector in DETECTORS.items():
            signals = detector.detect(ordered)
            if name != "reported_rupture":
                signals = signals[
                    (signals["perspective"] == "client") & (signals["scale"] == "total")
                ]
            flagged = set(zip(signals["client"], signals["session"], strict=True))
            c = counts[name]
            c[0] += len(onsets & flagged)
            c[1] += len(onsets)
            c[2] += sum(bool(in_rupture[key]) for key in flagged)
            c[3] += len(flagged)
        # the repair rule on its own: of the injected ruptures its rupture rule caught, are the
        # repaired ones marked repaired (sensitivity) and the others not (specificity)?
        rupture = DropFromBaseline(k=2)
        caught = rupture.detect(ordered)
        caught_keys = set(zip(caught["client"], caught["session"], strict=True))
        repairs = Repair(rupture=rupture).detect(ordered)
        found = set(zip(repairs["client"], repairs["since_session"].astype(int), strict=True))
        c = counts["repair"]
        for r in injected.itertuples():
            if (r.client, r.session) not in caught_keys:
                continue
            marked = (r.client, r.session) in found
            c[0 if r.repaired else 2] += marked if r.repaired else not marked
            c[1 if r.repaired else 3] += 1
    out = {k: (v[0] / max(v[1], 1), v[2] / max(v[3], 1), v[3]) for k, v in counts.items()}
    c = counts["repair"]
    out["repair"] = (*out["repair"][:2], c[1] + c[3])  # its count: the ruptures it followed
    return out


@pytest.fixture(scope="module")
def figures() -> dict[tuple[float, float], dict[str, tuple[float, float, int]]]:
    results = {scenario: _evaluate(*scenario) for scenario in SCENARIOS}
    lines = ["noise  depth  rule                          recall  precision  signals"]
    for (noise, depth), table in results.items():
        for name, (recall, precision, n) in table.items():
            lines.append(f"{noise:5.1f}  {depth:3.0f} SD  {name:28s}  {recall:6.2f}  "
                         f"{precision:9.2f}  {n:7d}")  # fmt: skip
    print("\n" + "\n".join(lines))
    return results


@pytest.mark.parametrize("noise", [1.5, 3.0])
def test_sensitive_rules_catch_most_2_sd_drops(figures: dict, noise: float) -> None:
    table = figures[(noise, 2.0)]
    assert table["drop_from_previous"][0] >= 0.8
    assert table["drop_from_baseline k=1"][0] > 0.5


@pytest.mark.parametrize("noise", [1.5, 3.0])
def test_the_strict_rule_trades_recall_for_precision(figures: dict, noise: float) -> None:
    table = figures[(noise, 3.0)]
    k1, k2 = table["drop_from_baseline k=1"], table["drop_from_baseline k=2"]
    assert k2[0] >= 0.4 and k2[1] >= 0.65
    assert k2[1] > k1[1] > table["drop_from_previous"][1]
    assert k1[0] >= 0.75


def test_deeper_ruptures_are_found_more_often(figures: dict) -> None:
    for noise in (1.5, 3.0):
        for name in ("drop_from_baseline k=1", "drop_from_baseline k=2", "reliable_drop (r = .85)"):
            assert figures[(noise, 3.0)][name][0] > figures[(noise, 2.0)][name][0]


def test_reported_ruptures_and_repairs(figures: dict) -> None:
    for table in figures.values():
        assert 0.3 <= table["reported_rupture"][0] <= 0.7  # clinicians notice about half
    for noise in (1.5, 3.0):
        sensitivity, specificity, _ = figures[(noise, 3.0)]["repair"]
        assert sensitivity >= 0.6 and specificity >= 0.7
