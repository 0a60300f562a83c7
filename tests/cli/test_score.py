"""``alliance score`` end to end on real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_wai_sr_sums(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    code, _, err = run(
        "score", str(EXAMPLES / "wai-sr.csv"), "--instrument", "wai-sr", "-o", str(out)
    )
    assert code == 0, err
    scores = pd.read_csv(out, dtype={"client": str})
    answers = pd.read_csv(EXAMPLES / "wai-sr.csv")
    assert list(scores.columns) == ["client", "session", "date", "task", "goal", "bond", "total"]
    items = answers[[f"item_{i}" for i in range(1, 13)]]
    pd.testing.assert_series_equal(
        scores["task"],
        items[["item_1", "item_2", "item_10", "item_12"]].sum(axis=1, min_count=4),
        check_names=False,
    )
    pd.testing.assert_series_equal(
        scores["total"], items.sum(axis=1, min_count=12), check_names=False, check_dtype=False
    )
    assert scores["total"].isna().sum() == 1  # the example has one unanswered goal item
    assert "Scored 36 rows of wai-sr 1.0" in err


def test_phq9_and_gad7_sums_and_bands(tmp_path: Path) -> None:
    text = "client,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9,item_10\n"
    text += "007,0,0,0,0,0,0,0,0,0,\n"  # 0, minimal
    text += "008,3,3,3,3,3,3,3,3,0,2\n"  # 24, severe
    text += "009,1,1,1,1,1,1,1,,1,\n"  # 8 × 9/8 = 9, mild, risk
    text += "010,1,1,1,1,1,1,1,1,,\n"  # 8 × 9/8 = 9, mild, risk item left empty
    out = tmp_path / "phq.csv"
    code, _, err = run(
        "score", str(write_csv(tmp_path / "in.csv", text)), "-i", "phq-9", "-o", str(out)
    )
    assert code == 0, err
    assert out.read_text(encoding="utf-8").splitlines() == [
        "client,total,total_band,total_clinical,risk,risk_unanswered",
        "007,0,minimal,false,false,false",
        "008,24,severe,true,false,false",
        "009,9,mild,false,true,false",
        "010,9,mild,false,false,true",
    ]
    assert "risk item answered above the lowest option in 1 row" in err
    assert "risk item left empty in 1 row" in err

    text = "id,item_1,item_2,item_3,item_4,item_5,item_6,item_7\n"
    text += "a,3,3,3,3,3,3,3\nb,1,1,1,1,2,2,2\nc,1,1,1,1,1,1,\n"
    out = tmp_path / "gad.csv"
    code, _, err = run(
        "score", str(write_csv(tmp_path / "g.csv", text)), "-i", "gad-7", "-o", str(out)
    )
    assert code == 0, err
    assert out.read_text(encoding="utf-8").splitlines() == [
        "id,total,total_band,total_gad,total_clinical",
        "a,21,severe,true,true",
        "b,10,moderate,true,true",
        "c,,,,",
    ]
    assert "total: 1 of 3 rows left empty" in err


def test_out_of_range_value_fails_and_writes_nothing(tmp_path: Path) -> None:
    text = "client,item_1,item_2,item_3,item_4,item_5,item_6,item_7\n"
    text += "a,1,1,1,1,1,1,1\nb,1,1,1,1,1,1,1\nc,1,1,5,1,1,1,1\n"
    source = write_csv(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    code, _, err = run("score", str(source), "-i", "gad-7", "-o", str(out))
    assert code == 1
    assert "row 3, column item_3: value out of range: 5; allowed: 0, 1, 2, 3" in err
    assert "(line 4 of in.csv)" in err
    assert "nothing was written" in err
    assert leftovers(tmp_path) == ["in.csv"]


def test_error_in_a_late_chunk_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alliance import files

    monkeypatch.setattr(files, "CHUNK_ROWS", 10)
    rows = ["1,1,1,1,1,1,1"] * 95 + ["1,1,1,x,1,1,1"]
    source = write_csv(
        tmp_path / "in.csv",
        "item_1,item_2,item_3,item_4,item_5,item_6,item_7\n" + "\n".join(rows) + "\n",
    )
    for name in ("out.csv", "out.parquet"):
        code, _, err = run("score", str(source), "-i", "gad-7", "-o", str(tmp_path / name))
        assert code == 1
        assert "row 96, column item_4: wrong type: not a number: 'x'" in err
    assert leftovers(tmp_path) == ["in.csv"]


def test_parquet_in_and_out_carry_columns_unchanged(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "client": ["007", "010"],
            "when": pd.to_datetime(["2026-01-02", "2026-02-03"]),
            **{f"item_{i}": [10.0, 2.5] for i in range(1, 5)},
        }
    )
    source = tmp_path / "srs.parquet"
    frame.to_parquet(source)
    out = tmp_path / "scores.parquet"
    code, _, err = run("score", str(source), "-i", "srs", "-o", str(out), "--keep-items")
    assert code == 0, err
    scores = pd.read_parquet(out)
    assert scores["client"].tolist() == ["007", "010"]
    assert scores["when"].tolist() == frame["when"].tolist()
    assert scores["item_1"].tolist() == [10.0, 2.5]
    assert scores["total"].tolist() == [40.0, 10.0]
    assert scores["total_concern"].tolist() == [False, True]


def test_csv_text_columns_are_carried_exactly(tmp_path: Path) -> None:
    text = 'code,note,item_1,item_2,item_3\n007,"a, b",5,5,5\n0012,,1,1,1\n'
    out = tmp_path / "o.csv"
    code, _, err = run(
        "score", str(write_csv(tmp_path / "i.csv", text)), "-i", "wai-b3", "-o", str(out)
    )
    assert code == 0, err
    with out.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["code", "note", "total"],
            ["007", "a, b", "15"],
            ["0012", "", "3"],
        ]


def test_print_table_without_output(tmp_path: Path) -> None:
    code, stdout, err = run("score", str(EXAMPLES / "gad-7.csv"), "-i", "gad-7", "--limit", "3")
    assert code == 0, err
    assert "Generalized Anxiety Disorder-7" in stdout
    assert "… 9 more rows; use -o FILE to write them all." in stdout
    assert "Summary" in stdout
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("", "empty.csv", "the file is empty"),
        ("item_1,item_2\n1,2\n", "few.csv", "column item_3 is missing"),
        ("item_1,item_2,item_3,item_4\n1,2,3,4\n", "many.csv", "unknown item column item_4"),
        ("item_1,item_2,item_3\n1,2,3,4\n", "long.csv", "not a well-formed CSV file"),
        ("item_1,item_2,item_3\n1,2,3\n1,2,3,4\n", "ragged.csv", "not a well-formed CSV file"),
        ("item_1,item_2,item_3\n1,2,3\n", "answers.txt", "unknown file type '.txt'"),
        ("item_1,item_2,item_3,total\n1,2,3,4\n", "clash.csv", "already has a column named total"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, name: str, message: str) -> None:
    source = write_csv(tmp_path / name, content)
    code, _, err = run("score", str(source), "-i", "wai-b3", "-o", str(tmp_path / "out.csv"))
    assert code == 1
    assert message in err
    assert leftovers(tmp_path) == [name]


def test_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "latin.csv"
    source.write_bytes("client,item_1,item_2,item_3\nJos\xe9,1,1,1\n".encode("latin-1"))
    code, _, err = run("score", str(source), "-i", "wai-b3", "-o", str(tmp_path / "o.csv"))
    assert code == 1
    assert "not UTF-8 text" in err


def test_unknown_instrument_and_unconfirmed_key(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", "item_1\n1\n")
    code, _, err = run("score", str(source), "-i", "wai-x")
    assert code == 1
    assert "unknown instrument 'wai-x'" in err
    code, _, err = run("score", str(EXAMPLES / "wai-sr.csv"), "-i", "wai-s")
    assert code == 1
    assert "wai-s 1.0 cannot be scored" in err
    assert "not confirmed from a published source" in err


def test_refuses_to_overwrite_the_input(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", "item_1,item_2,item_3\n1,1,1\n")
    code, _, err = run("score", str(source), "-i", "wai-b3", "-o", str(source))
    assert code == 1
    assert "would overwrite the input" in err
    assert source.read_text(encoding="utf-8") == "item_1,item_2,item_3\n1,1,1\n"


def test_missing_markers_from_r_and_spss_exports(tmp_path: Path) -> None:
    text = "id,item_1,item_2,item_3\na,NA,3,3\nb,2,,3\nc,1,N/A,2\nd,5,5,5\n"
    out = tmp_path / "o.csv"
    code, _, err = run(
        "score", str(write_csv(tmp_path / "i.csv", text)), "-i", "wai-b3", "-o", str(out)
    )
    assert code == 0, err
    assert pd.read_csv(out)["total"].tolist()[3] == 15
    assert pd.read_csv(out)["total"].isna().tolist() == [True, True, True, False]


def test_phq9_without_its_unscored_difficulty_question(tmp_path: Path) -> None:
    text = "client," + ",".join(f"item_{i}" for i in range(1, 10)) + "\n"
    text += "a,1,1,1,1,1,1,1,1,0\n"
    out = tmp_path / "phq.csv"
    code, _, err = run(
        "score", str(write_csv(tmp_path / "in.csv", text)), "-i", "phq-9", "-o", str(out)
    )
    assert code == 0, err
    assert out.read_text(encoding="utf-8").splitlines()[1] == "a,8,mild,false,false,false"


def test_a_semicolon_separated_file_is_named_as_such(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", "client;item_1;item_2\na;1;2\n")
    code, _, err = run("score", str(path), "-i", "gad-7")
    assert code == 1
    assert "separate columns with semicolons" in " ".join(err.split())
