"""Every CSV file the project writes is safe to open in a spreadsheet: text that a spreadsheet
would run as a formula (starting with = + - @, tab or CR) gets a leading apostrophe (OWASP's
CSV injection guidance), in the tables export, the research export, `alliance score`, the
REDCap dictionary and transcript outputs, and the codebooks say so."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alliance.cli import app
from alliance.files import AtomicTableWriter, safe_cell, spreadsheet_safe
from alliance.interop.redcap import REDCAP_COLUMNS, dictionary_csv
from tests.fixtures.database import World

ATTACK = "=cmd|' /C calc'!A0"
API = "/api/v1"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (ATTACK, "'" + ATTACK),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3", "-3"),  # a plain number stays a number
        ("+1.5e3", "+1.5e3"),
        ("went quiet", "went quiet"),
        ("", ""),
    ],
)
def test_safe_cell(cell: str, written: str) -> None:
    assert safe_cell(cell) == written


def test_a_written_csv_has_no_cell_a_spreadsheet_would_run(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "note": [ATTACK, "fine", None],
            "code": pd.Categorical(["@x", "C1", "C2"]),
            "score": [-3.0, 1.0, 2.0],
            "=header": ["a", "b", "c"],
        }
    )
    path = tmp_path / "out.csv"
    with AtomicTableWriter(path) as writer:
        writer.write(frame)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == ["note", "code", "score", "'=header"]
    assert rows[1] == ["'" + ATTACK, "'@x", "-3", "a"]
    parquet = tmp_path / "out.parquet"
    with AtomicTableWriter(parquet) as writer:
        writer.write(frame)
    assert pd.read_parquet(parquet)["note"].iloc[0] == ATTACK  # Parquet keeps the text
    numbers = frame[["score"]]
    assert spreadsheet_safe(numbers) is numbers  # nothing to change: no copy


def test_a_rupture_note_leaves_the_tables_export_defused(api: TestClient, world: World) -> None:
    c1 = world["c1"].headers
    reported = api.post(
        f"{API}/sessions/{world.sessions['c1']}/ruptures", headers=c1, json={"note": ATTACK}
    )
    assert reported.status_code in (200, 201), reported.text
    response = api.get(f"{API}/exports/tables", headers=c1)
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        events = archive.read("administrations.events.csv").decode()
        book = archive.read("administrations.events.codebook.csv").decode()
    notes = [row["note"] for row in csv.DictReader(io.StringIO(events))]
    assert notes == ["'" + ATTACK]
    assert "CSV injection" in book


def test_alliance_score_defuses_the_columns_it_carries(tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    items = ",".join(f"item_{i}" for i in range(1, 8))
    source.write_text(f"client,comment,{items}\nC1,{ATTACK},{','.join('1' * 7)}\n")
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["score", str(source), "--instrument", "gad-7", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["comment"] == "'" + ATTACK


def test_the_redcap_dictionary_is_defused() -> None:
    frame = pd.DataFrame([dict.fromkeys(("Variable / Field Name",), "")])

    row = dict.fromkeys(REDCAP_COLUMNS, "")
    row["Field Label"] = ATTACK
    text = dictionary_csv(pd.DataFrame([row]))
    assert "'" + ATTACK.replace('"', '""') in text
    assert frame is not None
