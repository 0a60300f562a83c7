"""``alliance fhir``, ``alliance redcap`` and ``alliance deidentify`` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from typer.testing import CliRunner

from alliance.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_questionnaire_prints_valid_json() -> None:
    code, out, err = run("fhir", "questionnaire", "gad-7", "--base-url", "https://x.example/fhir")
    assert code == 0, err
    q = Questionnaire.model_validate(json.loads(out))
    assert q.url == "https://x.example/fhir/Questionnaire/gad-7"


def test_questionnaire_with_a_wording_pack(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    code, _, err = run("instruments", "template", "wai-b3", "--language", "fr", "-o", str(pack))
    assert code == 0, err
    data = yaml.safe_load(pack.read_text(encoding="utf-8"))
    data["source"] = "Test pack"
    data["items"] = {k: f"Texte {k}" for k in data["items"]}
    data["options"] = {k: f"Choix {k}" for k in data["options"]}
    pack.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out, err = run("fhir", "questionnaire", "wai-b3", "--wording", str(pack))
    assert code == 0, err
    q = json.loads(out)
    assert (q["language"], q["item"][0]["text"]) == ("fr", "Texte item_1")


def test_bundle_and_import_round_trip(tmp_path: Path) -> None:
    bundle, back = tmp_path / "c002.json", tmp_path / "c002.csv"
    source = EXAMPLES / "administrations.csv"
    code, _, err = run("fhir", "bundle", str(source), "--client", "C002", "-o", str(bundle))
    assert code == 0, err
    Bundle.model_validate(json.loads(bundle.read_text(encoding="utf-8")))
    code, _, err = run("fhir", "import", str(bundle), "-o", str(back))
    assert code == 0, err
    original = pd.read_csv(source, dtype=str, keep_default_na=False)
    mine = original[original["client"] == "C002"].reset_index(drop=True)
    got = pd.read_csv(back, dtype=str, keep_default_na=False)
    assert got["administration"].tolist() == mine["administration"].tolist()
    numbers = [c for c in mine.columns if c.startswith("item_")]
    pd.testing.assert_frame_equal(
        got[numbers].apply(pd.to_numeric), mine[numbers].apply(pd.to_numeric)
    )
    assert (tmp_path / "c002.codebook.csv").exists()
    code, _, err = run("fhir", "bundle", str(source), "--client", "C999")
    assert code == 1 and "no administrations of client 'C999'" in err


def test_redcap_dictionary_and_import(tmp_path: Path) -> None:
    """A project built from our dictionary exports records that import back with the
    mapping written beside it."""
    dictionary = tmp_path / "dd.csv"
    mapping = tmp_path / "map.yaml"
    code, _, err = run(
        "redcap", "dictionary", "wai-sr", "-o", str(dictionary), "--mapping-out", str(mapping)
    )
    assert code == 0, err
    fields = pd.read_csv(dictionary, dtype=str)["Variable / Field Name"].tolist()
    assert fields[:3] == ["record_id", "wai_sr_session", "wai_sr_date"]
    assert yaml.safe_load(mapping.read_text(encoding="utf-8"))["fields"] == {
        "client": "record_id",
        "session": "wai_sr_session",
        "date": "wai_sr_date",
    }
    export = tmp_path / "export.csv"
    export.write_text(
        ",".join(fields)
        + "\n"
        + ",".join(["7", "1", "2026-05-04", *("3" for _ in fields[3:])])
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "administrations.parquet"
    code, _, err = run("redcap", "import", str(export), "--mapping", str(mapping), "-o", str(out))
    assert code == 0, err
    table = pd.read_parquet(out)
    assert table["client"].tolist() == ["7"] and table["item_12"].tolist() == [3.0]
    code, _, err = run("redcap", "import", str(export), "--mapping", str(mapping), "-o", str(out))
    assert code == 1 and "exists" in err


def test_redcap_import_reports_bad_rows(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "record_id,visit,visit_date," + ",".join(f"wai_sr_{i}" for i in range(1, 13)) + "\n"
        "1,1,2026-05-04," + ",".join(["9"] * 12) + "\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "instrument: wai-sr\nfields: {client: record_id, session: visit, date: visit_date}\n"
        "values: {episode: '1'}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    code, _, err = run("redcap", "import", str(export), "--mapping", str(mapping), "-o", str(out))
    assert code == 1
    assert "nothing imported; 12 problems in 1 row" in err
    assert "line 2, column wai_sr_1: not an allowed value '9'" in err
    assert not out.exists()


def test_deidentify_writes_a_research_export(tmp_path: Path) -> None:
    out = tmp_path / "research.csv"
    code, _, err = run(
        "deidentify", str(EXAMPLES / "administrations.csv"), "-o", str(out), "--k", "2"
    )
    assert code == 0, err
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "research.codebook.csv",
        "research.csv",
        "research.scores.codebook.csv",
        "research.scores.csv",
        "research.summary.json",
    ]
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    for code_ in ("C001", "C002", "C003", "C004", "T01", "T02", "A001"):
        assert code_ not in text
    summary = json.loads((tmp_path / "research.summary.json").read_text(encoding="utf-8"))
    assert summary["clients"] == 4 and summary["rows"] == {"administrations": 36, "scores": 108}


def test_deidentify_drops_identifying_columns_and_says_so(tmp_path: Path) -> None:
    """Names, e-mail addresses, dates of birth and notes beside the administrations are left
    out (not refused) and named in the message and the summary (security review 14)."""
    table = pd.read_csv(EXAMPLES / "administrations.csv", dtype=str)
    table["name"] = "Name " + table["client"]
    table["email"] = table["client"].str.lower() + "@example.org"
    table["date_of_birth"] = "1971-03-14"
    table["note"] = "said the last session felt rushed"
    source = tmp_path / "identified.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "research.csv"
    code, _, err = run("deidentify", str(source), "-o", str(out), "--k", "2")
    message = " ".join(err.split())
    assert code == 0, err
    assert "nothing imported" not in message
    assert "dropped 4 columns of the file: name, email, date_of_birth, note" in message
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("research*"))
    for value in ("Name C001", "c001@example.org", "1971-03-14", "rushed"):
        assert value not in text
    summary = json.loads((tmp_path / "research.summary.json").read_text(encoding="utf-8"))
    dropped = summary["dropped_columns"]["administrations"]
    assert dropped[:4] == ["name", "email", "date_of_birth", "note"]


def test_deidentify_says_nothing_was_written_for_a_bad_file(tmp_path: Path) -> None:
    table = pd.read_csv(EXAMPLES / "administrations.csv", dtype=str)
    table.loc[0, "item_1"] = "often"
    source = tmp_path / "bad.csv"
    table.to_csv(source, index=False)
    code, _, err = run("deidentify", str(source), "-o", str(tmp_path / "research.csv"))
    message = " ".join(err.split())
    assert code == 1
    assert "nothing written" in message and "nothing imported" not in message
    assert "line 2, column item_1" in message
    assert not list(tmp_path.glob("research*"))


def test_the_readme_redcap_example_imports(tmp_path: Path) -> None:
    out = tmp_path / "wai-sr.parquet"
    code, _, err = run(
        "redcap",
        "import",
        str(EXAMPLES / "redcap-wai-sr-export.csv"),
        "--mapping",
        str(EXAMPLES / "redcap-mapping.yaml"),
        "-o",
        str(out),
    )
    assert code == 0, err
    assert "3 of 4 rows read (1 empty row skipped)" in " ".join(err.split())
    table = pd.read_parquet(out)
    assert table["clinician"].tolist() == ["T01", "T01", "T02"]
    assert pd.isna(table.loc[1, "item_5"])


def test_fhir_import_matches_the_ehrs_patient(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "data" / "ehr-phq9-response.json"
    table = tmp_path / "ehr.csv"
    where = ("--episode", "E1", "--session", "3", "-o", str(table))
    code, _, err = run("fhir", "import", str(source), *where)
    assert code == 1 and "--identifier" in err
    wrong = "urn:oid:1.2.3.4.5.1|MRN-999"
    code, _, err = run(
        "fhir", "import", str(source), "--client", "C9", "--identifier", wrong, *where
    )
    assert code == 1 and "another system's identifier" in err
    right = "urn:oid:1.2.3.4.5.1|MRN-000123"
    code, _, err = run(
        "fhir", "import", str(source), "--client", "C9", "--identifier", right, *where
    )
    assert code == 0, err
    got = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert got[["client", "episode", "session", "instrument"]].values.tolist() == [
        ["C9", "E1", "3", "phq-9"]
    ]
    code, _, err = run("fhir", "import", str(source), "--identifier", right, *where)
    assert code == 1 and "--client" in err
