"""REDCap: data dictionaries that REDCap accepts, and records exports back as administrations."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alliance.instruments.registry import Registry
from alliance.interop.redcap import (
    REDCAP_COLUMNS,
    check_dictionary,
    data_dictionary,
    default_mapping,
    dictionary_csv,
    item_fields,
    load_mapping,
    read_records,
    session_fields,
)
from alliance.interop.wide import check_wide, from_wide, to_wide

HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max",'
    '"Identifier?","Branching Logic (Show field only if...)","Required Field?",'
    '"Custom Alignment","Question Number (surveys only)","Matrix Group Name",'
    '"Matrix Ranking?","Field Annotation"'
)


def test_wai_sr_dictionary(registry: Registry) -> None:
    text = dictionary_csv(data_dictionary(registry.get("wai-sr")))
    lines = text.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Variable / Field Name"] for r in rows] == [
        "record_id",
        "wai_sr_session",
        "wai_sr_date",
        *(f"wai_sr_{i}" for i in range(1, 13)),
    ]
    assert {r["Form Name"] for r in rows} == {"wai_sr"}
    assert [r["Text Validation Type OR Show Slider Number"] for r in rows[1:3]] == [
        "integer",
        "date_ymd",
    ]
    item = rows[3]
    assert item["Field Type"] == "radio"
    assert item["Choices, Calculations, OR Slider Labels"] == (
        "1, Hardly ever | 2, Now and then | 3, Quite often | 4, Very often | 5, All the time"
    )
    assert item["Field Label"] == "Clarity about how to change"
    assert item["Field Annotation"] == "alliance wai-sr 1.0 item_1"
    assert check_dictionary(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)) == []


@pytest.mark.parametrize(
    "instrument_id",
    [
        "wai-sr",
        "wai-b3",
        "srs",
        "wai-s",
        "wai",
        "sai",
        "haq-ii",
        "phq-9",
        "gad-7",
        "core-10",
        "k10",
        "ors",
    ],
)
def test_every_instrument_gives_a_valid_dictionary(registry: Registry, instrument_id: str) -> None:
    dictionary = data_dictionary(registry.get(instrument_id))
    assert tuple(dictionary.columns) == REDCAP_COLUMNS
    assert check_dictionary(dictionary) == []
    assert all(len(name) <= 26 for name in dictionary["Variable / Field Name"])


def test_visual_analogue_lines_are_number_fields(registry: Registry) -> None:
    rows = data_dictionary(registry.get("ors")).iloc[3:]  # after record id, session, date
    assert set(rows["Field Type"]) == {"text"}
    assert set(rows["Text Validation Type OR Show Slider Number"]) == {"number"}
    assert (set(rows["Text Validation Min"]), set(rows["Text Validation Max"])) == ({"0"}, {"10"})


def test_item_notes_say_risk_and_unscored(registry: Registry) -> None:
    rows = data_dictionary(registry.get("phq-9")).set_index("Variable / Field Name")
    assert "Risk item" in rows.loc["phq_9_9", "Field Note"]
    assert rows.loc["phq_9_10", "Field Note"] == "Not part of any score"
    assert rows.loc["phq_9_10", "Choices, Calculations, OR Slider Labels"].startswith("0, Not hard")


def test_checker_finds_broken_dictionaries(registry: Registry) -> None:
    good = data_dictionary(registry.get("gad-7"))
    bad = good.copy()
    bad.loc[3, "Variable / Field Name"] = "Gad 1"  # the items follow record id, session, date
    bad.loc[4, "Field Type"] = "likert"
    bad.loc[5, "Choices, Calculations, OR Slider Labels"] = "0 never | 1 sometimes"
    bad.loc[6, "Variable / Field Name"] = "gad_7_5"  # repeats row 7's name
    assert check_dictionary(bad) == [
        "'Gad 1': use lowercase letters, digits and _, starting with a letter",
        "field names used twice: ['gad_7_5']",
        "line 6 (gad_7_2): unknown field type 'likert'",
        "line 7 (gad_7_3): choices must be 'code, label | …', got '0 never | 1 sometimes'",
    ]
    assert check_dictionary(good.drop(columns=["Field Annotation"]))[0].startswith("columns")


EXPORT = (
    (
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "visit_date,therapist,{items},wai_sr_complete\n"
    )
    + """101,baseline_arm_1,,,2026-09-01,,{empty},0
