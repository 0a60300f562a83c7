"""Boundary tables for the scorer: every cut-off direction on both sides of its value, each
named operation with and without missing items, rounding half away from zero, several
response formats in one instrument, and the fast check never taking the slow path on clean
answers. The instruments here are small synthetic definitions, so that each rule is
exercised where no built-in instrument uses it (no built-in scale is a plain mean, rounds to
decimals or cuts off "at or below")."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alliance.instruments import scoring
from alliance.instruments.answers import AnswerError
from alliance.instruments.model import Instrument
from alliance.instruments.scoring import score, score_answers

NAN = math.nan


def options(low: int, high: int, step: int = 1) -> dict[str, Any]:
    chosen = [{"value": v, "label": f"{v}"} for v in range(low, high + 1, step)]
    return {"kind": "options", "source": "s", "options": chosen}


def make(
    *,
    operation: str = "sum",
    max_missing: int = 0,
    rounding: int | None = None,
    low: int = 0,
    high: int = 4,
    k: int = 4,
    cutoffs: list[dict[str, Any]] | None = None,
    bands: list[dict[str, Any]] | None = None,
    items: list[dict[str, Any]] | None = None,
    scales: list[dict[str, Any]] | None = None,
) -> Instrument:
    """A synthetic instrument: ``k`` items on options ``low…high`` in one scale ``total``."""
    divisor = k if operation.endswith("mean") else 1
    scale: dict[str, Any] = {
        "id": "total", "label": "Total", "source": "s", "higher_is": "worse",
        "operation": {"name": operation, "max_missing": max_missing, "round": rounding,
                      "source": "s"},
        "range": [low * k / divisor, high * k / divisor],
        "cutoffs": [{"meaning": "m", "source": "s", **c} for c in cutoffs or []],
    }  # fmt: skip
    if bands:
        scale["bands"] = {"source": "s", "bands": bands}
    return Instrument.model_validate(
        {
            "id": "synthetic", "version": "1", "title": "Synthetic", "kind": "outcome",
            "citation": "none", "perspectives": ["client"], "sources": {"s": "test"},
            "licence": {"status": "public_domain", "terms": "none", "source": "s"},
            "response": options(low, high),
            "items": items or [{"id": f"item_{j}", "label": "x", "scales": ["total"]}
                               for j in range(1, k + 1)],
            "scales": scales or [scale],
        }
    )  # fmt: skip


def values(inst: Instrument, rows: list[list[float]], scale: str = "total") -> list[float | None]:
    got = score(inst, np.array(rows, dtype=float)).scales[scale].values
    return [None if math.isnan(v) else float(v) for v in got]


# -- cut-off directions: totals 7, 8, 9 around a cut-off of 8, and an unscored row ----------

ROWS_7_8_9 = [[1, 2, 2, 2], [2, 2, 2, 2], [3, 2, 2, 2], [2, 2, 2, NAN]]


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("below", [True, False, False]),
        ("at_or_below", [True, True, False]),
        ("at_or_above", [False, True, True]),
        ("above", [False, False, True]),
    ],
)
def test_each_cutoff_direction_on_both_sides_of_its_value(
    direction: str, expected: list[bool]
) -> None:
    inst = make(cutoffs=[{"id": "flag", "value": 8, "direction": direction}])
    scores = score(inst, np.array(ROWS_7_8_9))
    total = scores.scales["total"]
    assert list(total.flagged(inst.scales[0].cutoffs[0])) == [*expected, False]
    frame = scores.to_frame()
    assert frame["total_flag"].dtype == "boolean"
    assert frame["total_flag"].tolist() == [*expected, pd.NA]  # unscored: unknown, not "no"


# -- the named operations, with complete rows only and with gaps -----------------------------


@pytest.mark.parametrize(
    ("operation", "max_missing", "expected"),
    [
        # rows: complete 1,2,3,4 | complete 4,4,4,3 | one item missing | two missing | all empty
        ("sum", 0, [10, 15, None, None, None]),
        ("mean", 0, [2.5, 3.75, None, None, None]),
        ("prorated_sum", 1, [10, 15, 6 * 4 / 3, None, None]),
        ("prorated_mean", 1, [2.5, 3.75, 2.0, None, None]),
        ("prorated_sum", 2, [10, 15, 8.0, 8.0, None]),
        ("prorated_mean", 2, [2.5, 3.75, 2.0, 2.0, None]),
    ],
)
def test_each_operation_with_and_without_gaps(
    operation: str, max_missing: int, expected: list[float | None]
) -> None:
    inst = make(operation=operation, max_missing=max_missing)
    complete = [[1, 2, 3, 4], [4, 4, 4, 3]]
    gaps = [[1, 2, 3, NAN], [1, NAN, 3, NAN], [NAN] * 4]
    # a chunk of complete rows takes the fast path; a chunk with gaps counts answered items
    assert values(inst, complete) == expected[:2]
    assert values(inst, complete + gaps) == expected
    result = score(inst, np.array(complete + gaps))
    assert result.scales["total"].answered.tolist() == [4, 4, 3, 2, 0]
    assert result.scales["total"].band is None  # no bands defined
    assert result.instrument is inst


def test_reasons_name_the_missing_count_and_the_rule() -> None:
    inst = make(operation="prorated_mean", max_missing=1)
    total = score(inst, np.array([[1, 2, 3, NAN], [1, NAN, NAN, 4]])).scales["total"]
    assert total.reason(0) is None
    assert total.reason(1) == "2 of 4 items missing; total allows at most 1 (prorated_mean)"


@pytest.mark.parametrize(
    ("rounding", "rows", "expected"),
    [
        (0, [[0, 0, 0, 2]], [0.5 + 0.5]),  # 0.5 rounds half away from zero: 1
        (1, [[0, 0, 0, 1], [1, 1, 1, 2]], [0.3, 1.3]),  # 0.25 → 0.3, 1.25 → 1.3
        (1, [[-1, 0, 0, 0], [-2, -1, -1, -1]], [-0.3, -1.3]),  # −0.25 → −0.3, −1.25 → −1.3
        (2, [[1, 1, 2, NAN], [2, 2, 1, NAN], [-1, -1, -2, NAN]], [1.33, 1.67, -1.33]),
        (None, [[1, 1, 2, NAN]], [4 / 3]),  # no rounding rule: decimals are kept
    ],
)
def test_rounding_half_away_from_zero_to_the_stated_decimals(
    rounding: int | None, rows: list[list[float]], expected: list[float]
) -> None:
    inst = make(operation="prorated_mean", max_missing=1, rounding=rounding, low=-2, high=2)
    got = values(inst, rows)
    assert got == pytest.approx(expected, abs=1e-12)


# -- bands and the table shape -------------------------------------------------------------


def test_bands_risk_and_the_table_of_scores() -> None:
    items = [{"id": f"item_{j}", "label": "x", "scales": ["total"]} for j in range(1, 4)]
    items.append(
        {"id": "item_4", "label": "x", "scales": ["total"],
         "risk": {"at_or_above": 2, "meaning": "m", "source": "s"}}
    )  # fmt: skip
    bands = [{"id": "low", "min": 0, "label": "Low"}, {"id": "high", "min": 8, "label": "High"}]
    inst = make(items=items, bands=bands, cutoffs=[{"id": "c", "value": 8, "direction": "above"}])
    rows = [[2, 2, 2, 1], [2, 2, 2, 2], [2, 2, 2, NAN], [0, 0, 0, 0]]
    scores = score(inst, np.array(rows))
    assert list(scores.scales["total"].band_ids()) == ["low", "high", None, "low"]
    assert list(scores.any_risk) == [False, True, False, False]
    assert list(scores.any_risk_unanswered) == [False, False, True, False]
    index = pd.Index(["a", "b", "c", "d"])
    frame = scores.to_frame(index)
    assert list(frame.columns) == ["total", "total_band", "total_c", "risk", "risk_unanswered"]
    assert frame.index.equals(index)
    assert frame["total"].tolist()[:2] == [7.0, 8.0] and math.isnan(frame["total"]["c"])
    assert frame["total_band"].cat.ordered
    assert frame["total_band"].tolist()[:2] == ["low", "high"]
    assert frame["risk"].tolist() == [False, True, False, False]
    assert frame["risk_unanswered"].tolist() == [False, False, True, False]
    assert scores.to_frame().index.equals(pd.RangeIndex(4))


def test_without_risk_items_there_are_no_risk_columns() -> None:
    scores = score(make(), np.array([[1, 2, 3, NAN]]))
    assert scores.risk is None and scores.risk_unanswered is None
    assert list(scores.any_risk) == [False] and list(scores.any_risk_unanswered) == [False]
    assert list(scores.to_frame().columns) == ["total"]


def test_only_the_chosen_scales_are_scored() -> None:
    items = [{"id": f"item_{j}", "label": "x", "scales": ["a" if j <= 2 else "b"]}
             for j in range(1, 5)]  # fmt: skip
    scales = [
        {"id": s, "label": s, "source": "s", "higher_is": "worse", "range": [0, 8],
         "operation": {"name": "sum", "source": "s"}}
        for s in ("a", "b")
    ]  # fmt: skip
    inst = make(items=items, scales=scales)
    only_b = score(inst, np.array([[1, 2, 3, 4]]), scales=["b"])
    assert list(only_b.scales) == ["b"] and only_b.scales["b"].values.tolist() == [7]
    assert list(score(inst, np.array([[1, 2, 3, 4]])).scales) == ["a", "b"]


# -- several response formats in one instrument ----------------------------------------------


def mixed(*, contiguous: bool = False) -> Instrument:
    """Items 1–2 on 0–4, item 3 on 0, 2, 4 only (0–4 when ``contiguous``), item 4 on 0–1."""
    third = options(0, 4) if contiguous else options(0, 4, 2)
    items = [
        {"id": "item_1", "label": "x", "scales": ["total"]},
        {"id": "item_2", "label": "x", "scales": ["total"]},
        {"id": "item_3", "label": "x", "scales": ["total"], "response": third},
        {"id": "item_4", "label": "x", "scales": ["total"], "response": options(0, 1)},
    ]
    scale = {"id": "total", "label": "t", "source": "s", "higher_is": "worse", "range": [0, 13],
             "operation": {"name": "sum", "source": "s"}}  # fmt: skip
    return make(items=items, scales=[scale])


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        ([4, 4, 4, 2], "item_4", 2),  # in range for items 1–3, not for item 4
        ([4, 4, 3, 1], "item_3", 3),  # within 0–4 but not one of 0, 2, 4
        ([4, 4, 1, 0], "item_3", 1),
        ([5, 0, 0, 0], "item_1", 5),
    ],
)
def test_each_item_is_checked_against_its_own_format(
    row: list[float], column: str, value: float
) -> None:
    with pytest.raises(AnswerError) as caught:
        score(mixed(), np.array([row], dtype=float))
    assert caught.value.column == column
    assert caught.value.value == value
    assert "more bad value" not in str(caught.value)


def test_a_single_row_and_a_single_item_group_are_checked() -> None:
    with pytest.raises(AnswerError, match="item_4"):
        score(mixed(), np.array([[NAN, NAN, NAN, 3.0]]))
    assert score(mixed(), np.array([[4, 3, 4, 1]])).scales["total"].values.tolist() == [12]


def test_clean_answers_never_take_the_slow_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # the exact search runs only when the cheap check fails (or for options that are not
    # contiguous); on clean answers it must pass, or a large file costs a per-cell search
    def slow(*args: object) -> None:
        raise AssertionError("the exact search ran on clean answers")

    monkeypatch.setattr(scoring, "_raise_first_bad", slow)
    rows = [[0, 4, 0, 0], [4, 0, 4, 1], [NAN, 2, 2, NAN], [1, NAN, NAN, 1]]
    assert values(mixed(contiguous=True), rows) == [4, 9, None, None]
    ors_like = make(operation="prorated_sum", max_missing=1)
    assert values(ors_like, [[0, 4, 0, 4], [NAN, 1, 2, 3]]) == [8, 8]
    assert values(make(k=1), [[3.0]]) == [3]


@pytest.mark.parametrize(
    ("row", "first", "note"),
    [
        ([5, 0, 0, 0], "item_1", ""),
        ([5, 5, 0, 0], "item_1", "(1 more bad value after this) "),
        ([5, 5, 3, 0], "item_1", "(2 more bad values after this) "),
        ([0, 4, 4, 7], "item_4", ""),  # 0 and 4 lie on the bounds and are allowed
    ],
)
def test_the_first_bad_value_and_how_many_follow(row: list[float], first: str, note: str) -> None:
    with pytest.raises(AnswerError) as caught:
        score(mixed(), np.array([row], dtype=float), row_offset=10)
    assert caught.value.column == first
    assert str(caught.value).startswith(f"row 11, column {first}: {note}")


def test_a_visual_analogue_line_accepts_both_ends(registry: Any) -> None:
    ors = registry.get("ors")
    with pytest.raises(AnswerError) as caught:
        score(ors, np.array([[0.0, 10.5, 10.0, 5.0]]))
    assert caught.value.column == "item_2"
    assert str(caught.value) == (
        "row 1, column item_2: value out of range: 10.5; allowed: a number from 0 to 10"
    )


def test_text_errors_carry_the_row_offset(registry: Any) -> None:
    frame = pd.DataFrame({f"item_{j}": ["1"] * 2 for j in range(1, 13)})
    frame.loc[1, "item_5"] = "lots"
    with pytest.raises(AnswerError, match="row 42, column item_5"):
        score(registry.get("wai-sr"), frame, row_offset=40)


def test_one_form_errors_name_the_item_the_value_and_what_is_allowed() -> None:
    inst = mixed()
    with pytest.raises(AnswerError) as caught:
        score_answers(inst, {"item_9": 1})
    assert caught.value.column == "item_9"
    with pytest.raises(AnswerError) as caught:
        score_answers(inst, {"item_4": "yes"})
    assert (caught.value.column, caught.value.value) == ("item_4", "yes")
    assert caught.value.allowed == "0, 1"
    partial = score_answers(inst, {"item_1": 4, "item_2": None, "item_3": 2, "item_4": 1})
    assert math.isnan(partial.scales["total"].values[0])  # a sum needs every item
    assert partial.scales["total"].answered.tolist() == [3]


def test_an_unconfirmed_cutoff_is_not_applied(registry: Any) -> None:
    # the ORS's 28 for ages 13–17 is not confirmed: no flag column; the adults' 25 is
    scores = score(registry.get("ors"), np.array([[6.0, 6.0, 6.0, 6.5]]))
    frame = scores.to_frame()
    assert "total_adolescent" not in frame.columns
    assert frame["total_clinical"].tolist() == [True]  # 24.5 < 25
