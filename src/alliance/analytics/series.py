"""Each client's ratings in session order, with the running baseline, computed once.

:func:`order_series` sorts a tidy score table into **series** — one client's episode on one
instrument, scale, perspective and stance — and precomputes, for every rating, its position
in the series, the previous rating and the session it came from (so a missed session shows as
a gap, not as a missing row), and the direction of the scale (``higher_is``, from the
instrument definition). Every detector then works on these arrays with whole-array numpy
operations, never a Python loop over clients.

The **running baseline** of a rating is the mean and spread (standard deviation, n − 1) of the
same client's *earlier* ratings in the series, optionally only the last ``window`` of them.
It is computed with segmented cumulative sums of values shifted by each series' first value
(which keeps the sums small and the subtraction exact enough for bounded rating scales);
checked against a pandas ``groupby().expanding()`` computation in
``tests/analytics/test_series.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alliance.analytics.goal_scale import PROGRESS, goal_progress_definition, is_goal_scale
from alliance.analytics.tidy import REPORTED_RUPTURE_SCALE, RISK_SCALES, check_tidy
from alliance.instruments.model import Instrument, Scale
from alliance.instruments.registry import Registry, builtin_registry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

META_COLUMNS = ("client", "episode", "session", "date", "instrument", "scale", "perspective")


@dataclass(frozen=True)
class SeriesKey:
    """What a series measures: instrument, scale, perspective, stance, and its direction."""

    instrument: str
    scale: str
    perspective: str
    stance: str
    definition: Instrument
    scale_definition: Scale | None  # None for the pseudo-scales (risk…, rupture_reported)

    @property
    def kind(self) -> Literal["alliance", "outcome"]:
        return self.definition.kind

    @property
    def sign(self) -> float:
        """+1 when higher is better, −1 when higher is worse, 0 for pseudo-scales."""
        if self.scale_definition is None:
            return 0.0
        return 1.0 if self.scale_definition.higher_is == "better" else -1.0


@dataclass(frozen=True)
class Baseline:
    """Running baseline of each rating: how many earlier ratings, their mean and SD."""

    n: IntArray
    mean: FloatArray
    sd: FloatArray


@dataclass(eq=False)
class Ordered:
    """A tidy score table sorted into series, with per-rating arrays in that order.

    ``order[i]`` is the position in ``source`` of the i-th rating in series order.
    """

    source: pd.DataFrame
    order: IntArray
    keys: tuple[SeriesKey, ...]
    key: IntArray  # series key (index into keys) per rating
    group: IntArray  # series (client × episode × key) per rating, 0 … n_groups − 1
    start: IntArray  # index of the first rating of the rating's series
    score: FloatArray
    session: IntArray
    client_code: IntArray  # client (sorted codes, shared by every series) per rating
    episode_code: IntArray
    client_labels: npt.NDArray[np.object_]
    episode_labels: npt.NDArray[np.object_]
    _baselines: dict[int | None, Baseline] = field(default_factory=dict)
    _columns: dict[str, tuple[IntArray, npt.NDArray[np.object_]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.score)

    @property
    def n_groups(self) -> int:
        return int(self.group[-1]) + 1 if len(self.group) else 0

    @cached_property
    def position(self) -> IntArray:
        """0-based position of each rating in its series (= number of earlier ratings)."""
        return np.arange(len(self.score), dtype=np.int64) - self.start

    @cached_property
    def first(self) -> BoolArray:
        return np.asarray(self.position == 0)

    @cached_property
    def previous_score(self) -> FloatArray:
        prev = np.empty_like(self.score)
        if len(prev):
            prev[0] = np.nan
            prev[1:] = self.score[:-1]
            prev[self.first] = np.nan
        return prev

    @cached_property
    def previous_session(self) -> FloatArray:
        prev = np.empty(len(self.session), dtype=np.float64)
        if len(prev):
            prev[0] = np.nan
            prev[1:] = self.session[:-1]
            prev[self.first] = np.nan
        return prev

    @cached_property
    def sign(self) -> FloatArray:
        """Per rating: +1 when higher is better, −1 when worse, 0 for pseudo-scales."""
        signs = np.array([k.sign for k in self.keys], dtype=np.float64)
        return signs[self.key] if len(self.keys) else np.zeros(0)

    def select(
        self,
        *,
        instrument: str | None = None,
        scale: str | None = None,
        perspective: str | None = None,
        stance: str | None = "self",
        kind: str | None = None,
    ) -> BoolArray:
        """Ratings whose series matches every given criterion (None matches anything)."""
        wanted = [
            i
            for i, k in enumerate(self.keys)
            if (instrument is None or k.instrument == instrument)
            and (scale is None or k.scale == scale)
            and (perspective is None or k.perspective == perspective)
            and (stance is None or k.stance == stance)
            and (kind is None or k.kind == kind)
        ]
        table = np.zeros(len(self.keys), dtype=bool)
        table[wanted] = True
        selected: BoolArray = table[self.key] if len(self.keys) else np.zeros(0, dtype=bool)
        return selected

    def watched(self, instrument: str | None, scale: str, perspective: str, kind: str) -> BoolArray:
        """The ratings a rule watches: the named instrument's scale, or that scale of every
        instrument of ``kind`` (``alliance`` or ``outcome``) when no instrument is named."""
        return self.select(
            instrument=instrument,
            scale=scale,
            perspective=perspective,
            kind=None if instrument else kind,
        )

    def baseline(self, window: int | None = None) -> Baseline:
        """Mean and SD (n − 1) of each rating's earlier ratings in its series (the last
        ``window`` of them when given). NaN where there are too few (mean: 0, SD: < 2)."""
        if window in self._baselines:
            return self._baselines[window]
        x = self.score - self.score[self.start] if len(self.score) else self.score
        cs = np.concatenate(([0.0], np.cumsum(x)))
        cs2 = np.concatenate(([0.0], np.cumsum(x * x)))
        idx = np.arange(len(x), dtype=np.int64)
        lo = self.start if window is None else np.maximum(self.start, idx - window)
        n = idx - lo
        total = cs[idx] - cs[lo]
        squares = cs2[idx] - cs2[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_shifted = total / n
            var = (squares - total * mean_shifted) / (n - 1)
        var = np.where(n >= 2, np.maximum(var, 0.0), np.nan)
        mean = np.where(n >= 1, mean_shifted + self.score[self.start], np.nan)
        result = Baseline(n=n, mean=mean, sd=np.sqrt(var))
        self._baselines[window] = result
        return result

    @cached_property
    def series_sd(self) -> FloatArray:
        """Per series: SD (n − 1) of all its ratings; NaN with fewer than 3 ratings."""
        g = self.group
        x = self.score - self.score[self.start] if len(self.score) else self.score
        n = np.bincount(g, minlength=self.n_groups).astype(np.float64)
        s = np.bincount(g, weights=x, minlength=self.n_groups)
        s2 = np.bincount(g, weights=x * x, minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (s2 - s * s / n) / (n - 1)
        return np.asarray(np.where(n >= 3, np.sqrt(np.maximum(var, 0.0)), np.nan))

    @cached_property
    def typical_spread(self) -> FloatArray:
        """Per rating: the median, over the clients rated on the same series key, of each
        client's own SD — the sample's typical session-to-session spread."""
        group_key = self.key[self.start[np.flatnonzero(self.first)]]
        sd = self.series_sd
        medians = np.full(len(self.keys), np.nan)
        for k in range(len(self.keys)):
            values = sd[(group_key == k) & ~np.isnan(sd)]
            if len(values):
                medians[k] = float(np.median(values))
        return medians[self.key] if len(self.keys) else np.zeros(0)

    def typical_spreads(self) -> dict[tuple[str, str, str, str], float]:
        """The typical spread per series key ``(instrument, scale, perspective, stance)``,
        to reuse as the reference of another analysis (see :meth:`use_reference_spreads`)."""
        per_key = np.full(len(self.keys), np.nan)
        spread = self.typical_spread
        for k in range(len(self.keys)):
            values = spread[self.key == k]
            if len(values) and not np.isnan(values[0]):
                per_key[k] = values[0]
        return {
            (k.instrument, k.scale, k.perspective, k.stance): float(per_key[i])
            for i, k in enumerate(self.keys)
            if not np.isnan(per_key[i])
        }

    def use_reference_spreads(self, spreads: dict[tuple[str, str, str, str], float]) -> None:
        """Take the typical spread from a reference sample (for example the clinic's whole
        history, when one client is analysed alone) for the series keys it has; the others
        keep this sample's own."""
        own = self.typical_spread
        reference = np.array(
            [
                spreads.get((k.instrument, k.scale, k.perspective, k.stance), np.nan)
                for k in self.keys
            ],
            dtype=np.float64,
        )
        if len(self.keys):
            chosen = reference[self.key]
            self.__dict__["typical_spread"] = np.where(np.isnan(chosen), own, chosen)

    @cached_property
    def visit(self) -> IntArray:
        """Per rating: one integer for its client, episode and session (the same in every
        series), for matching ratings of different series from the same session."""
        top_session = int(self.session.max()) + 1 if len(self.session) else 1
        top_episode = int(self.episode_code.max()) + 1 if len(self.episode_code) else 1
        return (self.client_code * top_episode + self.episode_code) * top_session + self.session

    def _coded(self, column: str) -> tuple[IntArray, npt.NDArray[np.object_]]:
        """A source column as codes in series order and its distinct values (plus None)."""
        if column not in self._columns:
            codes, uniques = pd.factorize(self.source[column])
            labels = np.empty(len(uniques) + 1, dtype=object)  # the last is for missing
            labels[:-1] = np.asarray(uniques, dtype=object)
            codes = np.where(codes < 0, len(labels) - 1, codes)
            self._columns[column] = (codes[self.order].astype(np.int64), labels)
        return self._columns[column]

    def _key_attribute(self, name: str) -> npt.NDArray[np.object_]:
        return np.array([getattr(k, name) for k in self.keys], dtype=object)

    def meta(self, rows: IntArray) -> pd.DataFrame:
        """The identifying columns of the given ratings (positions in series order)."""
        # keep text as numpy objects: inferring a string dtype for every signal costs time
        return pd.DataFrame(
            {
                name: pd.Series(values, dtype=object if name != "session" else np.int64)
                for name, values in self.meta_columns(rows).items()
            },
            copy=False,
        )

    def meta_columns(self, rows: IntArray) -> dict[str, npt.NDArray[Any]]:
        """:meth:`meta` as plain arrays, for callers that build one frame of many columns."""
        key = self.key[rows]
        columns: dict[str, Any] = {
            "client": self.client_labels[self.client_code[rows]],
            "episode": self.episode_labels[self.episode_code[rows]],
            "session": self.session[rows],
        }
        if "date" in self.source.columns:
            codes, labels = self._coded("date")
            columns["date"] = labels[codes[rows]]
        for name in ("instrument", "scale", "perspective"):
            columns[name] = self._key_attribute(name)[key] if len(self.keys) else key
        if "clinician" in self.source.columns:
            codes, labels = self._coded("clinician")
            columns["clinician"] = labels[codes[rows]]
        else:
            columns["clinician"] = np.full(len(rows), None, dtype=object)
        return {name: np.asarray(values) for name, values in columns.items()}


