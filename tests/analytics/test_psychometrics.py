"""Alpha and omega against independent implementations on bundled data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from sklearn.decomposition import FactorAnalysis

from alliance.analytics.psychometrics import (
    change_reliability,
    cronbach_alpha,
    item_statistics,
    omega_total,
    one_factor_loadings,
    reliability,
)

DATA = Path(__file__).parents[1] / "data" / "wai-sr-items.csv"


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return pd.read_csv(DATA).drop(columns=["client"])


def test_alpha_and_interval_agree_with_pingouin(items: pd.DataFrame) -> None:
    alpha, low, high, n = cronbach_alpha(items)
    theirs, interval = pg.cronbach_alpha(data=items)
    assert alpha == pytest.approx(theirs, abs=1e-12)
    assert (low, high) == pytest.approx(tuple(interval), abs=5e-4)  # pingouin rounds to 3
    assert n == len(items)


def test_alpha_agrees_with_pingouin_on_its_own_example() -> None:
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    theirs, _ = pg.cronbach_alpha(data=long, items="Items", scores="Scores", subject="Subj")
    assert cronbach_alpha(wide)[0] == pytest.approx(theirs, abs=1e-12)


def test_omega_agrees_with_scikit_learn_factor_analysis(items: pd.DataFrame) -> None:
    z = (items - items.mean()) / items.std(ddof=0)
    fa = FactorAnalysis(n_components=1, tol=1e-10, max_iter=20000).fit(z)
    loadings = fa.components_[0] * np.sign(fa.components_[0].sum())
    theirs = loadings.sum() ** 2 / (loadings.sum() ** 2 + fa.noise_variance_.sum())
    assert omega_total(items) == pytest.approx(theirs, abs=1e-4)
    np.testing.assert_allclose(one_factor_loadings(items), loadings, atol=1e-3)


def test_omega_equals_alpha_for_equal_loadings() -> None:
    rng = np.random.default_rng(2)
    factor = rng.normal(size=4000)
    frame = pd.DataFrame({f"i{j}": factor + rng.normal(size=4000) for j in range(6)})
    assert omega_total(frame) == pytest.approx(cronbach_alpha(frame)[0], abs=0.01)


def test_incomplete_rows_are_left_out_and_counted(items: pd.DataFrame) -> None:
    gappy = items.astype(float)
    gappy.iloc[:10, 0] = np.nan
    table = reliability(gappy)
    assert table["n"].tolist() == [len(items) - 10] * 2
    assert table["statistic"].tolist() == ["alpha", "omega_total"]
    assert cronbach_alpha(gappy)[0] == pytest.approx(cronbach_alpha(items.iloc[10:])[0])


def test_item_statistics_by_hand(items: pd.DataFrame) -> None:
    stats = item_statistics(items)
    rest = items.drop(columns=["item_1"]).sum(axis=1)
    assert stats["item_total_r"].iloc[0] == pytest.approx(np.corrcoef(items["item_1"], rest)[0, 1])
    without = cronbach_alpha(items.drop(columns=["item_1"]))[0]
    assert stats["alpha_if_deleted"].iloc[0] == pytest.approx(without)


def test_bad_item_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 item columns"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="at least 3 complete rows"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2], "b": [2, 3]}))
    with pytest.raises(ValueError, match="do not vary"):
        cronbach_alpha(pd.DataFrame({"a": [1, 1, 1], "b": [2, 2, 2]}))


def test_an_item_that_does_not_vary_is_refused_without_a_warning() -> None:
    # all items of one column equal: omega is undefined (numpy warned before the check)
    steady = pd.DataFrame({"a": [1, 1, 1, 1], "b": [1, 2, 3, 4], "c": [2, 2, 3, 4]})
    with pytest.raises(ValueError, match="does not vary"):
        reliability(steady)
    stats_without_loadings = steady.assign(a=[1, 2, 1, 2])
    assert item_statistics(stats_without_loadings)["item"].tolist() == ["a", "b", "c"]


def test_a_reliability_for_change_needs_rows_that_answer_the_items_differently() -> None:
    # the case: every row marks the four SRS lines the same → alpha 1, no reliability
    same = pd.DataFrame({f"item_{j}": [10.0, 9.25, 8.0, 7.5] * 20 for j in range(1, 5)})
    assert round(cronbach_alpha(same)[0], 6) == 1.0
    found = change_reliability(same)
    assert isinstance(found, str) and "only 0 complete rows answer the items differently" in found
    rng = np.random.default_rng(4)
    base = rng.normal(7, 1.5, size=40)
    varied = pd.DataFrame({f"item_{j}": base + rng.normal(0, 0.6, 40) for j in range(1, 5)})
    alpha, low, _, n = cronbach_alpha(varied, ci=0.90)
    r, used = change_reliability(varied)  # type: ignore[misc]
    assert (r, used) == (pytest.approx(low), n) and r < alpha
    assert isinstance(change_reliability(varied.head(29)), str)  # fewer than 30 rows
    assert change_reliability(varied.head(29), min_rows=20)[1] == 29  # type: ignore[index]
