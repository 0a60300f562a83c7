from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance.transcripts.reading import read_transcript
from alliance.transcripts.turns import TranscriptError, Turn

EXPECTED = [
    Turn(0, "clinician", "What brings you here?", 0.0),
    Turn(1, "client", "My sleep, mostly.", 5.0),
]


def test_csv_with_synonym_columns_and_a_quoted_line_break(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Role,Timestamp,Utterance\n"
        "therapist,00:00:00,What brings you here?\n"
        'client,5,"My sleep,\nmostly."\n',
        encoding="utf-8",
    )
    assert read_transcript(path) == EXPECTED


def test_json_list_and_object(tmp_path: Path) -> None:
    rows = [
        {"speaker": "clinician", "text": "What brings you here?", "start": 0},
        {"speaker": "client", "text": "My sleep, mostly.", "start": "00:05"},
    ]
    (tmp_path / "a.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"turns": rows}), encoding="utf-8")
    assert read_transcript(tmp_path / "a.json") == EXPECTED
    assert read_transcript(tmp_path / "b.json") == EXPECTED


def test_plain_text_with_times_and_continuation_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(
        "[00:00:00] Clinician: What brings you here?\n\n[00:00:05] Client: My sleep,\nmostly.\n",
        encoding="utf-8",
    )
    assert read_transcript(path) == EXPECTED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.doc", "x", r"unknown transcript type '\.doc'"),
        ("t.csv", "", "the file is empty"),
        ("t.csv", "speaker,words\nclient,hi\n", r"no 'text' column.*found: speaker, words"),
        ("t.csv", "speaker,text,role\nclient,hi,client\n", "more than one column means 'speaker'"),
        ("t.csv", "speaker,text\nclient,hi,extra\n", "line 2 has 3 cells, the header has 2"),
        ("t.csv", "speaker,text\nnurse,hi\nvisitor,hello\n", r"turn 2, speaker: unknown speaker"),
        ("t.json", "[{", r"not valid JSON \(line 1"),
        ("t.json", '{"rows": []}', "needs a 'turns' list"),
        ("t.json", '["hi"]', "turn 1 is a str, not an object"),
        ("t.txt", "hello there\nClient: hi\n", "line 1: a transcript line starts with a speaker"),
    ],
)
def test_malformed_files_get_clear_errors(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TranscriptError, match=message) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_non_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"speaker,text\nclient,caf\xe9\n")
    with pytest.raises(TranscriptError, match=r"not UTF-8 text \(byte 23\)"):
        read_transcript(path)


def test_the_bundled_example_reads(tmp_path: Path) -> None:
    turns = read_transcript(Path(__file__).parents[2] / "examples" / "transcript.csv")
    assert len(turns) == 32
    assert {t.speaker for t in turns} == {"client", "clinician"}
    assert all(t.start is not None for t in turns)
