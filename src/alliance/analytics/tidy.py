"""The tidy long score table: checking it, and making it from wide administrations.

A tidy table has one row per administration and scale (``alliance.records``): ``client,
episode, session, instrument, perspective, scale, score`` are required; ``date``, ``stance``
(``self`` unless given), ``clinician``, ``version`` and ``administration`` are optional.

Two pseudo-scales carry what the analytics needs beyond scale scores:

- ``risk`` (:data:`RISK_SCALE`): 1.0 when the administration's risk item was answered at or
  above its risk threshold, else 0.0 — taken from the scorer's ``Scores.any_risk``, never
  recomputed here.
- ``risk_unanswered`` (:data:`RISK_UNANSWERED_SCALE`): 1.0 for an administration whose risk
  item was left empty (and no risk item answered at or above its threshold) — an empty answer
  is not a no (``Scores.any_risk_unanswered``); only such administrations get the row.
- ``rupture_reported`` (:data:`REPORTED_RUPTURE_SCALE`): 1.0 when the rater reported a
  rupture in the session (a yes/no question beside the rating), else 0.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.instruments.model import PERSPECTIVES, Instrument
from alliance.instruments.scoring import score
from alliance.records import ADMINISTRATION_COLUMNS, STANCES, TIDY_OPTIONAL_COLUMNS

RISK_SCALE = "risk"
RISK_UNANSWERED_SCALE = "risk_unanswered"
RISK_SCALES = (RISK_SCALE, RISK_UNANSWERED_SCALE)
REPORTED_RUPTURE_SCALE = "rupture_reported"
REPORTED_RUPTURE_COLUMN = "rupture_reported"
"""Optional column of a wide administration table: did the rater notice a rupture?"""

REQUIRED_COLUMNS = ("client", "episode", "session", "instrument", "perspective", "scale", "score")
KEEP_COLUMNS = ("date", *TIDY_OPTIONAL_COLUMNS)


def check_tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a tidy score table and return it with ``stance`` filled in (``self``).

    Raises
    ------
    ValueError
        Naming the missing column, or the column, row (0-based position) and value that is
        not allowed, with the allowed values.
    TypeError
        When ``frame`` is not a DataFrame.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of tidy scores, got {type(frame).__name__}")
    absent = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(
            f"tidy scores need the columns {', '.join(REQUIRED_COLUMNS)}; "
            f"missing: {', '.join(absent)}"
        )
    session = frame["session"]
    if not pd.api.types.is_integer_dtype(session.dtype):
        numbers = pd.to_numeric(session, errors="coerce")
        bad = numbers.isna() | (numbers % 1 != 0)
        if bad.any():
            _refuse(frame, "session", bad, "whole session numbers 1, 2, 3, …")
        frame = frame.assign(session=numbers.astype(np.int64))
    low = frame["session"] < 1
    if low.any():
        _refuse(frame, "session", low, "whole session numbers 1, 2, 3, …")
    if not pd.api.types.is_numeric_dtype(frame["score"].dtype) or pd.api.types.is_bool_dtype(
        frame["score"].dtype
    ):
        numbers = pd.to_numeric(frame["score"], errors="coerce")
        bad = numbers.isna() & frame["score"].notna()
        if bad.any():
            _refuse(frame, "score", bad, "numbers (empty for no score)")
        frame = frame.assign(score=numbers.astype(np.float64))
    perspective = frame["perspective"]
    bad = ~perspective.isin(PERSPECTIVES)
    if bad.any():
        _refuse(frame, "perspective", bad, ", ".join(PERSPECTIVES))
    if "stance" in frame.columns:
        stance = frame["stance"].fillna("self")
        bad = ~stance.isin(STANCES)
        if bad.any():
            _refuse(frame, "stance", bad, ", ".join(STANCES))
        frame = frame.assign(stance=stance)
    else:
        frame = frame.assign(stance="self")
    return frame


def _refuse(frame: pd.DataFrame, column: str, bad: pd.Series, allowed: str) -> None:
    position = int(np.flatnonzero(bad.to_numpy())[0])
    value = frame[column].iloc[position]
    raise ValueError(
        f"row {position}: column {column}: {value!r} is not allowed; allowed: {allowed} "
        f"({int(bad.sum())} row(s) affected)"
    )


def tidy_scores(
    administrations: pd.DataFrame, instrument: Instrument, *, scales: list[str] | None = None
) -> pd.DataFrame:
    """Score wide administrations (``item_1 … item_k`` plus ``ADMINISTRATION_COLUMNS``) and
    return them as tidy scores, one row per administration and scored scale, plus a
    :data:`RISK_SCALE` row per administration when the instrument has risk items, a
    :data:`RISK_UNANSWERED_SCALE` row where a risk item was left empty (and none answered at
    or above its threshold), and a :data:`REPORTED_RUPTURE_SCALE` row where the
    ``rupture_reported`` column is filled.

    Scores come from :func:`alliance.instruments.scoring.score`; a scale left empty by its
    missing-data rule gives no row (it is treated like a missed rating).
    """
    for column in ("client", "episode", "session"):
        if column not in administrations.columns:
            raise ValueError(f"administrations need a column {column!r}")
    result = score(instrument, administrations, scales=scales)
    meta_columns = [
        c for c in ADMINISTRATION_COLUMNS if c in administrations.columns and c != "instrument"
    ]
    meta = administrations[meta_columns].reset_index(drop=True)
    if "perspective" not in meta.columns:
        meta["perspective"] = "client"
    if "stance" not in meta.columns:
        meta["stance"] = "self"
    meta["instrument"] = instrument.id
    if "version" not in meta.columns:
        meta["version"] = instrument.version
    parts: list[pd.DataFrame] = []
    for scale_id, scale_scores in result.scales.items():
        values = scale_scores.values
        keep = ~np.isnan(values)
        parts.append(meta[keep].assign(scale=scale_id, score=values[keep]))
    if instrument.risk_items:
        parts.append(meta.assign(scale=RISK_SCALE, score=result.any_risk.astype(np.float64)))
        empty = result.any_risk_unanswered & ~result.any_risk
        if empty.any():
            parts.append(meta[empty].assign(scale=RISK_UNANSWERED_SCALE, score=1.0))
    if REPORTED_RUPTURE_COLUMN in administrations.columns:
        reported = _yes_no(administrations[REPORTED_RUPTURE_COLUMN].reset_index(drop=True))
        keep = reported.notna().to_numpy()
        parts.append(
            meta[keep].assign(
                scale=REPORTED_RUPTURE_SCALE, score=reported[keep].astype(np.float64).to_numpy()
            )
        )
    columns = [
        "client",
        "episode",
        "session",
        *[c for c in ("date",) if c in meta.columns],
        "instrument",
        "perspective",
        "scale",
        "score",
        *[c for c in TIDY_OPTIONAL_COLUMNS if c in meta.columns],
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    tidy = pd.concat(parts, ignore_index=True)
    return tidy[columns]


def one_risk_row_per_rating(tidy: pd.DataFrame) -> pd.DataFrame:
    """Collapse the risk pseudo-scale rows that share a rating (client, episode, session,
    instrument, perspective, stance) into one: a risk answer in any of them wins, and a risk
    item left empty counts only where none was answered at or above its threshold. Used when
    several rows claim to be one rating and none can be trusted as a score, so that no risk
    answer among them is lost. Other rows are returned unchanged."""
    is_risk = tidy["scale"].isin(RISK_SCALES).to_numpy()
    if not is_risk.any():
        return tidy
    key = [c for c in ("client", "episode", "session", "instrument", "perspective", "stance")
           if c in tidy.columns]  # fmt: skip
    risk = tidy[is_risk]
    merged = risk.sort_values("score", ascending=False, kind="stable").drop_duplicates(
        [*key, "scale"]
    )
    answered = merged[merged["scale"] == RISK_SCALE]
    flagged = set(answered.loc[answered["score"] >= 1, key].itertuples(index=False, name=None))
    unanswered = (merged["scale"] == RISK_UNANSWERED_SCALE).to_numpy() & np.array(
        [row in flagged for row in merged[key].itertuples(index=False, name=None)], dtype=bool
    )
    merged = merged[~unanswered]
    combined: pd.DataFrame = pd.concat([tidy[~is_risk], merged], ignore_index=True)
    return combined


_YES = {"1", "true", "yes", "y", "t"}
_NO = {"0", "false", "no", "n", "f"}


def _yes_no(column: pd.Series) -> pd.Series:
    """A yes/no column as floats 1.0 / 0.0, NaN where empty; anything else is refused."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("float64")
    text = column.astype("string").str.strip().str.lower()
    out = pd.Series(np.nan, index=column.index, dtype="float64")
    out[text.isin(_YES).fillna(False).to_numpy(dtype=bool)] = 1.0
    out[text.isin(_NO).fillna(False).to_numpy(dtype=bool)] = 0.0
    bad = out.isna() & text.notna() & (text != "")
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"row {position}: column {REPORTED_RUPTURE_COLUMN}: {column.iloc[position]!r} is not "
            "allowed; allowed: yes/no, true/false, 1/0 or empty"
        )
    return out
