"""One vectorized scorer for any number of administrations.

Answers form a matrix with one row per administration and one column per item
(``item_1 … item_k``), NaN where an item was not answered. The scorer

1. refuses values that are out of range, not numbers, or not one of the response options,
   naming the row, the column, the value and what is allowed;
2. adds items up with one matrix product per chunk of rows: a reverse-keyed item enters with
   weight −1 plus a constant (lowest + highest option) for each row in which it was answered,
   so reversal costs nothing extra;
3. applies each scale's named operation and missing-data rule (a scale that cannot be scored is
   NaN, and :meth:`ScaleScores.reason` says why), bands, cut-offs and risk items.

Scales whose scoring key is not confirmed (``verified: false``) are not computed; they are
listed in :attr:`Scores.refused` with the reason.

The same function scores one form in the service (:func:`score_answers`) and millions of rows
in research; rows are processed in chunks so temporary memory stays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from threadpoolctl import threadpool_limits

from alliance.instruments.answers import MISSING_TEXT, AnswerError, as_answer_matrix
from alliance.instruments.model import (
    Cutoff,
    Instrument,
    OptionsFormat,
    Scale,
    VisualAnalogueFormat,
)

SCORING_VERSION = "1"
"""Recorded with every stored score; bump when the scorer's arithmetic changes."""

CHUNK_ROWS = 16_384

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int16]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ScaleScores:
    """Scores of one scale for every row, with what is needed to explain an empty one."""

    scale: Scale
    values: FloatArray
    answered: IntArray
    n_items: int
    band: npt.NDArray[np.int8] | None = None

    def reason(self, row: int) -> str | None:
        """Why ``values[row]`` (0-based) is empty, or None when it has a score."""
        if not np.isnan(self.values[row]):
            return None
        missing = self.n_items - int(self.answered[row])
        op = self.scale.operation
        whose = "; the project's rule, none is published" if op.missing_rule == "project" else ""
        return (
            f"{missing} of {self.n_items} items missing; "
            f"{self.scale.id} allows at most {op.max_missing} ({op.name}{whose})"
        )

    def band_ids(self) -> npt.NDArray[np.object_]:
        """The band id per row (None where unscored or the scale has no bands)."""
        out = np.full(len(self.values), None, dtype=object)
        if self.band is not None and self.scale.bands is not None:
            ids = np.array([b.id for b in self.scale.bands.bands], dtype=object)
            ok = self.band >= 0
            out[ok] = ids[self.band[ok]]
        return out

    def flagged(self, cutoff: Cutoff) -> BoolArray:
        """Rows on the flagged side of ``cutoff`` (False where unscored)."""
        v = self.values
        with np.errstate(invalid="ignore"):
            match cutoff.direction:
                case "below":
                    return v < cutoff.value
                case "at_or_below":
                    return v <= cutoff.value
                case "at_or_above":
                    return v >= cutoff.value
                case "above":
                    return v > cutoff.value


@dataclass(frozen=True, eq=False)
class Scores:
    """The result of scoring ``n_rows`` administrations of one instrument."""

    instrument: Instrument
    n_rows: int
    scales: dict[str, ScaleScores]
    refused: dict[str, str] = field(default_factory=dict)
    risk: BoolArray | None = None
    """Per row and risk item (columns in the order of ``instrument.risk_items``)."""
    risk_unanswered: BoolArray | None = None
    """Per row and risk item: left empty. An empty risk item is not a "no"."""

    @property
    def any_risk(self) -> BoolArray:
        if self.risk is None:
            return np.zeros(self.n_rows, dtype=bool)
        return np.asarray(self.risk.any(axis=1))

    @property
    def any_risk_unanswered(self) -> BoolArray:
        if self.risk_unanswered is None:
            return np.zeros(self.n_rows, dtype=bool)
        return np.asarray(self.risk_unanswered.any(axis=1))

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """Columns: one per scale, ``<scale>_band``, ``<scale>_<cutoff>`` flags of confirmed
        cut-offs, ``risk`` and ``risk_unanswered`` (a risk item left empty)."""
        columns: dict[str, object] = {}
        for scale_id, scores in self.scales.items():
            columns[scale_id] = scores.values
            bands = scores.scale.bands
            if bands is not None and scores.band is not None:
                categories = [b.id for b in bands.bands]
                columns[f"{scale_id}_band"] = pd.Categorical.from_codes(
                    scores.band.astype(np.int64), categories=pd.Index(categories), ordered=True
                )
            scored = ~np.isnan(scores.values)
            for cutoff in (c for c in scores.scale.cutoffs if c.verified):  # others: shown only
                columns[f"{scale_id}_{cutoff.id}"] = pd.arrays.BooleanArray(
                    scores.flagged(cutoff), mask=~scored
                )
        if self.risk is not None:
            columns["risk"] = self.any_risk
            columns["risk_unanswered"] = self.any_risk_unanswered
        return pd.DataFrame(
            columns, index=index if index is not None else pd.RangeIndex(self.n_rows)
        )