def order_series(tidy: pd.DataFrame, *, registry: Registry | None = None) -> Ordered:
    """Check a tidy score table and sort it into series (see the module docstring).

    Raises
    ------
    ValueError
        For an unknown instrument or scale, or a client rated twice in one session on the
        same instrument, scale, perspective and stance.
    """
    tidy = check_tidy(tidy)
    registry = registry or builtin_registry()
    has_version = "version" in tidy.columns
    key_columns = ["instrument", "scale", "perspective", "stance"]
    if has_version:
        key_columns.insert(1, "version")
    key_codes, key_table = _factorize_rows(tidy, key_columns)
    keys = tuple(
        _series_key(row, registry, has_version) for row in key_table.itertuples(index=False)
    )
    client, client_labels = pd.factorize(tidy["client"], sort=True)
    episode, episode_labels = pd.factorize(tidy["episode"], sort=True)
    session = tidy["session"].to_numpy(dtype=np.int64)
    order = np.lexsort((session, episode, client, key_codes)).astype(np.int64)
    k, c, e, s = key_codes[order], client[order], episode[order], session[order]
    n = len(order)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (k[1:] != k[:-1]) | (c[1:] != c[:-1]) | (e[1:] != e[:-1])
        repeated = ~new[1:] & (s[1:] == s[:-1])
        if repeated.any():
            row = int(order[int(np.flatnonzero(repeated)[0]) + 1])
            r = tidy.iloc[row]
            raise ValueError(
                f"client {r['client']} episode {r['episode']} session {r['session']} has two "
                f"{r['instrument']} {r['scale']} scores from perspective {r['perspective']} "
                f"({r['stance']}); keep one rating per session"
            )
    group = np.cumsum(new, dtype=np.int64) - 1
    starts = np.flatnonzero(new)
    return Ordered(
        source=tidy,
        order=order,
        keys=keys,
        key=k.astype(np.int64),
        group=group,
        start=starts[group].astype(np.int64),
        score=tidy["score"].to_numpy(dtype=np.float64)[order],
        session=s,
        client_code=c.astype(np.int64),
        episode_code=e.astype(np.int64),
        client_labels=np.asarray(client_labels, dtype=object),
        episode_labels=np.asarray(episode_labels, dtype=object),
    )


