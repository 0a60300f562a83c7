"""The de-identified research export.

:class:`Deidentifier` turns the wide administrations table and the tidy scores table into
their research versions:

- client codes become study pseudonyms ``S-<16 hex>``, the HMAC-SHA256 of the code under a
  key: the service's secret of a study, a ``study_key`` the caller keeps, or else one drawn
  at random for this export only. Clinician codes, teams and administration ids become
  pseudonyms the same way (``T-…``, ``G-…``, ``A-…``). Pseudonyms hide codes; they do not
  stop linking: answers and scores are exported as given, so the rows of one client in two
  exports of overlapping records match on them whatever the pseudonyms. With a fixed key the
  same records give the same export, so a study's export taken again adds nothing to link.
  The summary's ``linking`` says all this;
- episodes become ``E1, E2, …`` per client in date order (an episode code may carry a name);
- dates are shifted by a per-client offset of 1 to ``max_shift_days`` days, earlier or later,
  never zero, so intervals within a client are kept but no exact date survives
  (``date_mode="shift"``); or replaced by ``day``, the days since the episode's first
  administration (``date_mode="days"``);
- every column that is not a known, non-identifying column is dropped (free-text notes,
  names, contact details, idempotency keys) and listed in the summary;
- cells with fewer than ``min_cell`` clients (default 5) are listed in the summary for each
  grouping in ``cells``, so the study can decide what to suppress before publishing.

The pseudonyms follow the keyed-hash pseudonymisation technique ([DERIVED] project choice of
HMAC-SHA256; the offset range is the site's choice, default half a year).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from alliance.interop.kanonymity import protect
from alliance.interop.wide import item_columns

DateMode = Literal["shift", "days"]
KEPT = (
    "administration",
    "client",
    "episode",
    "session",
    "date",
    "instrument",
    "version",
    "perspective",
    "stance",
    "clinician",
    "scale",
    "score",
    "event",
    "detail",
)
DEFAULT_CELLS: tuple[tuple[str, ...], ...] = (
    ("instrument",),
    ("instrument", "perspective"),
    ("clinician",),
    ("instrument", "session"),
)


@dataclass(frozen=True)
class SmallCell:
    """A combination of values held by fewer than ``min_cell`` clients."""

    columns: tuple[str, ...]
    values: tuple[str, ...]
    clients: int


ANSWERS_LINK = (
    "Answers and scores are exported as given: two exports holding the same ratings of a "
    "client match on them (the full answer vectors of a few sessions are unique to a client), "
    "so exports of overlapping records can be linked whatever their pseudonyms — across "
    "studies and keys too. Pseudonyms hide codes; they do not prevent this."
)
LINKING: dict[str, dict[str, str | bool]] = {
    "study": {
        "pseudonyms": "the study's own, from a secret the service keeps: the same in every "
        "export of this study, different in every other study",
        "same_records_same_export": True,
        "answers_link_exports": True,
        "answers": ANSWERS_LINK,
    },
    "key": {
        "pseudonyms": "from the study key given: the same in every export made with it",
        "same_records_same_export": True,
        "answers_link_exports": True,
        "answers": ANSWERS_LINK,
    },
    "random": {
        "pseudonyms": "drawn for this export only: another export of the same records has "
        "other pseudonyms and other date offsets",
        "same_records_same_export": False,
        "answers_link_exports": True,
        "answers": ANSWERS_LINK,
    },
}


@dataclass
class ExportSummary:
    """What a research export holds and what was done to it."""

    rows: dict[str, int] = field(default_factory=dict)
    clients: int = 0
    date_mode: DateMode = "shift"
    max_shift_days: int = 0
    keyed: Literal["study", "key", "random"] = "random"
    study: str | None = None
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    min_cell: int = 5
    small_cells: list[SmallCell] = field(default_factory=list)
    protection: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "rows": dict(self.rows),
            "clients": self.clients,
            "date_mode": self.date_mode,
            "max_shift_days": self.max_shift_days if self.date_mode == "shift" else None,
            "linking": LINKING[self.keyed],
            "dropped_columns": {k: list(v) for k, v in self.dropped_columns.items()},
            "min_cell": self.min_cell,
            "small_cells": [
                {"columns": list(c.columns), "values": list(c.values), "clients": c.clients}
                for c in self.small_cells
            ],
            "k_anonymity": dict(self.protection),
        }


class Deidentifier:
    """Fit on the administrations of one export, then transform each of its tables.

    Parameters (keyword-only, the whole configuration)
    ----------
    study_key
        A secret that makes pseudonyms and date offsets the same in every export made with
        it. None (default): a random key per export, so exports cannot be linked.
    date_mode
        ``"shift"`` (per-client offset) or ``"days"`` (days since the episode's start).
    max_shift_days
        Largest offset in days (``shift`` mode), at least 1.
    min_cell
        Cells with fewer clients than this are reported.
    cells
        Groupings of columns in which small cells are looked for.
    """

    def __init__(
        self,
        *,
        study_key: bytes | str | None = None,
        date_mode: DateMode = "shift",
        max_shift_days: int = 182,
        min_cell: int = 5,
        cells: Sequence[tuple[str, ...]] = DEFAULT_CELLS,
    ) -> None:
        self.study_key = study_key
        self.date_mode = date_mode
        self.max_shift_days = max_shift_days
        self.min_cell = min_cell
        self.cells = cells

    def _check(self) -> None:
        if self.date_mode not in ("shift", "days"):
            raise ValueError(f"date_mode must be 'shift' or 'days', got {self.date_mode!r}")
        if self.max_shift_days < 1:
            raise ValueError(f"max_shift_days must be at least 1, got {self.max_shift_days}")
        if self.min_cell < 1:
            raise ValueError(f"min_cell must be at least 1, got {self.min_cell}")
        if isinstance(self.study_key, str | bytes) and len(self.study_key) < 16:
            raise ValueError("study_key must be at least 16 characters (a secret, kept apart)")

    def _digest(self, kind: str, text: str) -> bytes:
        return hmac.new(self.key_, f"{kind}\x1f{text}".encode(), hashlib.sha256).digest()

    def pseudonym(self, kind: str, text: str) -> str:
        """``S-`` (client), ``T-`` (clinician) or ``A-`` (administration) and 16 hex digits."""
        prefix = {"client": "S", "clinician": "T", "administration": "A", "team": "G"}[kind]
        return f"{prefix}-{self._digest(kind, text)[:8].hex()}"

    def offset(self, client: str) -> int:
        """The client's date offset in days: ±1 … ±max_shift_days, never 0."""
        number = int.from_bytes(self._digest("shift", client)[:8], "big")
        size = number % self.max_shift_days + 1
        return size if (number >> 63) & 1 else -size

    def fit(self, administrations: pd.DataFrame) -> Deidentifier:
        """Learn the clients, their episodes (in date order) and the episodes' first dates."""
        self._check()
        key = self.study_key
        self.key_ = key.encode() if isinstance(key, str) else key or secrets.token_bytes(32)
        frame = administrations[["client", "episode", "date"]].astype({"date": "datetime64[ns]"})
        starts = frame.groupby(["client", "episode"], sort=False)["date"].min().reset_index()
        starts = starts.sort_values(["client", "date", "episode"], kind="stable")
        starts["ordinal"] = starts.groupby("client").cumcount() + 1
        self.episodes_ = {
            (str(c), str(e)): f"E{n}"
            for c, e, n in starts[["client", "episode", "ordinal"]].itertuples(index=False)
        }
        self.starts_ = {
            (str(c), str(e)): d
            for c, e, d in starts[["client", "episode", "date"]].itertuples(index=False)
        }
        self.clients_ = sorted({str(c) for c in frame["client"].unique()})
        return self

    def transform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """The research version of ``frame`` and the columns that were dropped."""
        if not hasattr(self, "key_"):
            raise RuntimeError("call fit(administrations) before transform")
        columns = [str(c) for c in frame.columns]
        allowed = set(KEPT) | set(item_columns(columns))
        dropped = [c for c in columns if c not in allowed]
        unknown = sorted({str(c) for c in frame["client"].unique()} - set(self.clients_))
        if unknown:
            raise ValueError(f"{len(unknown)} client(s) not in the administrations fitted on")
        out = frame[[c for c in columns if c in allowed]].copy()
        clients = out["client"].astype("str")
        pairs = list(zip(clients, out["episode"].astype("str"), strict=True))
        out["episode"] = pd.Series([self.episodes_.get(p, "E?") for p in pairs], index=out.index)
        dates = out["date"].astype("datetime64[ns]")
        if self.date_mode == "shift":
            shift = _by_unique(clients, self.offset)
            out["date"] = dates + pd.to_timedelta(shift, unit="D")
        else:
            starts = pd.Series(
                [self.starts_[p] for p in pairs], index=out.index, dtype="datetime64[ns]"
            )
            position = list(out.columns).index("date")
            out.insert(position, "day", (dates - starts).dt.days.astype("int64"))
            out = out.drop(columns=["date"])
        out["client"] = _by_unique(clients, lambda c: self.pseudonym("client", c))
        for column in ("clinician", "administration"):
            if column in out.columns:
                present = out[column].notna() & (out[column].astype("str") != "")
                names = _by_unique(
                    out[column].astype("str").fillna(""), lambda v, k=column: self.pseudonym(k, v)
                )
                out[column] = pd.Series(names, index=out.index, dtype="str").where(present)
        return out.reset_index(drop=True), dropped

    def small_cells(self, administrations: pd.DataFrame) -> list[SmallCell]:
        """Cells of ``cells`` held by fewer than ``min_cell`` clients."""
        found: list[SmallCell] = []
        for grouping in self.cells:
            if not all(c in administrations.columns for c in grouping):
                continue
            counts = (
                administrations.dropna(subset=list(grouping))
                .groupby(list(grouping), sort=True)["client"]
                .nunique()
            )
            for values, n in counts.items():
                if 0 < int(n) < self.min_cell:
                    shown = values if isinstance(values, tuple) else (values,)
                    found.append(SmallCell(grouping, tuple(str(v) for v in shown), int(n)))
        return found


def _by_unique(values: pd.Series, fn: Any) -> np.ndarray:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    table = np.array([fn(str(u)) for u in uniques], dtype=object)
    return table[codes] if len(table) else np.array([], dtype=object)


@dataclass
class ResearchExport:
    administrations: pd.DataFrame
    scores: pd.DataFrame | None
    summary: ExportSummary
    events: pd.DataFrame | None = None


def deidentify(
    administrations: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    study_key: bytes | str | None = None,
    date_mode: DateMode = "shift",
    max_shift_days: int = 182,
    min_cell: int = 5,
    k: int = 5,
    teams: Mapping[str, str] | None = None,
    cells: Sequence[tuple[str, ...]] = DEFAULT_CELLS,
    events: pd.DataFrame | None = None,
    dropped: Sequence[str] = (),
) -> ResearchExport:
    """The research export of a wide administrations table (and its tidy scores and care
    events: their notes are dropped, and events of episodes without ratings left out, as
    those episodes have no start to count days from), made k-anonymous over the declared
    quasi-identifiers (:mod:`alliance.interop.kanonymity`; ``teams`` maps clinicians to
    their teams, for the team level) and ordered by pseudonym. ``dropped`` names columns the
    caller already left out of the administrations (a file's names or notes); the summary
    lists them first among the dropped columns."""
    worker = Deidentifier(
        study_key=study_key,
        date_mode=date_mode,
        max_shift_days=max_shift_days,
        min_cell=min_cell,
        cells=cells,
    ).fit(administrations)
    wide, left_out = worker.transform(administrations)
    long, dropped_scores = worker.transform(scores) if scores is not None else (None, [])
    kept: pd.DataFrame | None = None
    dropped_events: list[str] = []
    if events is not None:
        known = set(worker.starts_)
        pairs = zip(events["client"].astype("str"), events["episode"].astype("str"), strict=True)
        rated = pd.Series([p in known for p in pairs], index=events.index, dtype=bool)
        kept, dropped_events = worker.transform(events[rated])
    groups = {
        worker.pseudonym("clinician", clinician): worker.pseudonym("team", team)
        for clinician, team in (teams or {}).items()
    }
    wide, long, kept, protection = protect(wide, long, kept, k=k, teams=groups)
    wide = _ordered(wide, ["instrument", "perspective", "stance", "administration"])
    summary = ExportSummary(
        rows={"administrations": len(wide)},
        clients=int(wide["client"].nunique()),
        date_mode=date_mode,
        max_shift_days=max_shift_days,
        keyed="key" if study_key is not None else "random",
        dropped_columns={"administrations": [*dropped, *left_out]},
        min_cell=min_cell,
        small_cells=worker.small_cells(wide),
        protection=protection.to_dict(),
    )
    if long is not None:
        long = _ordered(long, ["instrument", "perspective", "stance", "scale"])
        summary.rows["scores"] = len(long)
        summary.dropped_columns["scores"] = dropped_scores
    if kept is not None:
        kept = _ordered(kept, ["event"])
        summary.rows["events"] = len(kept)
        summary.dropped_columns["events"] = dropped_events
    return ResearchExport(administrations=wide, scores=long, summary=summary, events=kept)


def _ordered(frame: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    """Rows by client pseudonym (a keyed hash, so the order says nothing of the codes), then
    episode number, session and ``then``."""
    keys = frame.assign(_episode=_number(frame["episode"]))
    columns = ["client", "_episode", "session", *[c for c in then if c in frame.columns]]
    return (
        keys.sort_values(columns, kind="stable", na_position="last")
        .drop(columns=["_episode"])
        .reset_index(drop=True)
    )


def _number(labels: pd.Series) -> pd.Series:
    return pd.to_numeric(labels.astype("str").str.lstrip("E"), errors="coerce")