@dataclass(frozen=True)
class _Group:
    """Items that share one response format and are validated together."""

    columns: npt.NDArray[np.intp]
    whole: bool  # the group is every column: validate the chunk without copying
    fmt: OptionsFormat | VisualAnalogueFormat


@dataclass(frozen=True)
class _Plan:
    """Matrices that turn an answer matrix into scale totals and answered counts."""

    scales: tuple[Scale, ...]
    refused: dict[str, str]
    weights: FloatArray  # k × (s + 1): +1, −1 (reversed) or 0; the last column is all ones
    reversal: FloatArray  # k × s: lowest + highest option for each reversed member item
    membership: FloatArray  # k × s: 1 where the item belongs to the scale
    n_items: npt.NDArray[np.int64]
    min_answered: npt.NDArray[np.int64]
    groups: tuple[_Group, ...]
    risk_columns: npt.NDArray[np.intp]
    risk_thresholds: FloatArray


def _plan(instrument: Instrument, scale_ids: Sequence[str] | None) -> _Plan:
    wanted = [instrument.scale(s) for s in scale_ids] if scale_ids else list(instrument.scales)
    refused = {
        s.id: (
            f"the scoring key of {instrument.id} {s.id} is not confirmed from a published "
            f"source ({s.note}); a site can supply a confirmed key in its own definition file"
        )
        for s in wanted
        if not s.verified
    }
    scales = tuple(s for s in wanted if s.verified)
    k, n_scales = len(instrument.items), len(scales)
    weights = np.zeros((k, n_scales + 1))
    weights[:, n_scales] = 1.0
    reversal = np.zeros((k, n_scales))
    membership = np.zeros((k, n_scales))
    for j, item in enumerate(instrument.items):
        fmt = instrument.format_of(item)
        for c, scale in enumerate(scales):
            if scale.id in item.scales:
                weights[j, c] = -1.0 if item.reverse else 1.0
                reversal[j, c] = fmt.low + fmt.high if item.reverse else 0.0
                membership[j, c] = 1.0
    n_items = membership.sum(axis=0).astype(np.int64)
    max_missing = np.array([s.operation.max_missing for s in scales], dtype=np.int64)

    grouped: dict[tuple[object, ...], tuple[list[int], OptionsFormat | VisualAnalogueFormat]] = {}
    for j, item in enumerate(instrument.items):
        fmt = instrument.format_of(item)
        key: tuple[object, ...] = (
            ("options", *(o.value for o in fmt.options))
            if isinstance(fmt, OptionsFormat)
            else ("line", fmt.min, fmt.max)
        )
        grouped.setdefault(key, ([], fmt))[0].append(j)
    groups = tuple(
        _Group(columns=np.array(cols, dtype=np.intp), whole=len(cols) == k, fmt=fmt)
        for cols, fmt in grouped.values()
    )

    risk = [(j, item.risk.at_or_above) for j, item in enumerate(instrument.items) if item.risk]
    return _Plan(
        scales=scales,
        refused=refused,
        weights=weights,
        reversal=reversal,
        membership=membership,
        n_items=n_items,
        min_answered=n_items - max_missing,
        groups=groups,
        risk_columns=np.array([j for j, _ in risk], dtype=np.intp),
        risk_thresholds=np.array([t for _, t in risk], dtype=np.float64),
    )


