"""k-anonymity of a research export over declared quasi-identifiers.

A client's **quasi-identifiers** (:data:`QUASI_IDENTIFIERS`) are what someone who knows the
client could recognise in the export, each computed from the export itself:

- ``clinician`` — the clinician pseudonyms on the client's rows;
- ``sessions`` — per episode, how many sessions were rated and the number of the last one;
- ``episode_ends`` — per episode, the end reason of its ``episode_ended`` event, or ``open``;
- ``ruptures`` and ``risk_follow_ups`` — how many such care events the client has;
- ``instruments`` — the instruments the client answered;
- ``episode_lengths`` — per episode, the days from its first to its last rated session, as
  the export shows them (after dates are coarsened).

Not declared, and said so in the export's summary: the answers and scores themselves, the
pattern of which forms were filled at which session, and in ``shift`` mode the first date
(its secret offset of up to ``max_shift_days`` hides it).

:func:`protect` makes every combination of these values describe at least ``k`` clients.
First the rows of instruments fewer than ``k`` clients answered are dropped. Then it tries
every combination of one level per dimension below and keeps the one that loses least — the
share of administrations it drops (sessions cut, and every row of the clients still in groups
smaller than ``k``, who are suppressed), plus the share of clients suppressed, plus 2% per
level of clinician, care events and dates — and suppresses those clients. This is full-domain
generalisation with suppression (Samarati 2001; Sweeney 2002) [DERIVED: the ladders and the
loss weights are the project's choice].

=============== ===========================================================================
dimension       levels
=============== ===========================================================================
clinician       pseudonym · team pseudonym (when teams are known) · removed
care events     as recorded · end reasons as ``ended``, ruptures and follow-ups removed ·
                removed
dates / days    day · week (Monday; days in sevens) · month (first day; days in thirties) ·
                removed
sessions        all · each episode cut after the largest of 1, 2, 3, 4, 6, 8, 12, 16, …
                sessions not above its last · after 1, 2, 4, 8, … · after 1, 4, 16, …
=============== ===========================================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

QUASI_IDENTIFIERS = (
    "clinician",
    "sessions",
    "episode_ends",
    "ruptures",
    "risk_follow_ups",
    "instruments",
    "episode_lengths",
)
CLINICIAN_LEVELS = ("pseudonym", "team", "removed")
EVENT_LEVELS = ("as recorded", "end reasons only, as ended or open", "removed")
TIME_LEVELS = ("day", "week", "month", "removed")
SESSION_LEVELS = (
    "all",
    "each episode cut at 1, 2, 3, 4, 6, 8, 12, 16, … sessions",
    "each episode cut at 1, 2, 4, 8, … sessions",
    "each episode cut at 1, 4, 16, … sessions",
)
NOT_COVERED = (
    "the answers and scores themselves",
    "which forms were filled at which session",
    "in shift mode, the first date (hidden by the study's secret offset)",
)
MAX_SESSION = 10_000
LEVEL_COST = 0.02  # a level of clinician, care events or dates weighs as 2% of the rows


def _floors(bases: tuple[int, ...], factor: int) -> np.ndarray:
    values = {b * factor**i for b in bases for i in range(16)}
    return np.array(sorted(v for v in values if v <= 2 * MAX_SESSION), dtype=np.int64)


FLOORS = (None, _floors((1, 3), 2), _floors((1,), 2), _floors((1,), 4))


@dataclass
class Protection:
    """What :func:`protect` did, for the export's summary."""

    k: int
    levels: dict[str, str] = field(default_factory=dict)
    rare_instruments: dict[str, int] = field(default_factory=dict)
    sessions_cut: int = 0
    clients_suppressed: int = 0
    groups: int = 0
    smallest_group: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "quasi_identifiers": list(QUASI_IDENTIFIERS),
            "not_covered": list(NOT_COVERED),
            "generalised": dict(self.levels),
            "rare_instruments_dropped": dict(self.rare_instruments),
            "clients_with_sessions_cut": self.sessions_cut,
            "clients_suppressed": self.clients_suppressed,
            "groups": self.groups,
            "smallest_group": self.smallest_group,
        }


