"""The wide table: records ↔ table, every bad cell reported, idempotency keys."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.interop.keys import KEY_COLUMN, idempotency_key
from alliance.interop.wide import check_wide, from_wide, to_wide
from alliance.records import Administration


def text_table(administrations: list[Administration]) -> pd.DataFrame:
    """The wide table as a CSV reader would give it: every cell text, blanks empty."""
    wide = to_wide(administrations)
    wide["date"] = wide["date"].dt.strftime("%Y-%m-%d")
    return wide.astype(object).where(wide.notna(), "").astype(str)


def test_records_survive_the_table(registry: Registry, administrations: list) -> None:
    clean, problems = check_wide(to_wide(administrations), registry)
    assert problems == []
    assert from_wide(clean, registry) == administrations


def test_text_cells_give_the_same_table(registry: Registry, administrations: list) -> None:
    typed, _ = check_wide(to_wide(administrations), registry)
    text, problems = check_wide(text_table(administrations), registry)
    assert problems == []
    pd.testing.assert_frame_equal(text, typed)


def test_every_bad_cell_is_reported(registry: Registry, administrations: list) -> None:
    table = text_table(administrations)
    table.loc[0, "item_3"] = "6"  # wai-sr options are 1–5
    table.loc[0, "item_4"] = "often"
    table.loc[1, "date"] = "2026-02-30"
    table.loc[2, "item_1"] = "10.5"  # srs lines run 0–10
    table.loc[3, "session"] = "1.5"
    table.loc[4, "perspective"] = "observer"
    table.loc[5, "stance"] = "guess"
    table.loc[1, "client"] = " "
    table.loc[2, "item_12"] = "3"  # srs has four items
    clean, problems = check_wide(table, registry, csv_lines=True)
    found = {(p.line, p.column, p.value) for p in problems}
    assert found == {
        (2, "item_3", "6"),
        (2, "item_4", "often"),
        (3, "client", " "),
        (3, "date", "2026-02-30"),
        (4, "item_1", "10.5"),
        (4, "item_12", "3"),
        (5, "session", "1.5"),
        (6, "perspective", "observer"),
        (7, "stance", "guess"),
    }
    assert [p.line for p in problems] == sorted(p.line for p in problems)  # file order
    allowed = {p.column: p.allowed for p in problems}
    assert allowed["item_3"] == "1, 2, 3, 4, 5"
    assert allowed["item_1"] == "a number from 0 to 10"
    assert allowed["perspective"] == "client"
    assert KEY_COLUMN not in clean.columns  # no keys for a table that cannot be imported


def test_unknown_and_missing_columns(registry: Registry, administrations: list) -> None:
    table = text_table(administrations).drop(columns=["date"]).assign(notes="x")
    _, problems = check_wide(table, registry)
    assert [(p.problem, p.row) for p in problems] == [
        ("unknown column notes", None),
        ("missing column date", None),
    ]


def phq9(client: str, *, with_item_10: bool = False) -> Administration:
    answers: dict[str, float | None] = {f"item_{i}": 1 for i in range(1, 10)}
    if with_item_10:
        answers["item_10"] = None
    return Administration(
        client=client, episode="E1", session=1, date=dt.date(2026, 9, 3), instrument="phq-9",
        version="1.0", perspective="client", stance="self", answers=answers,
    )  # fmt: skip


def test_an_unscored_last_item_may_be_left_out(registry: Registry) -> None:
    """A PHQ-9 file without the difficulty question (item 10, unscored) is read as if the
    column were there and empty; a scored item's column may not be left out."""
    table = to_wide([phq9("P1")])
    assert "item_10" not in table.columns
    clean, problems = check_wide(table, registry)
    assert problems == []
    assert np.isnan(clean["item_10"]).all()
    [record] = from_wide(clean, registry)
    assert record.answers == phq9("P1", with_item_10=True).answers
    explicit, _ = check_wide(to_wide([phq9("P1")]).assign(item_10=np.nan), registry)
    assert list(explicit[KEY_COLUMN]) == list(clean[KEY_COLUMN])  # the same content key
    phq_short = to_wide([phq9("P3")]).drop(columns=["item_9"])
    _, problems = check_wide(phq_short, registry)
    assert [p.column for p in problems] == ["item_9", "item_10"]  # a risk item: never optional


def test_unknown_instrument_and_version(registry: Registry, administrations: list) -> None:
    table = text_table(administrations)
    table.loc[0, "instrument"] = "wai-x"
    table.loc[3, "version"] = "9.9"
    _, problems = check_wide(table, registry)
    assert [(p.row, p.column, p.problem) for p in problems] == [
        (1, "instrument", "unknown instrument"),
        (4, "version", "phq-9 has no version"),
    ]
    assert problems[1].allowed == "1.0"


