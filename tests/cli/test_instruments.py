"""``alliance instruments list | show | template | check``."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from alliance.cli import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_every_instrument() -> None:
    code, stdout, _ = run("instruments", "list")
    assert code == 0
    for instrument_id in (
        "wai-sr",
        "wai-s",
        "wai",
        "sai",
        "haq-ii",
        "srs",
        "wai-b3",
        "phq-9",
        "gad-7",
        "core-10",
        "k10",
        "ors",
    ):
        assert f"\n {instrument_id} " in stdout or f"\n{instrument_id} " in stdout
    assert "scoring key not confirmed" in stdout


def test_show_gives_key_sources_and_status() -> None:
    code, stdout, _ = run("instruments", "show", "phq-9")
    assert code == 0
    assert "Patient Health Questionnaire-9" in stdout
    assert "prorated_sum, up to 2 missing" in stdout
    assert "cut-off clinical: at or above 10" in stdout
    assert "reliable change: 6 points" in stdout
    assert "nhs-dd:" in stdout
    code, stdout, _ = run("instruments", "show", "wai")
    assert "Not confirmed" in stdout
    assert "not confirmed" in stdout


def test_show_unknown() -> None:
    code, _, err = run("instruments", "show", "nope")
    assert code == 1
    assert "unknown instrument 'nope'" in err


def test_template_to_file_and_check(tmp_path: Path) -> None:
    target = tmp_path / "wai-sr.de.yaml"
    code, stdout, _ = run(
        "instruments", "template", "wai-sr", "--language", "de", "-o", str(target)
    )
    assert code == 0
    assert "Wrote a blank wording pack" in stdout
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data["language"] == "de" and len(data["items"]) == 12
    code, _, err = run("instruments", "check", str(target))
    assert code == 1
    assert "field items.item_1: missing or empty" in err
    data["source"] = "Test wording"
    data["items"] = dict.fromkeys(data["items"], "Text")
    data["options"] = dict.fromkeys(data["options"], "Option")
    target.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, stdout, _ = run("instruments", "check", str(target))
    assert code == 0
    assert "a valid de wording pack for wai-sr 1.0" in stdout
    code, _, err = run("instruments", "template", "wai-sr", "-o", str(target))
    assert code == 1
    assert "exists" in err


def test_check_a_definition(tmp_path: Path) -> None:
    code, stdout, _ = run(
        "instruments",
        "check",
        str(Path(__file__).parents[2] / "src/alliance/instruments/definitions/sai.yaml"),
    )
    assert code == 0
    assert "a valid definition of sai 1.0" in stdout
    assert "not confirmed: response" in stdout
    bad = tmp_path / "x.yaml"
    bad.write_text("id: x\nversion: one\n", encoding="utf-8")
    code, _, err = run("instruments", "check", str(bad))
    assert code == 1
    assert "field version" in err


def test_show_says_how_sure_each_cutoff_and_rule_is() -> None:
    code, srs, _ = run("instruments", "show", "srs")
    assert code == 0
    assert (
        "cut-off concern: below 36 (value confirmed, boundary partial: the project's choice)" in srs
    )
    assert "Confirmed in part" in srs
    assert "every item needed (the project's rule: no missing-data rule is published)" in srs
    _, ors, _ = run("instruments", "show", "ors")
    assert "below 25 for adults (value confirmed, boundary partial" in ors
    assert "cut-off adolescent: below 28 for ages 13–17 (not confirmed: not applied)" in ors
    _, gad, _ = run("instruments", "show", "gad-7")
    assert "recovered: at or above 8 at the first rating" in gad
    assert "both from iapt" in gad
    _, phq, _ = run("instruments", "show", "phq-9")
    assert "up to 2 missing, range" in phq and "no missing-data rule is published" not in phq
