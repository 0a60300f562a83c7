from __future__ import annotations

import math

import numpy as np
import pytest

from alliance.transcripts.evaluation import auroc, bootstrap, partial_spearman, spearman


def test_spearman_without_ties_matches_the_textbook_formula() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [2.0, 1.0, 4.0, 3.0, 5.0]
    d2 = sum((a - b) ** 2 for a, b in zip([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], strict=True))
    assert spearman(x, y) == pytest.approx(1 - 6 * d2 / (5 * (25 - 1)))  # 0.8


def test_spearman_with_ties_and_missing_values() -> None:
    # ranks of x: 1, 2.5, 2.5, 4; of y: 1, 2, 3, 4 → Pearson of those, by hand: 0.9487
    assert spearman([1, 2, 2, 3, np.nan], [10, 20, 30, 40, 50]) == pytest.approx(
        3 / math.sqrt(10), abs=1e-4
    )
    assert math.isnan(spearman([1, 2], [1, 2]))


def test_auroc_counts_ties_as_half() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([1, 1, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)
    assert auroc([3, 2, 1], [1, 0, 0]) == 1.0
    assert math.isnan(auroc([1, 2], [1, 1]))


def test_partial_spearman_removes_a_shared_cause() -> None:
    rng = np.random.default_rng(0)
    length = rng.normal(size=500)
    x = length + rng.normal(scale=0.3, size=500)
    y = length + rng.normal(scale=0.3, size=500)
    assert spearman(x, y) > 0.8
    assert abs(partial_spearman(x, y, [length])) < 0.15
    with pytest.raises(ValueError, match="covariates: at least one"):
        partial_spearman(x, y, [])


def test_bootstrap_interval_covers_the_estimate_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    small_x = rng.normal(size=50)
    big_x = rng.normal(size=2000)
    small = bootstrap(spearman, small_x, small_x + rng.normal(size=50), resamples=300)
    big = bootstrap(spearman, big_x, big_x + rng.normal(size=2000), resamples=300)
    assert small.low <= small.value <= small.high
    assert big.low <= big.value <= big.high
    assert (big.high - big.low) < (small.high - small.low)
    assert str(big).count("[") == 1


def test_bootstrap_drops_undefined_resamples() -> None:
    est = bootstrap(auroc, [0.1, 0.2, 0.3, 0.9], [0, 0, 0, 1], resamples=200)
    assert est.value == 1.0
    assert 0 < est.dropped < 200  # resamples without the one positive case


def test_bootstrap_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="level: must lie between 0 and 1"):
        bootstrap(spearman, [1, 2, 3], [1, 2, 3], level=95)
    with pytest.raises(ValueError, match="resamples: must be at least 100"):
        bootstrap(spearman, [1, 2, 3], [1, 2, 3], resamples=10)
