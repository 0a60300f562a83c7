from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alliance.analytics.pipeline import detect_all
from alliance.analytics.ruptures import DropFromPrevious
from alliance.analytics.signals import (
    LowEarlyAlliance,
    OutcomeDeterioration,
    RiskItem,
    RiskUnanswered,
)
from alliance.analytics.tidy import (
    RISK_SCALE,
    RISK_UNANSWERED_SCALE,
    one_risk_row_per_rating,
    tidy_scores,
)
from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry

Make = Callable[..., pd.DataFrame]


def test_low_early_alliance_uses_the_lowest_quartile_without_a_cutoff(make_series: Make) -> None:
    data = make_series({f"C{i}": [30 + i, 30 + i, 30 + i, 20] for i in range(8)})
    got = LowEarlyAlliance().detect(data)
    threshold = np.percentile(np.repeat(np.arange(30, 38), 3), 25)
    assert set(got["client"]) == {"C0", "C1"}
    assert got["threshold"].iloc[0] == threshold
    assert 4 not in got["session"].tolist()  # session 4 is not early
    assert "derived threshold" in got["provenance"].iloc[0]


def test_low_early_alliance_prefers_a_published_cutoff(make_series: Make) -> None:
    data = make_series({"A": [35, 38, 37, 20], "B": [38, 39, 39]}, instrument="srs")
    got = LowEarlyAlliance().detect(data)
    assert got[["client", "session"]].values.tolist() == [["A", 1]]
    assert "published cut-off below 36 (value confirmed, boundary partial" in got["provenance"][0]


def test_outcome_deterioration_counts_from_intake(make_series: Make) -> None:
    data = make_series({"A": [10, 15, 16, 12], "B": [10, 4, 9]}, instrument="phq-9")
    got = OutcomeDeterioration().detect(data)
    assert got[["client", "session", "reference", "threshold"]].values.tolist() == [
        ["A", 3, 10.0, 6.0]
    ]


def test_outcome_deterioration_skips_unconfirmed_values(make_series: Make) -> None:
    data = make_series({"A": [30, 20]}, instrument="ors")
    rule = OutcomeDeterioration()
    assert rule.detect(data).empty
    assert "ors total" in rule.skipped_
    assert len(OutcomeDeterioration(reliable_change=5).detect(data)) == 1


def test_risk_is_found_from_item_answers_and_always_urgent(registry: Registry) -> None:
    wide = pd.DataFrame([[0] * 8 + [0, 0], [0] * 8 + [2, 0]],
                        columns=[f"item_{i}" for i in range(1, 11)])  # fmt: skip
    wide.insert(0, "client", "A")
    wide.insert(1, "episode", "1")
    wide.insert(2, "session", [1, 2])
    tidy = tidy_scores(wide, registry.get("phq-9"))
    got = RiskItem().detect(tidy)
    assert got[["session", "severity", "scale"]].values.tolist() == [[2, "urgent", RISK_SCALE]]
    assert "item_9" in got["provenance"].iloc[0]
    assert got["provenance"].iloc[0].startswith("derived: the project's rule")


def test_detect_all_always_runs_the_risk_rule(registry: Registry) -> None:
    wide = pd.DataFrame([[0] * 8 + [1, 0]], columns=[f"item_{i}" for i in range(1, 11)])
    wide.insert(0, "client", "A")
    wide.insert(1, "episode", "1")
    wide.insert(2, "session", [1])
    tidy = tidy_scores(wide, registry.get("phq-9"))
    got = detect_all(tidy, [DropFromPrevious()])
    assert got["rule"].tolist() == ["risk_item"]
    assert detect_all(tidy, [])["rule"].tolist() == ["risk_item"]
    with pytest.raises(TypeError, match="Detector objects"):
        detect_all(tidy, ["risk_item"])  # type: ignore[list-item]


def phq9(rows: list[list[float | None]]) -> pd.DataFrame:
    wide = pd.DataFrame(rows, columns=[f"item_{i}" for i in range(1, 11)], dtype=float)
    wide.insert(0, "client", "A")
    wide.insert(1, "episode", "1")
    wide.insert(2, "session", list(range(1, len(rows) + 1)))
    return wide


