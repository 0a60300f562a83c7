"""The research export: nothing that identifies a client survives."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.interop.deidentify import Deidentifier, deidentify
from alliance.interop.tidy import scores_long
from alliance.interop.wide import check_wide, to_wide
from alliance.records import Administration

KEY = "a-study-secret-of-32-characters!"


@pytest.fixture
def clinic(registry: Registry) -> pd.DataFrame:
    """Twelve clients with identifying extras a careless export might carry along."""
    records = []
    for n in range(12):
        for session in (1, 2, 3):
            records.append(
                Administration(
                    client=f"MRN-{4711 + n}",
                    episode=f"ep-smith-{n}",
                    session=session,
                    date=dt.date(2026, 3, 2) + dt.timedelta(days=7 * session + n),
                    instrument="wai-sr" if n < 10 else "srs",
                    version="1.0",
                    perspective="client",
                    answers=(
                        {f"item_{i}": 1 + (n + i + session) % 5 for i in range(1, 13)}
                        if n < 10
                        else {f"item_{i}": 7.5 for i in range(1, 5)}
                    ),
                    clinician="Dr Ann Jones" if n % 2 else "Dr Bo Li",
                    id=f"visit-{n}-{session}",
                )
            )
    wide, problems = check_wide(to_wide(records), registry)
    assert problems == []
    n = len(wide)
    wide["name"] = [f"Jane Doe {i}" for i in range(n)]
    wide["email"] = [f"jane{i}@example.org" for i in range(n)]
    wide["phone"] = "+44 20 7946 0000"
    wide["notes"] = "Mentioned her sister Mary at Acme Ltd"
    return wide


def every_cell(frame: pd.DataFrame) -> set[str]:
    cells = {str(c) for c in frame.columns}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            cells |= set(values.dt.strftime("%Y-%m-%d").dropna())
        else:
            cells |= {str(v) for v in values.dropna()}
    return cells


def moved(export: pd.DataFrame, clinic: pd.DataFrame) -> pd.Series:
    """Days each exported administration's date moved (matched by its pseudonym)."""
    worker = Deidentifier(study_key=KEY).fit(clinic)
    original = {
        worker.pseudonym("administration", str(a)): d
        for a, d in zip(clinic["administration"], clinic["date"], strict=True)
    }
    before = export["administration"].map(original).astype("datetime64[ns]")
    return (export["date"] - before).dt.days


def test_no_identifying_value_survives(registry: Registry, clinic: pd.DataFrame) -> None:
    scores = scores_long(clinic.drop(columns=["name", "email", "phone", "notes"]), registry)
    export = deidentify(clinic, scores, study_key=KEY, k=1)
    assert export.scores is not None
    survived = every_cell(export.administrations) | every_cell(export.scores)
    text = " ".join(survived)
    for column in (
        "client",
        "episode",
        "clinician",
        "administration",
        "name",
        "email",
        "phone",
        "notes",
        "idempotency_key",
    ):
        for value in clinic[column].astype(str).unique():
            assert value not in text, f"{column} value {value!r} survived"
    # every administration's date moved (row by row), and the scores carry only moved dates
    assert len(export.administrations) == len(clinic)
    assert (moved(export.administrations, clinic) != 0).all()
    assert set(export.scores["date"]) <= set(export.administrations["date"])
    assert export.summary.dropped_columns["administrations"] == [
        "idempotency_key",
        "name",
        "email",
        "phone",
        "notes",
    ]


def test_intervals_are_kept_and_pseudonyms_are_stable(clinic: pd.DataFrame) -> None:
    export = deidentify(clinic, study_key=KEY, k=1).administrations
    assert export["client"].nunique() == 12
    assert export["client"].str.fullmatch(r"S-[0-9a-f]{16}").all()
    assert set(export["episode"]) == {"E1"}
    for _, rows in export.groupby("client"):
        gaps = rows.sort_values("session")["date"].diff().dropna().dt.days
        assert gaps.tolist() == [7, 7]
    shifted = moved(export, clinic)
    assert (shifted != 0).all() and (shifted.abs() <= 182).all()


def test_without_a_key_pseudonyms_differ_and_the_summary_says_answers_still_link(
    clinic: pd.DataFrame,
) -> None:
    first, second = deidentify(clinic, k=1), deidentify(clinic, k=1)
    assert set(first.administrations["client"]).isdisjoint(second.administrations["client"])
    linking = first.summary.to_dict()["linking"]
    assert linking["same_records_same_export"] is False
    assert linking["answers_link_exports"] is True
    items = [c for c in first.administrations.columns if c.startswith("item_")]
    signature = ["session", "instrument", *items]

    def rows(frame: pd.DataFrame) -> set[frozenset[tuple[object, ...]]]:
        return {
            frozenset(map(tuple, mine[signature].astype(str).itertuples(index=False)))
            for _, mine in frame.groupby("client")
        }

    assert rows(first.administrations) == rows(second.administrations)  # they link


def test_exports_with_the_same_study_key_link(clinic: pd.DataFrame) -> None:
    first = deidentify(clinic, study_key=KEY).administrations
    second = deidentify(clinic.iloc[::-1], study_key=KEY).administrations
    pd.testing.assert_frame_equal(
        first.sort_values(["client", "session", "instrument"]).reset_index(drop=True),
        second.sort_values(["client", "session", "instrument"]).reset_index(drop=True),
    )
    other = deidentify(clinic, study_key=KEY.upper()).administrations
    assert set(first["client"]).isdisjoint(other["client"])


def test_days_since_episode_start(clinic: pd.DataFrame) -> None:
    export = deidentify(clinic, date_mode="days").administrations
    assert "date" not in export.columns
    assert sorted(set(export["day"])) == [0, 7, 14]


def test_small_cells_are_reported(clinic: pd.DataFrame) -> None:
    summary = deidentify(clinic, k=1).summary
    small = {(c.columns, c.values[0], c.clients) for c in summary.small_cells}
    # two clients answered the srs; every other cell holds at least five clients
    assert small == {
        (("instrument",), "srs", 2),
        (("instrument", "perspective"), "srs", 2),
        (("instrument", "session"), "srs", 2),
    }
    assert summary.to_dict()["small_cells"][0]["clients"] == 2
    assert deidentify(clinic, min_cell=3, k=1).summary.small_cells != []
    assert deidentify(clinic, min_cell=2, k=1).summary.small_cells == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"date_mode": "month"}, "date_mode"),
        ({"max_shift_days": 0}, "max_shift_days"),
        ({"min_cell": 0}, "min_cell"),
        ({"study_key": "short"}, "study_key"),
    ],
)
def test_bad_options(clinic: pd.DataFrame, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        deidentify(clinic, **options)


def test_scores_of_unknown_clients_are_refused(registry: Registry, clinic: pd.DataFrame) -> None:
    worker = Deidentifier().fit(clinic.iloc[:3])
    with pytest.raises(ValueError, match="not in the administrations fitted on"):
        worker.transform(clinic)
    with pytest.raises(RuntimeError, match="fit"):
        Deidentifier().transform(clinic)


@pytest.mark.parametrize("date_mode", ["shift", "days"])
def test_an_empty_table_gives_an_empty_export(
    registry: Registry, clinic: pd.DataFrame, date_mode: str
) -> None:
    empty = clinic.iloc[0:0]
    export = deidentify(empty, scores_long(empty, registry), date_mode=date_mode)  # type: ignore[arg-type]
    assert export.administrations.empty and export.scores is not None and export.scores.empty
    assert ("day" in export.administrations.columns) == (date_mode == "days")
    assert export.summary.clients == 0