def protect(
    administrations: pd.DataFrame,
    scores: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    k: int,
    teams: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, Protection]:
    """The de-identified tables made k-anonymous over :data:`QUASI_IDENTIFIERS`.

    ``teams`` maps clinician pseudonyms to team pseudonyms (the ``team`` level). The tables
    are the outputs of :class:`~alliance.interop.deidentify.Deidentifier` (``date`` or
    ``day``, episodes ``E<n>``)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    report = Protection(k=k)
    before = administrations["client"].nunique()
    if k == 1 or administrations.empty:
        report.levels = _levels((0, 0, 0, 0))
        return administrations, scores, events, report
    time = "day" if "day" in administrations.columns else "date"
    holders = administrations.groupby("instrument")["client"].nunique()
    rare = holders[holders < k]
    report.rare_instruments = {str(i): int(n) for i, n in rare.items()}
    if len(rare):
        administrations = administrations[~administrations["instrument"].isin(rare.index)]
        if scores is not None:
            scores = scores[~scores["instrument"].isin(rare.index)]
    if administrations.empty:
        report.levels = _levels((0, 0, 0, 0))
        report.clients_suppressed = int(before)
        empty = administrations.iloc[0:0]
        return empty, scores, events.iloc[0:0] if events is not None else None, report
    lattice = _Lattice(administrations, events, time, teams or {})
    node, small = lattice.search(k)
    report.levels = _levels(node)
    adm, sc, ev, cut = lattice.apply(node, small, administrations, scores, events)
    report.sessions_cut = cut
    report.clients_suppressed = int(before - adm["client"].nunique())
    sizes = lattice.group_sizes(node, exclude=small)
    report.groups = len(sizes)
    report.smallest_group = int(sizes.min()) if len(sizes) else None
    return adm, sc, ev, report


def _levels(node: tuple[int, int, int, int]) -> dict[str, str]:
    c, e, t, s = node
    return {
        "clinician": CLINICIAN_LEVELS[c],
        "care_events": EVENT_LEVELS[e],
        "dates": TIME_LEVELS[t],
        "sessions": SESSION_LEVELS[s],
    }


def _episode_number(labels: pd.Series) -> np.ndarray:
    return pd.to_numeric(labels.astype(str).str.lstrip("E"), errors="coerce").fillna(0).to_numpy()


def coarsen(values: pd.Series, level: int, *, days: bool) -> pd.Series:
    """Dates (``shift``) or days since the episode's start (``days``) at a time level."""
    if level == 0:
        return values
    if days:
        unit = 7 if level == 1 else 30
        return (values // unit) * unit
    dates = pd.to_datetime(values)
    if level == 1:
        return dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    return dates.dt.to_period("M").dt.start_time.astype(values.dtype)


def _day_numbers(values: pd.Series, *, days: bool) -> np.ndarray:
    if days:
        return values.to_numpy(dtype=np.int64)
    return (pd.to_datetime(values).to_numpy("datetime64[D]").astype(np.int64)).astype(np.int64)


class _Lattice:
    """Per-client values of the quasi-identifiers at every generalisation, computed once."""

    def __init__(
        self,
        administrations: pd.DataFrame,
        events: pd.DataFrame | None,
        time: str,
        teams: Mapping[str, str],
    ) -> None:
        self.time, self.days, self.teams = time, time == "day", teams
        visits = administrations[["client", "episode", "session", time]].drop_duplicates(
            ["client", "episode", "session"]
        )
        visits = visits.assign(ep=_episode_number(visits["episode"]))
        self.visits = visits.sort_values(["client", "ep", "session"], kind="stable")
        self.events = events if events is not None else None
        self.clients = pd.Index(sorted(visits["client"].astype(str).unique()))
        self.by_level = [self._at_sessions(administrations, s) for s in range(4)]

    def cuts(self, level: int) -> pd.DataFrame:
        """Per (client, episode): its last rated session and where the level cuts it."""
        last = self.visits.groupby(["client", "episode"], sort=False)["session"].max()
        frame = last.rename("last").reset_index()
        floors = FLOORS[level]
        if floors is None:
            frame["cut"] = frame["last"]
        else:
            at = np.searchsorted(floors, np.maximum(frame["last"].to_numpy(), 1), side="right")
            frame["cut"] = floors[np.maximum(at - 1, 0)]
        return frame

    def _at_sessions(self, administrations: pd.DataFrame, level: int) -> dict[str, Any]:
        cuts = self.cuts(level)
        visits = self.visits.merge(cuts, on=["client", "episode"])
        kept = visits[visits["session"] <= visits["cut"]]
        per_episode = kept.groupby(["client", "episode", "ep"], sort=False).agg(
            rated=("session", "size"), last_kept=("session", "max")
        )
        per_episode["truncated"] = (
            visits.groupby(["client", "episode", "ep"], sort=False)["session"].size()
            > per_episode["rated"]
        )
        per_episode = per_episode.reset_index().sort_values(["client", "ep"], kind="stable")
        out: dict[str, Any] = {"per_episode": per_episode, "cuts": cuts}
        sessions = per_episode.assign(
            text=per_episode["rated"].astype(str) + "/" + per_episode["last_kept"].astype(str)
        )
        out["sessions"] = _join(sessions, "text")
        for t in range(3):
            numbers = _day_numbers(coarsen(kept[self.time], t, days=self.days), days=self.days)
            grouped = kept.assign(n=numbers).groupby(["client", "episode", "ep"], sort=False)["n"]
            spans = (
                (grouped.max() - grouped.min())
                .rename("span")
                .reset_index()
                .sort_values(["client", "ep"], kind="stable")
            )
            out[f"span{t}"] = _join(spans.assign(text=spans["span"].astype(str)), "text")
        rows = administrations.merge(cuts, on=["client", "episode"])
        rows = rows[rows["session"] <= rows["cut"]]
        out["instruments"] = _sets(rows, "instrument")
        out["rows"] = rows.groupby("client").size().reindex(self.clients, fill_value=0).to_numpy()
        named = rows.dropna(subset=["clinician"]) if "clinician" in rows.columns else rows.iloc[0:0]
        out["clinician0"] = _sets(named.assign(c=named.get("clinician")), "c")
        teams = named.assign(c=named.get("clinician", pd.Series(dtype=str)).map(self.teams))
        out["clinician1"] = _sets(teams.dropna(subset=["c"]), "c")
        out["ends0"], out["ends1"], out["ruptures"], out["follow_ups"] = self._events(per_episode)
        out["codes"] = {
            name: pd.factorize(out[name].reindex(self.clients, fill_value=""))[0]
            for name in (
                "sessions", "instruments", "clinician0", "clinician1", "span0", "span1",
                "span2", "ends0", "ends1", "ruptures", "follow_ups",
            )
        }  # fmt: skip
        return out

    def _events(
        self, per_episode: pd.DataFrame
    ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
        ends = per_episode[["client", "episode", "ep"]].assign(reason="open")
        empty = pd.Series(0, index=self.clients)
        if self.events is not None and not self.events.empty:
            ended = self.events[self.events["event"] == "episode_ended"]
            reasons = dict(
                zip(
                    zip(ended["client"], ended["episode"], strict=True),
                    ended["detail"],
                    strict=True,
                )
            )
            ends["reason"] = [
                str(reasons.get((c, e), "open"))
                for c, e in zip(ends["client"], ends["episode"], strict=True)
            ]
            kept = self._kept_events(per_episode)
            counts = kept.groupby(["client", "event"]).size().unstack(fill_value=0)
            ruptures = counts.get("rupture_reported", empty).reindex(self.clients, fill_value=0)
            follow_ups = counts.get("risk_follow_up", empty).reindex(self.clients, fill_value=0)
        else:
            ruptures = follow_ups = empty
        general = ends.assign(reason=np.where(ends["reason"] == "open", "open", "ended"))
        return (
            _join(ends.assign(text=ends["reason"]), "text"),
            _join(general.assign(text=general["reason"]), "text"),
            ruptures.astype(str),
            follow_ups.astype(str),
        )

    def _kept_events(self, per_episode: pd.DataFrame) -> pd.DataFrame:
        """Ruptures and follow-ups at or before the last kept rated session of their episode."""
        if self.events is None:
            return pd.DataFrame(columns=["client", "event"])
        others = self.events[self.events["event"] != "episode_ended"]
        merged = others.merge(
            per_episode[["client", "episode", "last_kept"]], on=["client", "episode"]
        )
        session = merged["session"].astype("Float64")
        return merged[
            (session.isna() | (session <= merged["last_kept"])).fillna(False).astype(bool)
        ]

    def codes(self, node: tuple[int, int, int, int]) -> np.ndarray:
        """Each client's quasi-identifiers at ``node`` as integer codes (one column each, rows
        in ``self.clients`` order; a removed quasi-identifier is one code for everyone)."""
        c, e, t, s = node
        at = self.by_level[s]
        names = ["sessions", "instruments"]
        names += [f"clinician{c}"] if c < 2 else []
        names += [f"span{t}"] if t < 3 else []
        names += [f"ends{e}"] if e < 2 else []
        names += ["ruptures", "follow_ups"] if e == 0 else []
        return np.column_stack([at["codes"][name] for name in names])

    def sizes(self, node: tuple[int, int, int, int]) -> np.ndarray:
        """For each client (in ``self.clients`` order), how many clients share its values."""
        _, inverse, counts = np.unique(
            self.codes(node), axis=0, return_inverse=True, return_counts=True
        )
        return np.asarray(counts[inverse.reshape(-1)])

    def group_sizes(self, node: tuple[int, int, int, int], *, exclude: set[str]) -> np.ndarray:
        kept = ~self.clients.isin(list(exclude))
        _, counts = np.unique(self.codes(node)[kept], axis=0, return_counts=True)
        return np.asarray(counts)

    def search(self, k: int) -> tuple[tuple[int, int, int, int], set[str]]:
        """The node losing least: the share of administrations it drops (sessions cut,
        clients suppressed), plus the share of clients it suppresses (a client missing
        altogether biases more than a shorter series), plus :data:`LEVEL_COST` per level of
        clinician, care events and dates."""
        total = max(int(self.by_level[0]["rows"].sum()), 1)
        best: tuple[float, tuple[int, int, int, int], np.ndarray] | None = None
        for node in itertools.product(range(3), range(3), range(4), range(4)):
            if node[0] == 1 and not self.teams:
                continue  # no teams known: the level equals the pseudonyms
            small = self.sizes(node) < k
            kept = int(self.by_level[node[3]]["rows"][~small].sum())
            lost = (total - kept) / total + small.sum() / len(self.clients)
            loss = lost + LEVEL_COST * (node[0] + node[1] + node[2])
            if best is None or loss < best[0] - 1e-12:
                best = (loss, node, small)
        if best is None:
            raise RuntimeError("no generalisation was tried")
        return best[1], set(self.clients[best[2]])

    def apply(
        self,
        node: tuple[int, int, int, int],
        small: set[str],
        administrations: pd.DataFrame,
        scores: pd.DataFrame | None,
        events: pd.DataFrame | None,
    ) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, int]:
        c, e, t, s = node
        at = self.by_level[s]
        cuts = at["cuts"][["client", "episode", "cut"]]
        per_episode = at["per_episode"]

        def rows(frame: pd.DataFrame) -> pd.DataFrame:
            merged = frame.merge(cuts, on=["client", "episode"], how="left")
            keep = (merged["session"] <= merged["cut"]) & ~merged["client"].isin(list(small))
            out = frame[keep.to_numpy()]
            if "clinician" in out.columns:
                if c == 1:
                    out = out.assign(clinician=out["clinician"].map(self.teams))
                elif c == 2:
                    out = out.drop(columns=["clinician"])
            return self._time(out, t)

        adm = rows(administrations)
        sc = rows(scores) if scores is not None else None
        ev = self._apply_events(events, per_episode, small, e, t) if events is not None else None
        cut = int(
            per_episode[~per_episode["client"].isin(list(small))]
            .groupby("client")["truncated"]
            .any()
            .sum()
        )
        return adm, sc, ev, cut

    def _time(self, frame: pd.DataFrame, level: int) -> pd.DataFrame:
        if self.time not in frame.columns:
            return frame
        if level == 3:
            return frame.drop(columns=[self.time])
        return frame.assign(**{self.time: coarsen(frame[self.time], level, days=self.days)})

    def _apply_events(
        self,
        events: pd.DataFrame,
        per_episode: pd.DataFrame,
        small: set[str],
        level: int,
        time_level: int,
    ) -> pd.DataFrame:
        if level == 2 or events.empty:
            return self._time(events.iloc[0:0], time_level)
        episodes = per_episode[["client", "episode", "last_kept", "truncated"]]
        ended = events[events["event"] == "episode_ended"].merge(episodes, on=["client", "episode"])
        # an end event names the episode's last session: not when that is past what is shown
        past = (ended["session"].astype("Float64") > ended["last_kept"]).fillna(False)
        shown = ~(ended["truncated"].astype(bool) | past.astype(bool))
        ended["session"] = ended["session"].astype("Int64").where(shown)
        when = ended[self.time].astype("Int64") if self.days else ended[self.time]
        ended[self.time] = when.where(shown)
        ended = ended[events.columns]
        if level == 1:
            ended = ended.assign(detail="ended")
            kept = ended
        else:
            kept = pd.concat([ended, self._kept_events(per_episode)[events.columns]])
        kept = kept[~kept["client"].isin(list(small))]
        return self._time(kept, time_level)


def _join(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per client, the values of ``column`` in the frame's order, joined."""
    return frame.groupby("client", sort=False)[column].agg(";".join)


def _sets(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per client, the distinct values of ``column``, sorted and joined."""
    distinct = (
        frame[["client", column]].astype(str).drop_duplicates().sort_values(["client", column])
    )
    return distinct.groupby("client", sort=False)[column].agg(",".join)