def test_a_risk_item_left_empty_is_a_signal_of_its_own(registry: Registry) -> None:
    # session 1: item 9 empty, the rest 3 (prorated total 27); session 2: every item given,
    # no risk; session 3: item 9 answered 1 (a risk answer)
    tidy = tidy_scores(
        phq9([[3] * 8 + [None, 0], [0] * 8 + [0, 0], [0] * 8 + [1, 0]]), registry.get("phq-9")
    )
    empty = tidy[tidy["scale"] == RISK_UNANSWERED_SCALE]
    assert empty["session"].tolist() == [1] and empty["score"].tolist() == [1.0]
    assert tidy.loc[tidy["scale"] == "total", "score"].tolist() == [27.0, 0.0, 1.0]
    got = RiskUnanswered().detect(tidy)
    assert got[["session", "severity", "rule"]].values.tolist() == [[1, "high", "risk_unanswered"]]
    assert got["provenance"].iloc[0] == (
        "derived: the project's rule (an unanswered risk item is not a no)"
    )
    assert detect_all(tidy, [])["rule"].tolist() == ["risk_unanswered", "risk_item"]


def test_the_risk_rows_of_contradicting_ratings_keep_any_risk(registry: Registry) -> None:
    inst = registry.get("phq-9")
    empty = tidy_scores(phq9([[3] * 8 + [None, 0]]), inst)
    answered = tidy_scores(phq9([[3] * 8 + [2, 0]]), inst)
    none = tidy_scores(phq9([[3] * 8 + [0, 0]]), inst)
    risk = [RISK_SCALE, RISK_UNANSWERED_SCALE]

    def merged(*parts: pd.DataFrame) -> list[tuple[str, float]]:
        out = one_risk_row_per_rating(pd.concat(parts, ignore_index=True))
        rows = out[out["scale"].isin(risk)].sort_values("scale")
        return list(zip(rows["scale"], rows["score"], strict=True))

    assert merged(empty, answered) == [(RISK_SCALE, 1.0)]  # an answer beats an empty item
    assert merged(empty, none) == [(RISK_SCALE, 0.0), (RISK_UNANSWERED_SCALE, 1.0)]
    assert merged(none, none) == [(RISK_SCALE, 0.0)]
    totals = one_risk_row_per_rating(pd.concat([empty, answered], ignore_index=True))
    assert (totals["scale"] == "total").sum() == 2  # other rows are left as they are


def _two_risk_items(registry: Registry) -> tuple[Instrument, Registry]:
    """A site's PHQ-9 variant whose item 8 is a second risk item (from its own source)."""
    data = registry.get("phq-9").model_dump(mode="json")
    data["id"] = "phq-9x"
    data["sources"]["other"] = "A second source, for the test."
    data["items"][7]["risk"] = {"at_or_above": 2, "meaning": "Second risk item.", "source": "other"}
    inst = Instrument.model_validate(data)
    return inst, Registry([*registry, inst])


def test_risk_signals_carry_their_numbers_and_every_source(registry: Registry) -> None:
    inst, site = _two_risk_items(registry)
    tidy = tidy_scores(phq9([[0] * 8 + [0, 0], [0] * 7 + [2, 0, 0]]), inst)
    with pytest.raises(ValueError, match="phq-9x"):
        detect_all(tidy, [])  # the built-in registry does not know the site's definition
    got = detect_all(tidy, [], registry=site)
    assert got[["session", "rule", "severity", "value", "threshold"]].values.tolist() == [
        [2, "risk_item", "urgent", 1.0, 1.0]
    ]
    assert got["provenance"].iloc[0] == (
        "derived: the project's rule, an urgent alert and same-day follow-up for any answer at "
        "or above the threshold of phq-9x risk item item_8, item_9 (published as the risk "
        "item: source item9, other)"
    )


def test_risk_answers_count_whoever_entered_them(registry: Registry) -> None:
    # a form entered as the clinician's, or marked as a prediction by mistake, still counts
    tidy = tidy_scores(phq9([[0] * 8 + [3, 0], [0] * 8 + [None, 0]]), registry.get("phq-9"))
    tidy = tidy.assign(perspective="clinician", stance="prediction")
    assert RiskItem().detect(tidy)["session"].tolist() == [1]
    assert RiskUnanswered().detect(tidy)["session"].tolist() == [2]
    unanswered = RiskUnanswered().detect(tidy)
    assert unanswered[["value", "threshold"]].values.tolist() == [[1.0, 1.0]]