101,sessions_arm_1,wai_sr,1,2026-09-03,T01,{a},2
101,sessions_arm_1,wai_sr,2,2026-09-10,T01,{b},2
102,sessions_arm_1,wai_sr,1,2026-09-04,T02,{c},2
"""
)


def export_text(a: str, b: str, c: str) -> str:
    return EXPORT.format(
        items=",".join(f"wai_sr_{i}" for i in range(1, 13)), empty="," * 11, a=a, b=b, c=c
    )


MAPPING = {
    "instrument": "wai-sr",
    "version": "1.0",
    "fields": {
        "client": "record_id",
        "session": "redcap_repeat_instance",
        "date": "visit_date",
        "clinician": "therapist",
    },
    "values": {"episode": "1"},
}


def test_records_export_imports(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        export_text("4,4,4,4,4,4,5,4,4,4,4,4", "5,4,5,3,,3,4,3,4,4,4,4", "1,2,3,4,5,1,2,3,4,5,1,2"),
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    clean, report = read_records(path, mapping, registry)
    assert report.ok and (report.rows, report.imported, report.skipped) == (4, 3, 1)
    assert clean.index.tolist() == [1, 2, 3]  # data row 0 (line 2) was skipped
    records = from_wide(clean, registry)
    assert [(a.client, a.session, a.clinician, a.date.isoformat()) for a in records] == [
        ("101", 1, "T01", "2026-09-03"),
        ("101", 2, "T01", "2026-09-10"),
        ("102", 1, "T02", "2026-09-04"),
    ]
    assert records[1].answers["item_5"] is None
    assert clean["administration"].tolist() == [
        "redcap:101:sessions_arm_1:wai_sr:1",
        "redcap:101:sessions_arm_1:wai_sr:2",
        "redcap:102:sessions_arm_1:wai_sr:1",
    ]
    again, _ = read_records(path, mapping, registry)
    assert again["idempotency_key"].tolist() == clean["idempotency_key"].tolist()


def test_round_trip_through_redcap_fields(registry: Registry, administrations: list) -> None:
    """Administrations → the fields of a project built from our dictionary, as its records
    export names them → administrations, with the mapping the dictionary comes with."""
    wai_sr = registry.get("wai-sr")
    wai = [a for a in administrations if a.instrument == "wai-sr"]
    wide, _ = check_wide(to_wide(wai), registry)
    dictionary = data_dictionary(wai_sr)
    names = item_fields(wai_sr)
    session, date = session_fields(wai_sr).values()
    export = pd.DataFrame(
        {
            "record_id": wide["client"],
            session: wide["session"].astype(str),
            date: wide["date"].dt.strftime("%Y-%m-%d"),
            **{names[c]: wide[c].map(lambda v: "" if pd.isna(v) else f"{v:g}") for c in names},
        }
    )
    assert list(export.columns) == dictionary["Variable / Field Name"].tolist()
    mapping = default_mapping(wai_sr) | {"values": {"episode": "E1"}}
    clean, report = read_records(export, mapping, registry)
    assert report.ok
    back = from_wide(clean.assign(administration=None), registry)
    assert back == wai


def test_bad_records_are_named_by_redcap_field_and_line(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        export_text(
            "4,4,4,4,4,4,5,4,4,4,4,4", "5,4,5,3,,3,4,3,4,4,4,Often", "1,2,3,4,5,1,2,3,4,5,1,7"
        ),
        encoding="utf-8",
    )
    clean, report = read_records(path, MAPPING, registry)
    assert clean.empty
    assert [(p.line, p.column, p.value) for p in report.problems] == [
        (4, "wai_sr_12", "Often"),
        (5, "wai_sr_12", "7"),
    ]


def test_repeated_records_name_the_lines_of_the_export(tmp_path: Path, registry: Registry) -> None:
    a = "4,4,4,4,4,4,5,4,4,4,4,4"
    text = export_text(a, "5,4,5,3,,3,4,3,4,4,4,4", "1,2,3,4,5,1,2,3,4,5,1,2")
    lines = text.splitlines()
    path = tmp_path / "export.csv"
    path.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")  # line 3 again
    _, report = read_records(path, MAPPING, registry)
    assert [(p.line, p.problem) for p in report.problems] == [
        (6, "the same administration as line 3")
    ]


def test_missing_fields_and_bad_mappings(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "export.csv"
    path.write_text("record_id,visit_date\n1,2026-01-01\n", encoding="utf-8")
    _, report = read_records(path, MAPPING, registry)
    assert [p.column for p in report.problems][:3] == [
        "redcap_repeat_instance",
        "therapist",
        "wai_sr_1",
    ]
    with pytest.raises(ValueError, match=r"fields\.date is required"):
        load_mapping({"instrument": "wai-sr", "fields": {"client": "a", "session": "b"}})
    with pytest.raises(ValueError, match="unknown"):
        load_mapping({**MAPPING, "fields": {**MAPPING["fields"], "name": "full_name"}})
    with pytest.raises(ValueError, match="both as a field and as a value"):
        load_mapping({**MAPPING, "fields": {**MAPPING["fields"], "episode": "ep"}})
    _, report = read_records(path, {**MAPPING, "instrument": "wai-x"}, registry)
    assert "unknown instrument" in report.problems[0].problem
