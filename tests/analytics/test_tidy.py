from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE, RISK_SCALE, tidy_scores
from alliance.instruments.registry import Registry


def _phq(rows: list[list[int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[f"item_{i}" for i in range(1, 11)])
    frame.insert(0, "client", ["A"] * len(rows))
    frame.insert(1, "episode", "1")
    frame.insert(2, "session", range(1, len(rows) + 1))
    return frame


def test_tidy_scores_adds_risk_rows_from_the_scorer(registry: Registry) -> None:
    wide = _phq([[1] * 8 + [0, 0], [2] * 8 + [1, 0]])
    tidy = tidy_scores(wide, registry.get("phq-9"))
    totals = tidy[tidy["scale"] == "total"]["score"].tolist()
    assert totals == [8.0, 17.0]
    assert tidy[tidy["scale"] == RISK_SCALE]["score"].tolist() == [0.0, 1.0]
    assert set(tidy["perspective"]) == {"client"}
    assert set(tidy["stance"]) == {"self"}


def test_unscorable_scales_give_no_row(registry: Registry) -> None:
    wide = _phq([[1] * 8 + [0, 0]])
    wide.loc[0, ["item_1", "item_2", "item_3"]] = np.nan  # three missing: too many for PHQ-9
    tidy = tidy_scores(wide, registry.get("phq-9"))
    assert tidy["scale"].tolist() == [RISK_SCALE]


def test_rupture_reports_become_rows_and_bad_values_are_refused(registry: Registry) -> None:
    wide = pd.DataFrame(
        {"client": ["A", "A", "A"], "episode": "1", "session": [1, 2, 3],
         "perspective": "clinician", "stance": "prediction",
         **{f"item_{i}": [4, 4, 4] for i in range(1, 13)},
         "rupture_reported": ["yes", "", "0"]}
    )  # fmt: skip
    tidy = tidy_scores(wide, registry.get("wai-sr"))
    reported = tidy[tidy["scale"] == REPORTED_RUPTURE_SCALE]
    assert reported[["session", "score"]].values.tolist() == [[1, 1.0], [3, 0.0]]
    wide.loc[1, "rupture_reported"] = "maybe"
    with pytest.raises(ValueError, match="row 1: column rupture_reported: 'maybe'"):
        tidy_scores(wide, registry.get("wai-sr"))
