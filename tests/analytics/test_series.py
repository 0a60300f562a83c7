from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.series import order_series, running_baseline
from alliance.analytics.tidy import check_tidy

Make = Callable[..., pd.DataFrame]


def test_running_baseline_matches_pandas_expanding(make_series: Make) -> None:
    rng = np.random.default_rng(3)
    data = make_series({f"C{i}": list(rng.integers(20, 60, 8)) for i in range(5)})
    data = data.sample(frac=1, random_state=1)  # order must not matter
    out = running_baseline(data)
    for _client, part in out.groupby("client"):
        earlier = part["score"].shift(1)
        np.testing.assert_allclose(part["baseline_mean"], earlier.expanding().mean())
        np.testing.assert_allclose(part["baseline_sd"], earlier.expanding().std(), atol=1e-9)
        assert part["baseline_n"].tolist() == list(range(len(part)))


def test_windowed_baseline_uses_the_last_ratings_only(make_series: Make) -> None:
    out = running_baseline(make_series({"A": [10, 20, 30, 40, 50]}), window=2)
    assert out["baseline_mean"].tolist()[2:] == [15.0, 25.0, 35.0]
    assert out["baseline_sd"].iloc[4] == pytest.approx(np.std([30, 40], ddof=1))


def test_missed_sessions_are_gaps_not_rows(make_series: Make) -> None:
    out = running_baseline(make_series({"A": [40, None, None, 30]}))
    assert out["session"].tolist() == [1, 4]
    assert out["previous"].iloc[1] == 40.0
    assert out["previous_session"].iloc[1] == 1.0


def test_series_are_kept_apart(make_series: Make) -> None:
    data = pd.concat([make_series({"A": [40, 41]}), make_series({"A": [5, 9]}, instrument="phq-9")])
    ordered = order_series(data)
    assert ordered.n_groups == 2
    assert np.isnan(ordered.previous_score[ordered.first]).all()
    signs = {k.instrument: k.sign for k in ordered.keys}
    assert signs == {"wai-sr": 1.0, "phq-9": -1.0}


def test_a_session_rated_twice_is_refused(make_series: Make) -> None:
    data = make_series({"A": [40, 41]})
    with pytest.raises(ValueError, match=r"client A episode 1 session 2 has two wai-sr total"):
        order_series(pd.concat([data, data.tail(1)]))


def test_unknown_instrument_and_scale_are_named(make_series: Make) -> None:
    with pytest.raises(ValueError, match="column instrument: unknown instrument 'nope'"):
        order_series(make_series({"A": [1]}, instrument="nope"))
    with pytest.raises(ValueError, match="column scale: wai-sr has no scale 'mood'"):
        order_series(make_series({"A": [1]}, scale="mood"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"perspective": "therapist"}, "column perspective: 'therapist' is not allowed"),
        ({"session": 0}, "column session"),
        ({"session": "two"}, "column session: 'two'"),
        ({"stance": "guess"}, "column stance: 'guess'"),
        ({"score": "high"}, "column score: 'high'"),
    ],
)
def test_check_tidy_names_the_bad_value(make_series: Make, change: dict, message: str) -> None:
    data = make_series({"A": [40, 41]}).astype({"session": object, "score": object})
    for column, value in change.items():
        data.loc[1, column] = value
    with pytest.raises(ValueError, match=message):
        check_tidy(data)


def test_check_tidy_names_missing_columns(make_series: Make) -> None:
    with pytest.raises(ValueError, match="missing: episode, scale"):
        check_tidy(make_series({"A": [1]}).drop(columns=["episode", "scale"]))
    with pytest.raises(TypeError):
        check_tidy([1, 2])  # type: ignore[arg-type]


def test_typical_spread_is_the_median_client_sd(make_series: Make) -> None:
    data = make_series({"A": [10, 12, 14], "B": [10, 10, 10], "C": [10, 20, 30]})
    ordered = order_series(data)
    assert ordered.typical_spread[0] == pytest.approx(2.0)  # median of 2, 0, 10