def score(
    instrument: Instrument,
    answers: pd.DataFrame | npt.ArrayLike,
    *,
    scales: Sequence[str] | None = None,
    row_offset: int = 0,
) -> Scores:
    """Score every row of ``answers``.

    Parameters
    ----------
    instrument
        The definition to score with.
    answers
        A DataFrame with columns ``item_1 … item_k`` (other columns are ignored; an ``item_``
        column the instrument does not have is refused) or an ``n × k`` numeric array.
        Missing answers are NaN (or empty cells).
    scales
        Score only these scales (default: all).
    row_offset
        Added to row numbers in error messages, for callers that score a file in chunks.

    Raises
    ------
    AnswerError
        Naming the row (1-based), the column, the value and the allowed values.
    """
    matrix = as_answer_matrix(instrument, answers, row_offset=row_offset)
    plan = _plan(instrument, scales)
    n, s = matrix.shape[0], len(plan.scales)
    values = np.empty((s, n))
    answered = np.empty((s, n), dtype=np.int16)
    risk = np.zeros((n, len(plan.risk_columns)), dtype=bool) if len(plan.risk_columns) else None
    risk_unanswered = None if risk is None else np.zeros_like(risk)
    weights_t = np.ascontiguousarray(plan.weights.T)
    complete_constant = plan.reversal.sum(axis=0)[:, None]
    reverses = bool(complete_constant.any())
    rows = min(n, CHUNK_ROWS)
    raw_buf = np.empty((s + 1, rows))
    count_buf = np.empty((s, rows))
    check = _Checker(rows, len(instrument.items))

    # The products are tiny (k items × s scales per row): BLAS threads only wait on each other,
    # badly so when the other cores are busy, so large inputs run them on one thread.
    limit = threadpool_limits(limits=1, user_api="blas") if n > CHUNK_ROWS else nullcontext()
    with limit:
        for start in range(0, n, CHUNK_ROWS):
            chunk = matrix[start : start + CHUNK_ROWS]
            m = len(chunk)
            stop = start + m
            # One product gives every scale total (one row per scale) and, in the last row, a row
            # sum that is NaN exactly where a row has an unanswered item; only those rows need
            # more work.
            raw = np.matmul(weights_t, chunk.T, out=raw_buf[:, :m])
            totals = raw[:s]
            if reverses:
                totals += complete_constant
            incomplete = np.flatnonzero(np.isnan(raw[s]))
            counts: FloatArray | None = None
            nan_cells = 0
            if incomplete.size:
                part = chunk[incomplete]
                gaps = np.isnan(part)
                nan_cells = int(np.count_nonzero(gaps))
                present = (~gaps).astype(np.float64)
                totals[:, incomplete] = (np.where(gaps, 0.0, part) @ plan.weights[:, :s]).T
                totals[:, incomplete] += (present @ plan.reversal).T
                counts = count_buf[:, :m]
                counts[:] = plan.n_items[:, None]
                counts[:, incomplete] = (present @ plan.membership).T
            check(chunk, nan_cells, plan, instrument.item_ids, row_offset + start)
            _apply_operations(plan, totals, counts, out=values[:, start:stop])
            if counts is None:
                answered[:, start:stop] = plan.n_items[:, None]
            else:
                answered[:, start:stop] = counts
            if risk is not None and risk_unanswered is not None:
                with np.errstate(invalid="ignore"):
                    risk[start:stop] = chunk[:, plan.risk_columns] >= plan.risk_thresholds
                risk_unanswered[start:stop] = np.isnan(chunk[:, plan.risk_columns])

    results: dict[str, ScaleScores] = {}
    for c, scale in enumerate(plan.scales):
        band = None
        if scale.bands is not None:
            mins = np.array([b.min for b in scale.bands.bands])
            band = (np.searchsorted(mins, values[c], side="right") - 1).astype(np.int8)
            band[np.isnan(values[c])] = -1
        results[scale.id] = ScaleScores(
            scale=scale,
            values=values[c],
            answered=answered[c],
            n_items=int(plan.n_items[c]),
            band=band,
        )
    return Scores(
        instrument=instrument,
        n_rows=n,
        scales=results,
        refused=plan.refused,
        risk=risk,
        risk_unanswered=risk_unanswered,
    )


def _apply_operations(
    plan: _Plan, totals: FloatArray, counts: FloatArray | None, *, out: FloatArray
) -> None:
    """Write each scale's named operation into ``out`` (scales × rows); NaN where fewer than
    ``min_answered`` items were given. ``counts`` is None when every row is complete. A row
    with no answer gives 0 / 0 (NaN, then refused by its rule); nothing else divides by zero,
    since a total counts only answered items."""
    with np.errstate(invalid="ignore"):
        for c, scale in enumerate(plan.scales):
            t, target = totals[c], out[c]
            n_items = plan.n_items[c]
            match scale.operation.name:
                case "sum":
                    np.copyto(target, t)
                case "mean":
                    np.divide(t, n_items, out=target)
                case "prorated_sum" if counts is not None:
                    np.divide(t * n_items, counts[c], out=target)
                case "prorated_mean" if counts is not None:
                    np.divide(t, counts[c], out=target)
                case "prorated_sum":
                    np.copyto(target, t)
                case "prorated_mean":
                    np.divide(t, n_items, out=target)
            if scale.operation.round is not None:
                target[:] = _round_half_away(target, scale.operation.round)
            if counts is not None:
                target[counts[c] < plan.min_answered[c]] = np.nan


