"""``alliance transcripts analyze`` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli import app
from alliance.cli import transcripts as cli_transcripts
from alliance.transcripts import DISCLAIMER, model_installed

EXAMPLE = Path(__file__).parents[2] / "examples" / "transcript.csv"
FILES = {"indices.csv", "evidence.csv", "ruptures.csv", "flags.csv", "trajectory.csv",
         "turns.csv", "summary.json"}  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_analyze_writes_every_table_with_the_disclaimer(tmp_path: Path) -> None:
    out = tmp_path / "signals"
    code, stdout, stderr = run("transcripts", "analyze", str(EXAMPLE), "--out", str(out),
                               "--embedder", "hashing")  # fmt: skip
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == FILES
    assert DISCLAIMER in stdout
    assert "embedder hashing-uni-bigram-4096" in stdout
    for name in FILES - {"summary.json"}:
        frame = pd.read_csv(out / name)
        assert frame.columns[0] == "disclaimer"
        assert (frame["disclaimer"] == DISCLAIMER).all()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["disclaimer"] == DISCLAIMER
    assert summary["source"] == "transcript.csv"
    assert summary["statements_version"] == "1"
    assert {(r["construct"], r["role"]) for r in summary["indices"]} >= {("bond", "client")}
    flags = pd.read_csv(out / "flags.csv")
    assert {"turn", "family", "marker", "rule", "text"} <= set(flags.columns)
    assert set(flags["family"]) <= {"withdrawal", "confrontation"}
    assert [p.name for p in tmp_path.iterdir()] == ["signals"]  # no staging folder left


@pytest.mark.skipif(not model_installed(), reason="alliance[transcripts] not installed")
def test_analyze_with_the_model_flags_the_example_ruptures(tmp_path: Path) -> None:
    code, stdout, stderr = run("transcripts", "analyze", str(EXAMPLE), "--out", str(tmp_path / "o"))
    assert code == 0, stderr
    assert "all-MiniLM-L6-v2-onnx-int8" in stdout
    flags = pd.read_csv(tmp_path / "o" / "flags.csv")
    # the example has a confrontation around turns 16–24 and a withdrawal at turns 20–22
    assert set(flags.loc[flags["family"] == "confrontation", "turn"]) >= {16, 18}
    assert set(flags.loc[flags["family"] == "withdrawal", "turn"]) >= {20, 22}
    assert flags["turn"].between(16, 24).all()


def test_an_existing_folder_keeps_its_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, stderr = run("transcripts", "analyze", str(EXAMPLE), "-o", str(tmp_path),
                          "--embedder", "hashing")  # fmt: skip
    assert code == 0, stderr
    assert {p.name for p in tmp_path.iterdir()} == FILES | {"notes.txt"}


def test_a_malformed_transcript_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("speaker,text\nclient,hello\nvisitor,hi\n", encoding="utf-8")
    code, _, stderr = run("transcripts", "analyze", str(bad), "--out", str(tmp_path / "o"))
    assert code == 1
    assert "turn 2, speaker: unknown speaker role 'visitor'" in stderr
    assert "nothing was written" in stderr
    assert not (tmp_path / "o").exists()


def test_a_failed_write_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    out.mkdir()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_transcripts.json, "dumps", broken)
    code, _, stderr = run("transcripts", "analyze", str(EXAMPLE), "--out", str(out),
                          "--embedder", "hashing")  # fmt: skip
    assert code == 1
    assert "cannot write the results" in stderr
    assert list(out.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_options_are_checked(tmp_path: Path) -> None:
    code, _, stderr = run("transcripts", "analyze", str(EXAMPLE), "--out", str(tmp_path / "o"),
                          "--window-turns", "1", "--embedder", "hashing")  # fmt: skip
    assert code == 1
    assert "window_turns: must be an integer of at least 2" in stderr
    code, _, stderr = run("transcripts", "analyze", str(EXAMPLE), "--out", str(tmp_path / "o"),
                          "--statements", "7", "--embedder", "hashing")  # fmt: skip
    assert code == 1
    assert "statements version '7' does not exist" in stderr


def test_a_missing_role_gives_null_indices_in_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("Client: I slept badly.\nClient: Work was hard.\n", encoding="utf-8")
    code, _, stderr = run("transcripts", "analyze", str(path), "--out", str(tmp_path / "o"),
                          "--embedder", "hashing")  # fmt: skip
    assert code == 0, stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    clinician = [r for r in summary["indices"] if r["role"] == "clinician"]
    assert [r["index"] for r in clinician] == [None, None, None]
    assert all(r["turns"] == 0 for r in clinician)