def _factorize_rows(frame: pd.DataFrame, columns: list[str]) -> tuple[IntArray, pd.DataFrame]:
    """Integer code per row for the combination of ``columns``, and the table of combinations."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        c, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + c
    combined, first_rows = np.unique(codes, return_index=True)
    table = frame[columns].iloc[first_rows].reset_index(drop=True)
    return np.searchsorted(combined, codes).astype(np.int64), table


def _series_key(row: tuple[object, ...], registry: Registry, has_version: bool) -> SeriesKey:
    if has_version:
        instrument_id, version, scale_id, perspective, stance = (str(v) for v in row)
    else:
        instrument_id, scale_id, perspective, stance = (str(v) for v in row)
        version = None
    if is_goal_scale(instrument_id, scale_id):  # a goal's progress (analytics/goal_scale.py)
        definition = goal_progress_definition()
        return SeriesKey(instrument_id, scale_id, perspective, stance, definition,
                         definition.scale(PROGRESS))  # fmt: skip
    try:
        definition = registry.get(instrument_id, version)
    except KeyError as exc:
        raise ValueError(f"column instrument: {exc.args[0]}") from None
    scale_definition: Scale | None = None
    if scale_id not in _PSEUDO_SCALES:
        try:
            scale_definition = definition.scale(scale_id)
        except KeyError as exc:
            raise ValueError(f"column scale: {exc.args[0]}") from None
    return SeriesKey(
        instrument=instrument_id,
        scale=scale_id,
        perspective=perspective,
        stance=stance,
        definition=definition,
        scale_definition=scale_definition,
    )


_PSEUDO_SCALES = frozenset({*RISK_SCALES, REPORTED_RUPTURE_SCALE})


def running_baseline(tidy: pd.DataFrame, *, window: int | None = None) -> pd.DataFrame:
    """The tidy table in series order with ``previous``, ``previous_session``, ``baseline_n``,
    ``baseline_mean`` and ``baseline_sd`` (of the client's earlier ratings in the series)."""
    ordered = order_series(tidy)
    base = ordered.baseline(window)
    out = ordered.source.iloc[ordered.order].reset_index(drop=True)
    return out.assign(
        previous=ordered.previous_score,
        previous_session=ordered.previous_session,
        baseline_n=base.n,
        baseline_mean=base.mean,
        baseline_sd=base.sd,
    )
