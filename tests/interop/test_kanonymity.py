"""Research exports are k-anonymous over their declared quasi-identifiers (security review
12): a checker written apart from the code groups the exported clients by what the summary
declares, and every group holds at least k clients."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.interop.deidentify import Deidentifier, ResearchExport, deidentify
from alliance.interop.kanonymity import QUASI_IDENTIFIERS, coarsen
from alliance.interop.wide import check_wide
from alliance.simulate import simulate_clinic

KEY = "a-study-secret-of-32-characters!"


@pytest.fixture(scope="module")
def clinic(registry: Registry) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """60 simulated clients of 6 clinicians in 2 teams (1–10 sessions, two end reasons,
    ruptures), plus a GAD-7 that only two clients answered; their care events; the teams."""
    sim = simulate_clinic(seed=11, n_clients=60, n_clinicians=6)
    frames = [
        frame.drop(columns=["rupture_reported"], errors="ignore")
        for frame in sim.administrations.values()
    ]
    first = frames[0].drop_duplicates("client").iloc[:2].copy()
    gad = first.assign(
        instrument="gad-7", administration=["G1", "G2"], perspective="client", stance="self"
    )
    gad = gad[[c for c in gad.columns if not c.startswith("item_")]]
    for i in range(1, 8):
        gad[f"item_{i}"] = 1.0
    wide, problems = check_wide(pd.concat([*frames, gad], ignore_index=True), registry)
    assert problems == []
    ended = sim.episodes.assign(
        session=sim.episodes["sessions"],
        date=pd.to_datetime(sim.episodes["end"]),
        event="episode_ended",
        detail=sim.episodes["end_reason"],
        note=None,
    )
    ruptures = sim.ruptures[sim.ruptures["observed"]]
    sessions = sim.sessions.set_index(["client", "episode", "session"])["date"]
    reported = ruptures.assign(
        date=pd.to_datetime(
            [sessions[(c, e, s)] for c, e, s in ruptures[["client", "episode", "session"]].values]
        ),
        event="rupture_reported",
        detail="client",
        note="said the last session felt rushed",
    )
    columns = ["client", "episode", "session", "date", "event", "detail", "note"]
    events = pd.concat([ended[columns], reported[columns]], ignore_index=True)
    events["episode"] = events["episode"].astype(str)
    events["session"] = events["session"].astype("Int64")
    teams = dict(zip(sim.clinicians["clinician"], sim.clinicians["team"], strict=True))
    return wide, events, teams


def quasi_identifiers(export: ResearchExport) -> pd.DataFrame:
    """Each exported client's declared quasi-identifiers, read from the exported tables."""
    table = export.administrations
    events = export.events
    if events is None:
        events = pd.DataFrame(columns=["client", "episode", "event", "detail"])
    time = next((c for c in ("date", "day") if c in table.columns), None)
    rows = []
    for client, mine in table.groupby("client"):
        theirs = events[events["client"] == client]
        sessions, lengths, ends = [], [], []
        for episode in sorted(mine["episode"].unique(), key=lambda e: int(e[1:])):
            rated = mine[mine["episode"] == episode]
            sessions.append((rated["session"].nunique(), int(rated["session"].max())))
            if time == "date":
                lengths.append((rated["date"].max() - rated["date"].min()).days)
            elif time == "day":
                lengths.append(int(rated["day"].max() - rated["day"].min()))
            end = theirs[(theirs["episode"] == episode) & (theirs["event"] == "episode_ended")]
            ends.append(str(end["detail"].iloc[0]) if len(end) else "open")
        kinds = theirs["event"].value_counts() if len(theirs) else pd.Series(dtype=int)
        rows.append(
            {
                "client": client,
                "clinician": tuple(sorted(set(mine.get("clinician", pd.Series()).dropna()))),
                "sessions": tuple(sessions),
                "episode_ends": tuple(ends),
                "ruptures": int(kinds.get("rupture_reported", 0)),
                "risk_follow_ups": int(kinds.get("risk_follow_up", 0)),
                "instruments": tuple(sorted(set(mine["instrument"]))),
                "episode_lengths": tuple(lengths),
            }
        )
    return pd.DataFrame(rows)


def smallest_group(export: ResearchExport) -> int:
    found = quasi_identifiers(export)
    return int(found.groupby(list(QUASI_IDENTIFIERS)).size().min())


@pytest.mark.parametrize("date_mode", ["shift", "days"])
def test_every_group_of_quasi_identifiers_holds_k_clients(
    clinic: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]], date_mode: str
) -> None:
    wide, events, teams = clinic
    raw = deidentify(wide, study_key=KEY, date_mode=date_mode, k=1, events=events)  # type: ignore[arg-type]
    found = quasi_identifiers(raw)
    sizes = found.groupby(list(QUASI_IDENTIFIERS))["client"].transform("size")
    assert sizes.min() == 1  # without protection some clients stand alone
    exposed = int((sizes < 5).sum())
    export = deidentify(
        wide,
        study_key=KEY,
        date_mode=date_mode,
        k=5,
        teams=teams,
        events=events,  # type: ignore[arg-type]
    )
    assert smallest_group(export) >= 5
    done = export.summary.to_dict()["k_anonymity"]
    assert done["k"] == 5 and done["quasi_identifiers"] == list(QUASI_IDENTIFIERS)
    assert done["rare_instruments_dropped"] == {"gad-7": 2}
    assert "gad-7" not in set(export.administrations["instrument"])
    assert done["smallest_group"] == smallest_group(export)
    assert set(done["generalised"]) == {"clinician", "care_events", "dates", "sessions"}
    assert export.summary.clients + done["clients_suppressed"] == 60
    # generalising first keeps most of those who stood in groups under 5
    assert done["clients_suppressed"] < exposed / 4
    assert export.events is not None and "note" not in export.events.columns


def test_rows_are_in_pseudonym_order_not_code_order(
    clinic: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    wide, _, _ = clinic
    export = deidentify(wide, study_key=KEY, k=1)
    clients = export.administrations["client"].drop_duplicates().tolist()
    assert clients == sorted(clients)
    worker = Deidentifier(study_key=KEY).fit(wide)
    by_code = [worker.pseudonym("client", c) for c in sorted(wide["client"].unique())]
    assert [c for c in by_code if c in set(clients)] != clients


def test_k_of_one_changes_nothing_but_the_order(
    clinic: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    wide, events, _ = clinic
    export = deidentify(wide, study_key=KEY, k=1, events=events)
    assert len(export.administrations) == len(wide)
    assert export.summary.to_dict()["k_anonymity"]["clients_suppressed"] == 0


def test_the_export_of_a_small_clinic_is_suppressed_rather_than_exposed(
    clinic: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    wide, _, teams = clinic
    few = wide[wide["client"].isin(sorted(wide["client"].unique())[:4])]
    export = deidentify(few, study_key=KEY, k=5, teams=teams)
    assert export.administrations.empty
    assert export.summary.to_dict()["k_anonymity"]["clients_suppressed"] == 4


def test_dates_coarsened_to_weeks_fall_on_mondays() -> None:
    dates = pd.Series(pd.to_datetime([dt.date(2026, 3, 4), dt.date(2026, 3, 9)]))
    assert coarsen(dates, 1, days=False).dt.day_of_week.tolist() == [0, 0]
    assert coarsen(dates, 2, days=False).dt.day.tolist() == [1, 1]
    assert coarsen(pd.Series([0, 6, 7, 40]), 1, days=True).tolist() == [0, 0, 7, 35]
