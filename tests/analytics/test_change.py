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
    reliable_change_value,
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