def _round_half_away(v: FloatArray, decimals: int) -> FloatArray:
    scale = 10.0**decimals
    return np.asarray(np.sign(v) * np.floor(np.abs(v) * scale + 0.5) / scale)


class _Checker:
    """Validates chunks of answers, reusing its buffers from one chunk to the next.

    The common case costs a few passes over the chunk: the smallest and largest value
    (NaN ignored) and, for options, a count of cells that differ from their rounded value,
    which must equal the number of unanswered cells (NaN never equals itself). Only when that
    fails are the bad cells located, to name the first one.
    """

    def __init__(self, rows: int, columns: int) -> None:
        self._rounded = np.empty((rows, columns))
        self._differs = np.empty((rows, columns), dtype=bool)

    def __call__(
        self,
        chunk: FloatArray,
        nan_cells: int,
        plan: _Plan,
        item_ids: tuple[str, ...],
        first_row: int,
    ) -> None:
        if not self._fine(chunk, nan_cells, plan):
            _raise_first_bad(chunk, plan, item_ids, first_row)

    def _fine(self, chunk: FloatArray, nan_cells: int, plan: _Plan) -> bool:
        for group in plan.groups:
            sub = chunk if group.whole else chunk[:, group.columns]
            flat = sub.reshape(-1)
            if flat.size == 0:
                continue
            if np.fmin.reduce(flat) < group.fmt.low or np.fmax.reduce(flat) > group.fmt.high:
                return False
            if isinstance(group.fmt, OptionsFormat):
                if not group.fmt.contiguous:
                    return False  # rare: the exact check decides
                if group.whole:
                    m = len(sub)
                    rounded = np.rint(sub, out=self._rounded[:m])
                    differs = np.not_equal(rounded, sub, out=self._differs[:m])
                    group_nans = nan_cells
                else:
                    differs = np.rint(sub) != sub
                    group_nans = int(np.count_nonzero(np.isnan(sub)))
                if np.count_nonzero(differs) != group_nans:
                    return False
        return True


def _raise_first_bad(
    chunk: FloatArray, plan: _Plan, item_ids: tuple[str, ...], first_row: int
) -> None:
    """Raise :class:`AnswerError` for the first bad value in the chunk (row-major order)."""
    bad = np.zeros(chunk.shape, dtype=bool)
    for group in plan.groups:
        bad[:, group.columns] = _bad_cells(chunk[:, group.columns], group.fmt)
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    r, c = int(rows[0]), int(cols[0])
    value = chunk[r, c]
    fmt = next(g.fmt for g in plan.groups if c in g.columns)
    problem = "value out of range:" if not fmt.low <= value <= fmt.high else "not an allowed value:"
    more = int(bad.sum()) - 1
    if more:
        problem = f"({more} more bad value{'s' if more > 1 else ''} after this) {problem}"
    raise AnswerError(
        problem, row=first_row + r + 1, column=item_ids[c], value=value, allowed=fmt.describe()
    )


def _bad_cells(sub: FloatArray, fmt: OptionsFormat | VisualAnalogueFormat) -> BoolArray:
    with np.errstate(invalid="ignore"):
        if isinstance(fmt, VisualAnalogueFormat):
            ok = (sub >= fmt.low) & (sub <= fmt.high)
        else:
            ok = np.isin(sub, [o.value for o in fmt.options])
    return np.asarray(~np.isnan(sub) & ~ok)


def score_answers(instrument: Instrument, answers: Mapping[str, float | int | None]) -> Scores:
    """Score one administration given as ``{"item_1": 4, …}`` (absent or None = unanswered)."""
    unknown = [key for key in answers if key not in instrument.item_ids]
    if unknown:
        raise AnswerError(
            f"unknown item {unknown[0]}; {instrument.id} has items "
            f"item_1 … item_{len(instrument.items)}",
            column=unknown[0],
        )
    row: list[float] = []
    for item_id in instrument.item_ids:
        value = answers.get(item_id)
        if value is None:
            row.append(np.nan)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            fmt = instrument.format_of(instrument.items[instrument.item_ids.index(item_id)])
            raise AnswerError(
                "wrong type: not a number:", column=item_id, value=value, allowed=fmt.describe()
            )
        else:
            row.append(float(value))
    return score(instrument, np.array([row], dtype=np.float64))


__all__ = [
    "MISSING_TEXT",
    "SCORING_VERSION",
    "AnswerError",
    "ScaleScores",
    "Scores",
    "as_answer_matrix",
    "score",
    "score_answers",
]
