"""Hand-computed test vectors for every built-in instrument.

Each expectation is worked out by hand from the published rule named in the definition:
best, worst, middle, partial within the missing-data rule, too many missing, reversed items,
band and cut-off boundaries, risk items.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alliance.instruments.registry import Registry
from alliance.instruments.scoring import Scores, score, score_answers

NAN = math.nan


def run(registry: Registry, instrument_id: str, rows: list[list[float]]) -> Scores:
    return score(registry.get(instrument_id), np.array(rows, dtype=float))


def values(scores: Scores, scale: str) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in scores.scales[scale].values]


def bands(scores: Scores, scale: str) -> list[str | None]:
    return list(scores.scales[scale].band_ids())


# -- WAI-SR: Task 1,2,10,12; Goal 4,6,8,11; Bond 3,5,7,9; sums, every item needed ---------


def test_wai_sr_best_worst_middle(registry: Registry) -> None:
    s = run(registry, "wai-sr", [[5] * 12, [1] * 12, [3] * 12])
    assert values(s, "task") == [20, 4, 12]
    assert values(s, "goal") == [20, 4, 12]
    assert values(s, "bond") == [20, 4, 12]
    assert values(s, "total") == [60, 12, 36]


def test_wai_sr_subscale_key(registry: Registry) -> None:
    # item:    1  2  3  4  5  6  7  8  9 10 11 12
    answers = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]
    s = run(registry, "wai-sr", [answers])
    assert values(s, "task") == [1 + 2 + 5 + 2]  # items 1, 2, 10, 12
    assert values(s, "goal") == [4 + 1 + 3 + 1]  # items 4, 6, 8, 11
    assert values(s, "bond") == [3 + 5 + 2 + 4]  # items 3, 5, 7, 9
    assert values(s, "total") == [33]


def test_wai_sr_missing_item_empties_only_its_scales(registry: Registry) -> None:
    answers = [4.0] * 12
    answers[3] = NAN  # item_4 is a Goal item
    s = run(registry, "wai-sr", [answers])
    assert values(s, "task") == [16]
    assert values(s, "bond") == [16]
    assert values(s, "goal") == [None]
    assert values(s, "total") == [None]
    assert s.scales["goal"].reason(0) == (
        "1 of 4 items missing; goal allows at most 0 (sum; the project's rule, none is published)"
    )
    assert s.scales["task"].reason(0) is None


def test_wai_sr_has_no_reverse_keyed_items(registry: Registry) -> None:
    inst = registry.get("wai-sr")
    assert [i.id for i in inst.items if i.reverse] == []
    assert [i.id for i in inst.items_of("bond")] == ["item_3", "item_5", "item_7", "item_9"]


# -- PHQ-9: 0–3, total 0–27 prorated with up to 2 missing; bands 5/10/15/20; item 9 risk ----


def test_phq9_best_worst_middle(registry: Registry) -> None:
    s = run(registry, "phq-9", [[0] * 9 + [0], [3] * 9 + [3], [1] * 9 + [NAN]])
    assert values(s, "total") == [0, 27, 9]
    assert bands(s, "total") == ["minimal", "severe", "mild"]
    assert list(s.any_risk) == [False, True, True]


def test_phq9_item_10_is_not_scored(registry: Registry) -> None:
    s = run(registry, "phq-9", [[1] * 9 + [0], [1] * 9 + [3]])
    assert values(s, "total") == [9, 9]


def test_phq9_prorates_up_to_two_missing(registry: Registry) -> None:
    two_missing = [2, 2, 2, 2, 2, 2, 2, NAN, NAN, NAN]
    three_missing = [2, 2, 2, 2, 2, 2, NAN, NAN, NAN, NAN]
    s = run(registry, "phq-9", [two_missing, three_missing])
    assert values(s, "total") == [14 * 9 / 7, None]  # 18.0
    assert bands(s, "total") == ["moderately_severe", None]
    assert "3 of 9 items missing" in str(s.scales["total"].reason(1))


@pytest.mark.parametrize(
    ("total", "band", "clinical"),
    [
        (4, "minimal", False),
        (5, "mild", False),
        (9, "mild", False),
        (10, "moderate", True),
        (14, "moderate", True),
        (15, "moderately_severe", True),
        (19, "moderately_severe", True),
        (20, "severe", True),
        (27, "severe", True),
    ],
)
def test_phq9_band_and_cutoff_boundaries(
    registry: Registry, total: int, band: str, clinical: bool
) -> None:
    answers = [min(3, max(0, total - 3 * i)) for i in range(9)]  # fill items in order
    assert sum(answers) == total
    s = run(registry, "phq-9", [[*answers, NAN]])
    assert values(s, "total") == [total]
    assert bands(s, "total") == [band]
    frame = s.to_frame()
    assert bool(frame["total_clinical"][0]) is clinical


def test_phq9_risk_item_flags_any_answer_above_zero(registry: Registry) -> None:
    inst = registry.get("phq-9")
    low = score_answers(inst, {f"item_{i}": 0 for i in range(1, 9)} | {"item_9": 1})
    assert low.scales["total"].values[0] == 1
    assert bool(low.any_risk[0])
    assert [i.id for i in inst.risk_items] == ["item_9"]
    unanswered = score_answers(inst, {f"item_{i}": 3 for i in range(1, 9)})
    assert not unanswered.any_risk[0]


# -- GAD-7: 0–3, total 0–21, every item needed; bands 5/10/15; cut-offs 10 and 8 -----------


def test_gad7_vectors(registry: Registry) -> None:
    s = run(
        registry,
        "gad-7",
        [[0] * 7, [3] * 7, [1] * 7, [2, 2, 1, 1, 1, 1, 0], [2, 2, 2, 1, 1, 1, 1], [1] * 6 + [NAN]],
    )
    assert values(s, "total") == [0, 21, 7, 8, 10, None]
    assert bands(s, "total") == ["minimal", "severe", "mild", "mild", "moderate", None]
    frame = s.to_frame()
    assert list(frame["total_gad"].iloc[:5]) == [False, True, False, False, True]
    assert list(frame["total_clinical"].iloc[:5]) == [False, True, False, True, True]
    assert frame["total_clinical"].isna().tolist() == [False] * 5 + [True]
    assert s.risk is None


# -- CORE-10: 0–4, items 2 and 3 reversed, item 6 risk, prorated with 1 missing ------------


def test_core10_reversed_items(registry: Registry) -> None:
    least_distress = [0, 4, 4, 0, 0, 0, 0, 0, 0, 0]
    most_distress = [4, 0, 0, 4, 4, 4, 4, 4, 4, 4]
    all_zero = [0] * 10  # items 2 and 3 answered "least often": they count 4 each
    all_four = [4] * 10
    s = run(registry, "core-10", [least_distress, most_distress, all_zero, all_four])
    assert values(s, "total") == [0, 40, 8, 32]
    assert bands(s, "total") == ["non_clinical", "severe", "non_clinical", "severe"]
    assert list(s.any_risk) == [False, True, False, True]


def test_core10_prorates_one_missing_only(registry: Registry) -> None:
    one = [NAN, 0, 0, 4, 4, 4, 4, 4, 4, 4]  # 9 answered, sum 36 → 36 × 10 / 9
    two = [NAN, NAN, 0, 4, 4, 4, 4, 4, 4, 4]
    s = run(registry, "core-10", [one, two])
    assert values(s, "total") == [40, None]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (10, "non_clinical"),
        (11, "mild"),
        (14, "mild"),
        (15, "moderate"),
        (19, "moderate"),
        (20, "moderately_severe"),
        (24, "moderately_severe"),
        (25, "severe"),
    ],
)
def test_core10_band_boundaries(registry: Registry, total: int, band: str) -> None:
    answers = [0, 4, 4, 0, 0, 0, 0, 0, 0, 0]
    free = [0, 3, 4, 6, 7, 8, 9]  # not reversed, not the risk item
    for i in range(total):
        answers[free[i % len(free)]] += 1
    s = run(registry, "core-10", [answers])
    assert values(s, "total") == [total]
    assert bands(s, "total") == [band]
    assert bool(s.to_frame()["total_clinical"][0]) is (total >= 11)


# -- K10: 1–5, total 10–50, one missing → round(sum × 10 / 9); bands 16/22/30 ---------------


def test_k10_vectors(registry: Registry) -> None:
    s = run(
        registry,
        "k10",
        [
            [1] * 10,
            [5] * 10,
            [3] * 10,
            [2] * 9 + [NAN],
            [1] * 8 + [2, NAN],
            [3] * 8 + [2, NAN],
            [1] * 8 + [NAN, NAN],
        ],
    )
    # 18 × 10/9 = 20; 10 × 10/9 = 11.1 → 11; 26 × 10/9 = 28.9 → 29
    assert values(s, "total") == [10, 50, 30, 20, 11, 29, None]
    assert bands(s, "total") == ["low", "very_high", "very_high", "moderate", "low", "high", None]


# -- SRS and ORS: four lines 0–10, total 0–40, decimals kept ---------------------------------


def test_srs_decimals_and_strict_cutoff(registry: Registry) -> None:
    s = run(
        registry,
        "srs",
        [[10] * 4, [9, 9, 9, 8.9], [9, 9, 9, 9], [0] * 4, [7.3, 8.1, 6.6, 9.0], [9, 9, 9, NAN]],
    )
    got = values(s, "total")
    assert got[:4] == [40, pytest.approx(35.9), 36, 0]
    assert got[4] == pytest.approx(31.0)
    assert got[5] is None
    flags = s.to_frame()["total_concern"]
    assert list(flags.iloc[:5]) == [False, True, False, True, True]


def test_ors_cutoff(registry: Registry) -> None:
    s = run(registry, "ors", [[6.2, 5.1, 7.0, 6.6], [6.25, 6.25, 6.25, 6.25], [10] * 4])
    assert values(s, "total") == [pytest.approx(24.9), 25, 40]
    assert list(s.to_frame()["total_clinical"]) == [True, False, False]


# -- WAI-B3: WAI-SR items 9, 10, 11 summed ---------------------------------------------------


def test_wai_b3_vectors(registry: Registry) -> None:
    s = run(registry, "wai-b3", [[5, 5, 5], [1, 1, 1], [2, 4, 3], [2, NAN, 3]])
    assert values(s, "total") == [15, 3, 9, None]


# -- Instruments whose key is not confirmed are refused, with the reason -------------------


@pytest.mark.parametrize("instrument_id", ["wai", "wai-s", "sai", "haq-ii"])
def test_unconfirmed_keys_are_not_computed(registry: Registry, instrument_id: str) -> None:
    inst = registry.get(instrument_id)
    low = inst.response.low
    s = score(inst, np.full((2, len(inst.items)), low))
    assert s.scales == {}
    assert set(s.refused) == {scale.id for scale in inst.scales}
    assert all("not confirmed" in why for why in s.refused.values())