def test_a_prediction_must_be_the_clinicians(registry: Registry, administrations: list) -> None:
    table = text_table(administrations)
    table.loc[5, "perspective"] = "client"
    _, problems = check_wide(table, registry)
    assert [(p.row, p.column, p.allowed) for p in problems] == [(6, "perspective", "clinician")]


def test_a_prediction_fills_the_clients_form(registry: Registry) -> None:
    """The WAI-SR has only a client form; the clinician's prediction of it is stored with the
    perspective ``clinician`` (as the clinic service and the simulator write it)."""
    answers = {f"item_{i}": 4 for i in range(1, 13)}
    prediction = Administration(
        client="C001",
        episode="E1",
        session=1,
        date=dt.date(2026, 9, 3),
        instrument="wai-sr",
        version="1.0",
        perspective="clinician",
        stance="prediction",
        answers=answers,
    )
    clean, problems = check_wide(to_wide([prediction]), registry)
    assert problems == []
    assert from_wide(clean, registry) == [prediction]
    own = dataclasses.replace(prediction, stance="self")
    _, problems = check_wide(to_wide([own]), registry)
    assert [(p.column, p.value, p.allowed) for p in problems] == [
        ("perspective", "clinician", "client")
    ]


def test_a_prediction_needs_a_client_form(registry: Registry) -> None:
    table = to_wide(
        [
            Administration(
                client="C001",
                episode="E1",
                session=1,
                date=dt.date(2026, 9, 3),
                instrument="wai-sr",
                version="1.0",
                perspective="clinician",
                stance="prediction",
                answers={f"item_{i}": 4 for i in range(1, 13)},
            )
        ]
    )
    site = registry.get("wai-sr").model_copy(update={"perspectives": ("clinician",)})
    _, problems = check_wide(table, Registry([site]))
    assert [(p.column, p.problem) for p in problems] == [
        ("stance", "wai-sr has no client form to predict")
    ]


def test_repeated_rows_and_ids_are_refused(registry: Registry, administrations: list) -> None:
    table = text_table(administrations)
    table = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    table.loc[1, "administration"] = "adm-17"  # the srs row has this id
    _, problems = check_wide(table, registry, csv_lines=True)
    assert [(p.line, p.problem) for p in problems] == [
        (4, "administration id used twice"),
        (8, "the same administration as line 2"),
    ]


def test_keys_are_the_same_from_records_and_tables(
    registry: Registry, administrations: list
) -> None:
    clean, _ = check_wide(text_table(administrations), registry)
    for a, key in zip(administrations, clean[KEY_COLUMN], strict=True):
        assert idempotency_key(a, registry.get(a.instrument, a.version)) == key
    assert clean[KEY_COLUMN].str.fullmatch(r"[0-9a-f]{32}").all()


@pytest.mark.parametrize(
    "change",
    [
        {"client": "C009"},
        {"episode": "E9"},
        {"session": 5},
        {"date": dt.date(2026, 9, 4)},
        {"perspective": "clinician"},
        {"stance": "prediction"},
        {"clinician": "T01"},
        {"answers": {f"item_{i}": 5 for i in range(1, 13)} | {"item_7": 4}},
        {"answers": {f"item_{i}": 5 for i in range(1, 13)} | {"item_7": None}},
    ],
)
def test_every_field_changes_the_key(registry: Registry, change: dict) -> None:
    base = Administration(
        client="C001",
        episode="E1",
        session=1,
        date=dt.date(2026, 9, 3),
        instrument="wai-s",
        version="1.0",
        perspective="client",
        answers={f"item_{i}": 5 for i in range(1, 13)},
    )
    inst = registry.get("wai-s")
    assert idempotency_key(dataclasses.replace(base, **change), inst) != idempotency_key(base, inst)
    # the id and extras are not content: the same answers from elsewhere are the same record
    same = dataclasses.replace(base, id="other", extras={"room": "2"})
    assert idempotency_key(same, inst) == idempotency_key(base, inst)


def test_key_treats_negative_zero_and_nan_alike(registry: Registry) -> None:
    inst = registry.get("srs")
    a = Administration(
        client="C1",
        episode="E1",
        session=1,
        date=dt.date(2026, 1, 1),
        instrument="srs",
        version="1.0",
        perspective="client",
        answers={"item_1": 0.0, "item_2": None, "item_3": 1, "item_4": 2},
    )
    b = dataclasses.replace(a, answers={**a.answers, "item_1": -0.0})
    assert idempotency_key(a, inst) == idempotency_key(b, inst)
    table = to_wide([a])
    table.loc[0, "item_2"] = float(np.float64("nan") * -1)
    clean, _ = check_wide(table, Registry([inst]))
    assert clean[KEY_COLUMN][0] == idempotency_key(a, inst)
