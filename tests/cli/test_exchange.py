"""``alliance import`` and ``alliance export fhir | tables | research`` on a database file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from alliance.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
ORG = "Riverside Clinic"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite3'}",
        "ALLIANCE_BASE_URL": "https://clinic.example",
    }

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    for args in (("init",), ("org", "add", ORG)):
        assert invoke(*args)[0] == 0
    password = tmp_path / "password"
    password.write_text("a long enough password\n", encoding="utf-8")
    code, _, err = invoke(
        "user",
        "add",
        "alice",
        "--org",
        ORG,
        "--role",
        "clinician",
        "--password-file",
        str(password),
    )
    assert code == 0, err
    return invoke


def test_import_then_export_every_way(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = EXAMPLES / "administrations.csv"
    code, _, err = run("import", str(source), "--org", ORG, "--clinician", "alice")
    assert code == 0, err
    assert "36 of 36 administrations stored" in err
    assert "4 new clients, 4 new episodes, 24 new sessions" in err
    code, _, err = run("import", str(source), "--org", ORG, "--clinician", "alice")
    assert code == 0, err
    assert "0 of 36 administrations stored; 36 already stored" in err

    tables = tmp_path / "clinic.csv"
    code, out, err = run("export", "tables", "--org", ORG, "-o", str(tables))
    assert code == 0, err
    assert "Wrote 36 administrations of 4 clients" in out
    exported = pd.read_csv(tables, dtype=str, keep_default_na=False)
    original = pd.read_csv(source, dtype=str, keep_default_na=False)
    items = [c for c in original.columns if c.startswith("item_")]
    key = ["client", "session", "instrument", "perspective", "stance"]
    mine = exported.sort_values(key).reset_index(drop=True)
    theirs = original.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[[*key, "date"]], theirs[[*key, "date"]])
    pd.testing.assert_frame_equal(
        mine[items].apply(pd.to_numeric), theirs[items].apply(pd.to_numeric)
    )
    assert set(exported["clinician"]) == {"alice"}
    assert (tmp_path / "clinic.scores.csv").exists() and (tmp_path / "clinic.codebook.csv").exists()
    assert run("export", "tables", "--org", ORG, "-o", str(tables))[0] == 1  # no overwriting

    bundle = tmp_path / "c002.json"
    code, out, err = run("export", "fhir", "--client", "C002", "--org", ORG, "-o", str(bundle))
    assert code == 0, err
    assert "(9 administrations)" in out
    resource = Bundle.model_validate_json(bundle.read_text(encoding="utf-8"))
    urls = {
        e.resource.questionnaire
        for e in resource.entry
        if e.resource.get_resource_type() == "QuestionnaireResponse"
    }  # type: ignore[union-attr]
    assert all(str(u).startswith("https://clinic.example/api/v1/fhir/Questionnaire/") for u in urls)
    code, _, err = run("import", str(bundle), "--org", ORG)
    assert (code, "0 of 9 administrations stored; 9 already stored" in err) == (0, True)

    research = tmp_path / "research.zip"
    code, out, err = run(
        "export", "research", "--org", ORG, "--study", "Pilot", "-o", str(research)
    )
    assert code == 1 and "no study 'Pilot'" in err
    code, out, err = run("study", "add", "Pilot", "--org", ORG, "--k", "2")
    assert code == 0, err
    assert "Added study 'Pilot'" in out and "k = 2" in out
    code, out, err = run("study", "list", "--org", ORG)
    assert code == 0 and out.split()[0] == "Pilot"
    code, out, err = run(
        "export", "research", "--org", ORG, "--study", "Pilot", "-o", str(research)
    )
    assert code == 0, err
    with zipfile.ZipFile(research) as archive:
        text = b"".join(archive.read(n) for n in archive.namelist()).decode()
        summary = json.loads(archive.read("research.summary.json"))
    assert summary["clients"] == 4
    assert not any(code in text for code in ("C001", "C002", "C003", "C004", "alice"))

    missing = run(
        "export", "fhir", "--client", "C999", "--org", ORG, "-o", str(tmp_path / "x.json")
    )
    assert missing[0] == 1 and "no client with code 'C999'" in missing[2]


def test_a_bad_file_imports_nothing_and_lists_every_problem(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    rows = (EXAMPLES / "administrations.csv").read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace(",8.5,", ",12,")  # an SRS line runs 0–10
    rows[5] = rows[5].replace(",E1,", ",first,")
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, _, err = run("import", str(bad), "--org", ORG, "--clinician", "alice")
    assert code == 1
    assert "line 3, column item_1: out of range '12'" in err
    fixed = bad.read_text(encoding="utf-8").replace(",12,", ",8.5,")
    bad.write_text(fixed, encoding="utf-8")
    code, _, err = run("import", str(bad), "--org", ORG, "--clinician", "alice")
    assert code == 1
    assert "nothing imported; 1 problem in 1 row" in err
    assert "line 6, column episode: not an episode number 'first'" in err
    code, out, err = run("export", "tables", "--org", ORG, "-o", str(tmp_path / "t.csv"))
    assert "Wrote 0 administrations of 0 clients" in out
    assert run("import", str(bad), "--org", "Nowhere")[0] == 1


def test_a_fhir_export_needs_the_sites_address(tmp_path: Path) -> None:
    env = {
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
        "ALLIANCE_BASE_URL": None,
    }
    args = ["export", "fhir", "--client", "C002", "--org", ORG, "-o", str(tmp_path / "x.json")]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1
    assert "ALLIANCE_BASE_URL=https://" in " ".join(result.stderr.split())
    assert not (tmp_path / "x.json").exists()
