from __future__ import annotations

import math

import numpy as np
import pytest

from alliance.analytics.change import (
    classify_change,
    clinical_cutoffs,
    confirmed_clinical_cutoff,
    confirmed_reliable_change,
    rci,
    recovery_cutoff,
    reliable_change_value,
    resolution_floor,
    standard_error_of_difference,
)
from alliance.instruments.registry import Registry


def test_reliable_change_matches_the_jacobson_truax_example() -> None:
    # CECPfuns' example labelled as Jacobson & Truax (1991): SD 7.5, r = .80 → 9.30 points
    assert reliable_change_value(7.5, 0.80) == pytest.approx(9.30, abs=0.005)
    assert standard_error_of_difference(7.5, 0.80) == pytest.approx(7.5 * math.sqrt(0.4))
    assert rci([10.0], [20.0], sd=7.5, reliability=0.8)[0] == pytest.approx(10 / (7.5 * 0.4**0.5))


def test_cutoff_b_uses_the_functional_sd() -> None:
    # unequal SDs reveal which SD each cut-off uses (hand computation)
    cut = clinical_cutoffs(clinical_mean=20, clinical_sd=5, functional_mean=5, functional_sd=3,
                           higher_is="worse")  # fmt: skip
    assert cut == {"a": 10.0, "b": 11.0, "c": pytest.approx((5 * 5 + 3 * 20) / 8)}
    better = clinical_cutoffs(clinical_mean=18, clinical_sd=6, functional_mean=30,
                              functional_sd=4, higher_is="better")  # fmt: skip
    assert better["a"] == 30.0 and better["b"] == 22.0
    assert better["c"] == pytest.approx((6 * 30 + 4 * 18) / 10)


def test_categories_follow_the_scale_direction() -> None:
    before = np.array([18, 18, 18, 18, 9, np.nan])
    after = np.array([8, 13, 17, 24, 2, 10])
    got = classify_change(before, after, min_change=6, higher_is="worse",
                          clinical=(10, "at_or_above"))  # fmt: skip
    assert got.tolist() == ["recovered", "unchanged", "unchanged", "deteriorated", "improved", None]
    flipped = classify_change([10], [20], min_change=6, higher_is="better")
    assert flipped.tolist() == ["improved"]


def test_strict_comparison_needs_more_than_the_value() -> None:
    assert classify_change([10], [16], min_change=6, higher_is="better").tolist() == ["improved"]
    strict = classify_change([10], [16], min_change=6, higher_is="better", strict=True)
    assert strict.tolist() == ["unchanged"]


def test_only_confirmed_facts_are_used(registry: Registry) -> None:
    assert confirmed_reliable_change(registry.get("phq-9").scale("total")) == 6
    assert confirmed_reliable_change(registry.get("ors").scale("total")) is None  # unconfirmed
    assert confirmed_clinical_cutoff(registry.get("srs").scale("total")) == (36, "below")
    assert confirmed_clinical_cutoff(registry.get("wai-sr").scale("total")) is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: reliable_change_value(0, 0.8), "sd must be positive"),
        (lambda: reliable_change_value(5, 1.0), "reliability must be from 0 to below 1"),
        (
            lambda: clinical_cutoffs(
                clinical_mean=1,
                clinical_sd=0,
                functional_mean=1,
                functional_sd=1,
                higher_is="worse",
            ),
            "clinical_sd must be positive",
        ),
        (lambda: classify_change([1], [2], min_change=0, higher_is="worse"), "min_change"),
        (
            lambda: classify_change([1], [2], min_change=1, higher_is="up"),  # type: ignore[arg-type]
            "higher_is must be",
        ),
    ],
)
def test_bad_arguments_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# -- one convention for "recovered", and the floor under a computed reliable change ----------


def test_recovered_uses_the_caseness_of_the_reliable_change_source(registry: Registry) -> None:
    # IAPT for both: PHQ-9 case ≥ 10 and change 6, GAD-7 case ≥ 8 and change 4; the GAD-7's
    # screening cut-off 10 (Spitzer et al. 2006) is not mixed in; CORE-10: 11 and 6
    found = {}
    for inst in registry:
        for scale in inst.scales:
            cutoff = recovery_cutoff(scale)
            if cutoff is not None:
                found[inst.id] = (cutoff.id, cutoff.value, cutoff.source, scale.reliable_change)
    assert {k: v[:3] for k, v in found.items()} == {
        "core-10": ("clinical", 11, "barkham2013"),
        "gad-7": ("clinical", 8, "iapt"),
        "phq-9": ("clinical", 10, "iapt"),
    }
    assert all(cutoff_source == rc.source for _, _, cutoff_source, rc in found.values())


def test_every_confirmed_reliable_change_has_its_own_caseness(registry: Registry) -> None:
    # a definition with a confirmed reliable change and confirmed cut-offs must say which
    # cut-off goes with it (the same source), or "recovered" would mix conventions
    for inst in registry:
        for scale in inst.scales:
            rc = scale.reliable_change
            if rc is None or not rc.verified or not any(c.verified for c in scale.cutoffs):
                continue
            assert recovery_cutoff(scale) is not None, f"{inst.id} {scale.id}"


def test_resolution_floor_by_hand(registry: Registry) -> None:
    # WAI-SR: 12 items, steps of 1 → SEM ≥ √(12/12) = 1 → 1.96 · √2 · 1 = 2.772
    wai = registry.get("wai-sr")
    assert resolution_floor(wai, wai.scale("total")) == pytest.approx(1.96 * math.sqrt(2))
    assert resolution_floor(wai, wai.scale("bond")) == pytest.approx(1.96 * math.sqrt(2 / 3))
    # SRS: 4 lines read to 0.1 → SEM ≥ 0.1 · √(4/12)
    srs = registry.get("srs")
    expected = 1.96 * math.sqrt(2) * 0.1 * math.sqrt(4 / 12)
    assert resolution_floor(srs, srs.scale("total")) == pytest.approx(expected)
    assert resolution_floor(srs, srs.scale("total"), z=1.0) == pytest.approx(expected / 1.96)
