"""Properties of the vectorized scorer, checked on generated answers (hypothesis).

The reference is a deliberately plain per-row scorer written here from the definitions, so a
mistake in the vectorized arithmetic (weights, reversal, proration, chunking) shows up as a
disagreement.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.instruments import scoring
from alliance.instruments.model import Instrument, OptionsFormat
from alliance.instruments.registry import builtin_registry
from alliance.instruments.scoring import score

SCORABLE = [i for i in builtin_registry() if any(s.verified for s in i.scales)]


def answers_for(inst: Instrument, rows: int, seed: int, missing: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((rows, len(inst.items)))
    for j, item in enumerate(inst.items):
        fmt = inst.format_of(item)
        if isinstance(fmt, OptionsFormat):
            out[:, j] = rng.choice([o.value for o in fmt.options], size=rows)
        else:
            out[:, j] = np.round(rng.uniform(fmt.min, fmt.max, size=rows), 1)
    out[rng.random(out.shape) < missing] = np.nan
    return out


def reference_score(inst: Instrument, row: np.ndarray, scale_id: str) -> float:
    """Score one row the slow, obvious way."""
    scale = inst.scale(scale_id)
    values = []
    for j, item in enumerate(inst.items):
        if scale_id not in item.scales:
            continue
        x = row[j]
        if math.isnan(x):
            continue
        fmt = inst.format_of(item)
        values.append(fmt.low + fmt.high - x if item.reverse else x)
    n = len(inst.items_of(scale_id))
    op = scale.operation
    if n - len(values) > op.max_missing:
        return math.nan
    total = sum(values)
    result = {
        "sum": total,
        "mean": total / n,
        "prorated_sum": total * n / len(values),
        "prorated_mean": total / len(values),
    }[op.name]
    if op.round is not None:
        result = math.floor(result * 10**op.round + 0.5) / 10**op.round
    return result


@pytest.mark.parametrize("inst", SCORABLE, ids=lambda i: i.id)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), missing=st.sampled_from([0.0, 0.05, 0.2]))
def test_matches_plain_per_row_scorer(inst: Instrument, seed: int, missing: float) -> None:
    answers = answers_for(inst, 40, seed, missing)
    scores = score(inst, answers)
    for scale_id, result in scores.scales.items():
        expected = [reference_score(inst, row, scale_id) for row in answers]
        np.testing.assert_allclose(result.values, expected, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("inst", SCORABLE, ids=lambda i: i.id)
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), perm_seed=st.integers(0, 2**32 - 1))
def test_row_order_invariance(inst: Instrument, seed: int, perm_seed: int) -> None:
    answers = answers_for(inst, 30, seed, 0.1)
    order = np.random.default_rng(perm_seed).permutation(len(answers))
    plain, shuffled = score(inst, answers), score(inst, answers[order])
    for scale_id in plain.scales:
        np.testing.assert_array_equal(
            plain.scales[scale_id].values[order], shuffled.scales[scale_id].values
        )


@pytest.mark.parametrize("inst", SCORABLE, ids=lambda i: i.id)
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_reflecting_every_answer_reflects_every_score(inst: Instrument, seed: int) -> None:
    """x → low + high − x on every item maps a scale score s to (min + max) − s, whatever
    the reverse keying: a wrongly reversed item would break the symmetry."""
    answers = answers_for(inst, 30, seed, 0.0)
    lows = np.array([inst.format_of(i).low for i in inst.items])
    highs = np.array([inst.format_of(i).high for i in inst.items])
    mirrored = score(inst, lows + highs - answers)
    plain = score(inst, answers)
    for scale_id, result in plain.scales.items():
        if inst.scale(scale_id).operation.round is not None:
            continue  # rounding half away from zero is not symmetric
        lo, hi = inst.scale(scale_id).range
        np.testing.assert_allclose(mirrored.scales[scale_id].values, lo + hi - result.values)


@pytest.mark.parametrize("inst", SCORABLE, ids=lambda i: i.id)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_scores_stay_within_the_declared_range(inst: Instrument, seed: int) -> None:
    scores = score(inst, answers_for(inst, 50, seed, 0.1))
    for scale_id, result in scores.scales.items():
        lo, hi = inst.scale(scale_id).range
        v = result.values[~np.isnan(result.values)]
        assert np.all((v >= lo) & (v <= hi))


def test_chunking_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = builtin_registry().get("phq-9")
    answers = answers_for(inst, 1000, 3, 0.1)
    whole = score(inst, answers)
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 7)
    chunked = score(inst, answers)
    np.testing.assert_array_equal(whole.scales["total"].values, chunked.scales["total"].values)
    np.testing.assert_array_equal(whole.any_risk, chunked.any_risk)
    answers[998, 2] = 9
    with pytest.raises(scoring.AnswerError) as caught:
        score(inst, answers)
    assert (caught.value.row, caught.value.column) == (999, "item_3")
