"""Answers that cannot be scored are refused with the row, column, value and allowed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.instruments.scoring import AnswerError, score, score_answers


def frame(rows: list[list[object]], k: int) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[f"item_{i}" for i in range(1, k + 1)])


def test_out_of_range_names_row_column_value_and_allowed(registry: Registry) -> None:
    answers = frame([[3] * 12, [3] * 12, [3] * 6 + [7] + [3] * 5], 12)
    with pytest.raises(AnswerError) as caught:
        score(registry.get("wai-sr"), answers)
    error = caught.value
    assert (error.row, error.column, error.value) == (3, "item_7", 7.0)
    assert str(error) == "row 3, column item_7: value out of range: 7; allowed: 1, 2, 3, 4, 5"


def test_non_integer_option_is_refused(registry: Registry) -> None:
    with pytest.raises(AnswerError, match=r"row 1, column item_2: not an allowed value: 2.5"):
        score(registry.get("gad-7"), np.array([[1, 2.5, 1, 1, 1, 1, 1]]))


def test_first_bad_value_is_reported_with_a_count_of_the_rest(registry: Registry) -> None:
    rows = [[1] * 7 for _ in range(5)]
    rows[1][3] = 9
    rows[4][0] = -1
    with pytest.raises(AnswerError, match=r"row 2, column item_4: \(1 more bad value after"):
        score(registry.get("gad-7"), np.array(rows, dtype=float))


def test_row_offset_is_added(registry: Registry) -> None:
    with pytest.raises(AnswerError) as caught:
        score(registry.get("gad-7"), np.array([[4] + [0] * 6]), row_offset=1000)
    assert caught.value.row == 1001


def test_visual_analogue_range(registry: Registry) -> None:
    with pytest.raises(
        AnswerError,
        match=r"column item_3: value out of range: 10.5; "
        r"allowed: a number from 0 to 10",
    ):
        score(registry.get("srs"), np.array([[1, 2, 10.5, 3]]))


def test_infinity_is_refused(registry: Registry) -> None:
    with pytest.raises(AnswerError, match="value out of range: inf"):
        score(registry.get("srs"), np.array([[1, 2, math.inf, 3]]))


def test_text_in_an_answer_column(registry: Registry) -> None:
    answers = frame([["1"] * 7, ["1", "2", "often", "1", "1", "1", "1"]], 7)
    with pytest.raises(AnswerError) as caught:
        score(registry.get("gad-7"), answers)
    assert str(caught.value) == (
        "row 2, column item_3: wrong type: not a number: 'often'; allowed: 0, 1, 2, 3"
    )


def test_text_numbers_and_blanks_are_accepted(registry: Registry) -> None:
    answers = frame([["1", " 2 ", "3", "0", "", "1", "1"]], 7)
    s = score(registry.get("gad-7"), answers)
    assert math.isnan(s.scales["total"].values[0])  # item_5 blank: every item is needed
    assert s.scales["total"].answered[0] == 6


def test_boolean_column_is_a_wrong_type(registry: Registry) -> None:
    answers = frame([[1] * 7], 7)
    answers["item_2"] = [True]
    with pytest.raises(AnswerError, match="column item_2: wrong type"):
        score(registry.get("gad-7"), answers)


def test_unknown_item_column(registry: Registry) -> None:
    answers = frame([[1] * 8], 8)
    with pytest.raises(
        AnswerError,
        match=r"unknown item column item_8; gad-7 has items "
        r"item_1 … item_7",
    ):
        score(registry.get("gad-7"), answers)


def test_missing_item_column(registry: Registry) -> None:
    answers = frame([[1] * 7], 7).drop(columns="item_5")
    with pytest.raises(AnswerError, match="column item_5 is missing"):
        score(registry.get("gad-7"), answers)


def test_other_columns_are_ignored(registry: Registry) -> None:
    answers = frame([[1] * 7], 7).assign(client="007", note="x")
    assert score(registry.get("gad-7"), answers).scales["total"].values[0] == 7


def test_wrong_matrix_shape(registry: Registry) -> None:
    with pytest.raises(AnswerError, match=r"12 item columns, got shape \(1, 11\)"):
        score(registry.get("wai-sr"), np.ones((1, 11)))


def test_score_answers_refuses_unknown_items_and_text(registry: Registry) -> None:
    inst = registry.get("gad-7")
    with pytest.raises(AnswerError, match="unknown item item_9"):
        score_answers(inst, {"item_9": 1})
    with pytest.raises(AnswerError, match="column item_1: wrong type"):
        score_answers(inst, {"item_1": "2"})  # type: ignore[dict-item]
    with pytest.raises(AnswerError, match="column item_1: wrong type"):
        score_answers(inst, {"item_1": True})
