"""Reading any importable file into the clean wide table, each row with its place in the file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alliance.instruments.registry import Registry
from alliance.interop import fhir
from alliance.interop.keys import KEY_COLUMN
from alliance.interop.sources import TIDY_REFUSAL, detect_format, read_source
from alliance.interop.tabular import read_administrations, write_administrations, write_scores
from alliance.interop.tidy import scores_long
from alliance.interop.wide import check_wide, to_wide
from alliance.records import Administration

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_format_is_guessed_from_the_file(tmp_path: Path, registry: Registry) -> None:
    assert detect_format(EXAMPLES / "administrations.csv") == "wide"
    assert detect_format(EXAMPLES / "redcap-wai-sr-export.csv", mapping={}) == "redcap"
    assert detect_format(tmp_path / "x.json") == "fhir"
    table, _ = read_administrations(EXAMPLES / "administrations.csv", registry)
    write_scores(scores_long(table, registry), tmp_path / "scores.parquet", registry)
    assert detect_format(tmp_path / "scores.parquet") == "tidy"
    assert detect_format(tmp_path / "missing.csv") == "wide"  # the reader says what is wrong


def test_a_wide_csv_keeps_each_rows_line(registry: Registry) -> None:
    source = read_source(EXAMPLES / "administrations.csv", registry)
    assert source.ok and source.format == "wide"
    assert len(source.table) == len(source.lines) == len(source.rows) == 36
    assert (source.lines[0], source.lines[-1]) == (2, 37)
    assert source.rows[:3] == [1, 2, 3]
    assert source.table[KEY_COLUMN].str.fullmatch("[0-9a-f]{32}").all()


def test_a_parquet_file_has_rows_but_no_lines(
    tmp_path: Path, registry: Registry, administrations: list[Administration]
) -> None:
    clean, _ = check_wide(to_wide(administrations), registry)
    write_administrations(clean, tmp_path / "a.parquet", registry)
    source = read_source(tmp_path / "a.parquet", registry, name="upload.parquet")
    assert source.ok and source.report.source == "upload.parquet"
    assert source.lines == [None] * 6 and source.rows == [1, 2, 3, 4, 5, 6]


def test_a_redcap_export_names_the_lines_of_the_records_kept(registry: Registry) -> None:
    source = read_source(
        EXAMPLES / "redcap-wai-sr-export.csv",
        registry,
        mapping=EXAMPLES / "redcap-mapping.yaml",
    )
    assert source.ok and source.format == "redcap" and source.report.skipped == 1
    assert source.lines == [3, 4, 5]  # line 2 (the baseline event) has no answers
    assert source.table["client"].tolist() == ["101", "101", "102"]
    with pytest.raises(ValueError, match="needs a mapping"):
        read_source(EXAMPLES / "redcap-wai-sr-export.csv", registry, format="redcap")


def test_a_fhir_bundle_and_a_single_response(
    tmp_path: Path, registry: Registry, administrations: list[Administration]
) -> None:
    c002 = [a for a in administrations if a.client == "C002"]
    path = tmp_path / "c002.json"
    path.write_text(fhir.to_json(fhir.bundle("C002", c002, registry)), encoding="utf-8")
    source = read_source(path, registry)
    assert source.ok and source.format == "fhir"
    assert source.rows == [1, 2, 3] and source.lines == [None] * 3
    assert source.table["instrument"].tolist() == ["phq-9", "core-10", "wai-s"]
    inst = registry.get("core-10")
    single = fhir.questionnaire_response(c002[1], inst)
    path.write_text(fhir.to_json(single), encoding="utf-8")
    assert read_source(path, registry).table["client"].tolist() == ["C002"]
    foreign = json.loads(fhir.to_json(single))
    foreign["extension"] = [e for e in foreign["extension"] if not e["url"].endswith("/episode")]
    path.write_text(json.dumps(foreign), encoding="utf-8")
    rejected = read_source(path, registry)
    assert not rejected.ok and rejected.table.empty
    assert "no episode" in rejected.report.problems[0].problem
    path.write_text("{not json", encoding="utf-8")
    assert read_source(path, registry).report.problems[0].problem == "not a FHIR JSON resource"


def test_a_tidy_table_is_checked_then_refused(tmp_path: Path, registry: Registry) -> None:
    table, _ = read_administrations(EXAMPLES / "administrations.csv", registry)
    write_scores(scores_long(table, registry), tmp_path / "scores.csv", registry)
    source = read_source(tmp_path / "scores.csv", registry)
    assert source.format == "tidy" and source.table.empty
    assert [p.problem for p in source.report.problems] == [TIDY_REFUSAL]
    bad = pd.read_csv(tmp_path / "scores.csv", dtype=str, keep_default_na=False)
    bad.loc[0, "score"] = "many"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    problems = read_source(tmp_path / "bad.csv", registry, format="tidy").report.problems
    assert [(p.line, p.column) for p in problems] == [(2, "score")]  # the cells come first


def test_an_unknown_format_is_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="format must be one of auto, wide, tidy, redcap, fhir"):
        read_source(EXAMPLES / "administrations.csv", registry, format="xlsx")  # type: ignore[arg-type]
