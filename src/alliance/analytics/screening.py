"""Rows of an input table that cannot be taken as given, found before the analysis.

A file of ratings may hold the same rating twice (a row copied, an export appended to
another), two ratings that claim to be the same one but disagree, or session dates that run
backwards against the session numbers. None of these should stop the analysis of every other
client, and none should pass silently. :func:`repeated_ratings` and
:func:`dates_out_of_order` find them and describe each affected row; the caller analyses the
rest and writes the problems beside its outputs.

The rules, the project's own [DERIVED]:

- rows with the same rating key (``client, episode, session`` and whatever else names one
  rating: perspective and stance, or instrument and scale) and the same content in every
  column are **repeats**: the first is analysed, the others are left out;
- rows with the same key and different content **contradict** each other: the file cannot
  say which is right, so none of them is analysed as a rating. A caller must still take any
  risk answer from them (see ``alliance.analytics.tidy.one_risk_row_per_rating``): nothing
  hides a risk answer;
- a session dated before an earlier-numbered session of the same episode is **out of
  order**: it is reported and analysed in session-number order, its date shown as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

BoolArray = npt.NDArray[np.bool_]

PROBLEM_COLUMNS = ("row", "client", "episode", "session", "problem", "action")
"""One row per reported input row: its 1-based data row (the header is not counted), where
it belongs, what is wrong and what the analysis did with it."""


@dataclass(frozen=True)
class Screened:
    """Which rows to analyse, which contradict others, and one problem per reported row."""

    keep: BoolArray
    contradicted: BoolArray
    problems: pd.DataFrame


def _problems(
    frame: pd.DataFrame, positions: list[int], rows: npt.NDArray[np.int64], texts: list[str],
    actions: list[str],
) -> pd.DataFrame:  # fmt: skip
    picked = frame.iloc[positions]
    return pd.DataFrame(
        {
            "row": rows[positions].astype(np.int64),
            "client": picked["client"].astype(str).to_numpy(),
            "episode": picked["episode"].astype(str).to_numpy(),
            "session": picked["session"].to_numpy(),
            "problem": texts,
            "action": actions,
        },
        columns=list(PROBLEM_COLUMNS),
    )


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})


def _describe(frame: pd.DataFrame, key: Sequence[str], position: int) -> str:
    extra = [str(frame[c].iloc[position]) for c in key if c not in ("client", "episode", "session")]
    return f" ({', '.join(extra)})" if extra else ""


def repeated_ratings(
    frame: pd.DataFrame, *, key: Sequence[str], rows: npt.ArrayLike | None = None
) -> Screened:
    """Rows that repeat or contradict another row with the same rating ``key``.

    ``rows`` are the row numbers to report (default: 1-based positions). Repeats after the
    first are left out; every row of a contradicting group is left out and marked
    ``contradicted``. Content is compared over every column, missing equal to missing.
    """
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise ValueError(f"the rating key needs the columns {', '.join(missing)}")
    n = len(frame)
    numbers = np.arange(1, n + 1, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    keep = np.ones(n, dtype=bool)
    contradicted = np.zeros(n, dtype=bool)
    shared = frame.duplicated(subset=list(key), keep=False).to_numpy()
    if not shared.any():
        return Screened(keep, contradicted, empty_problems())
    content = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False)
    group = frame.reset_index(drop=True).groupby(list(key), sort=False, dropna=False).ngroup()
    positions, texts, actions = [], [], []
    for _, members in pd.Series(np.arange(n))[shared].groupby(group[shared].to_numpy()):
        at = members.to_numpy()
        where = _describe(frame, key, int(at[0]))
        if content.iloc[at].nunique() == 1:
            first = int(numbers[at[0]])
            for p in at[1:]:
                keep[p] = False
                positions.append(int(p))
                texts.append(f"repeats row {first}{where}: the same rating twice")
                actions.append(f"left out; row {first} is analysed")
            continue
        part = frame.iloc[at]
        differ = [str(c) for c in part.columns if part[c].nunique(dropna=False) > 1]
        listed = ", ".join(str(int(numbers[p])) for p in at)
        for p in at:
            keep[p] = False
            contradicted[p] = True
            positions.append(int(p))
            texts.append(
                f"rows {listed} claim to be the same rating{where} but differ in "
                f"{', '.join(differ)}"
            )
            actions.append("left out (none of them is analysed); a risk answer still counts")
    order = np.argsort(positions, kind="stable")
    problems = _problems(
        frame, [positions[i] for i in order], numbers, [texts[i] for i in order],
        [actions[i] for i in order],
    )  # fmt: skip
    return Screened(keep, contradicted, problems)


def dates_out_of_order(
    frame: pd.DataFrame, *, rows: npt.ArrayLike | None = None, date: str = "date"
) -> pd.DataFrame:
    """Rows dated before a session with a lower number in the same client's episode.

    Every row of a session counts (any perspective); rows without a date are not compared.
    Returns problems (:data:`PROBLEM_COLUMNS`), the rows staying in the analysis.
    """
    if date not in frame.columns or frame.empty:
        return empty_problems()
    n = len(frame)
    numbers = np.arange(1, n + 1, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    when = pd.to_datetime(frame[date], errors="coerce").reset_index(drop=True)
    table = pd.DataFrame(
        {
            "client": frame["client"].astype(str).to_numpy(),
            "episode": frame["episode"].astype(str).to_numpy(),
            "session": pd.to_numeric(frame["session"], errors="coerce").to_numpy(),
            "when": when,
        }
    ).dropna(subset=["session", "when"])
    if table.empty:
        return empty_problems()
    # the latest date of each session, then the latest of all earlier sessions of the episode
    per_session = table.groupby(["client", "episode", "session"], sort=True)["when"].max()
    latest = per_session.groupby(level=["client", "episode"]).cummax()
    earlier = latest.groupby(level=["client", "episode"]).shift(1)
    which = per_session.reset_index().assign(earlier=earlier.to_numpy(), latest=latest.to_numpy())
    # the session that set the earlier maximum, to name it
    which["setter"] = which["session"].where(which["when"] == which["latest"])
    which["setter"] = which.groupby(["client", "episode"])["setter"].ffill()
    which["before"] = which.groupby(["client", "episode"])["setter"].shift(1)
    merged = table.reset_index().merge(
        which[["client", "episode", "session", "earlier", "before"]],
        on=["client", "episode", "session"],
        how="left",
    )
    bad = merged[merged["when"] < merged["earlier"]].sort_values("index")
    if bad.empty:
        return empty_problems()
    positions = bad["index"].astype(int).tolist()
    texts = [
        f"session {int(s)} is dated {w.date()}, before session {int(b)} "
        f"({e.date()}): the dates contradict the session numbers"
        for s, w, b, e in zip(bad["session"], bad["when"], bad["before"], bad["earlier"],
                              strict=True)
    ]  # fmt: skip
    actions = ["analysed in session-number order; its date is shown as given"] * len(bad)
    return _problems(frame, positions, numbers, texts, actions)


def concat_problems(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Problems of several checks, in row order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_problems()
    return pd.concat(parts, ignore_index=True).sort_values("row", kind="stable", ignore_index=True)
