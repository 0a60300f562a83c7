from __future__ import annotations

import math

import pandas as pd
import pytest

from alliance.transcripts import analysis
from alliance.transcripts.analysis import (
    DISCLAIMER,
    TranscriptAnalyzer,
    analyze_transcript,
)
from alliance.transcripts.embedding import HashingEmbedder
from alliance.transcripts.statements import load_statements
from alliance.transcripts.turns import Turn

SETS = load_statements()


def lines(construct: str, role: str, keying: str) -> list[str]:
    return [s.text for s in SETS.constructs[construct].statements[(role, keying)]]  # type: ignore[index]


def session(keying: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for clin, client in zip(
        lines("bond", "clinician", keying), lines("bond", "client", keying), strict=False
    ):
        rows += [{"speaker": "clinician", "text": clin}, {"speaker": "client", "text": client}]
    return rows


def test_bond_index_follows_the_keying_for_both_roles() -> None:
    warm = analyze_transcript(session("positive"), embedder=HashingEmbedder())
    cold = analyze_transcript(session("negative"), embedder=HashingEmbedder())
    for role in ("client", "clinician", "both"):
        assert warm.index("bond", role) > 0.3
        assert cold.index("bond", role) < -0.3
    assert set(warm.indices["role"]) == {"client", "clinician", "both"}
    assert warm.indices.loc[warm.indices["role"] == "client", "turns"].tolist() == [6, 6, 6]
    assert warm.index("bond", "both") == pytest.approx(
        (warm.index("bond", "client") + warm.index("bond", "clinician")) / 2
    )
    with pytest.raises(KeyError, match="no index for construct 'trust'"):
        warm.index("trust")


def test_evidence_names_the_strongest_turns_and_their_statements() -> None:
    rows = [
        {"speaker": "clinician", "text": "How was the week?"},
        {"speaker": "client", "text": "I went to the shops on Tuesday."},
        {"speaker": "clinician", "text": "And the rest?"},
        {"speaker": "client", "text": "I don't feel like you're listening to me."},
        {"speaker": "clinician", "text": "Go on."},
        {"speaker": "client", "text": "I'm glad I can be honest with you."},
    ]
    result = analyze_transcript(
        rows, embedder=HashingEmbedder(), analyzer=TranscriptAnalyzer(evidence=1)
    )
    ev = result.evidence[
        (result.evidence["construct"] == "bond") & (result.evidence["role"] == "client")
    ]
    assert ev[["direction", "turn", "statement"]].values.tolist() == [
        ["positive", 6, "bond.client.positive.3"],
        ["negative", 4, "bond.client.negative.2"],
    ]
    assert ev["text"].tolist() == [rows[5]["text"], rows[3]["text"]]


def test_flags_turns_and_meta() -> None:
    rows = [
        {
            "speaker": "clinician",
            "text": "What would you like to focus on in our time together today?",
        },
        {"speaker": "client", "text": "Don't know."},
        {"speaker": "clinician", "text": "Shall we look at the diary?"},
        {"speaker": "client", "text": "This isn't helping."},
    ]
    result = analyze_transcript(rows, embedder=HashingEmbedder())
    flags = result.flags
    assert flags[["turn", "family", "marker"]].values.tolist() == [
        [2, "withdrawal", "minimal_response"],
        [2, "withdrawal", "deflection"],
        [4, "confrontation", "complaint_about_therapy"],
    ]
    summary = result.ruptures.set_index("family")
    assert summary.loc["withdrawal", "flags"] == 2
    assert summary.loc["withdrawal", "flagged_turns"] == 1
    assert summary.loc["confrontation", "client_turns"] == 2
    assert result.turns["turn"].tolist() == [1, 2, 3, 4]
    assert result.turns["withdrawal"].isna().tolist() == [True, False, True, False]
    assert result.meta["disclaimer"] == DISCLAIMER == result.disclaimer
    assert result.meta["statements_version"] == "1"
    assert result.meta["embedder"] == "hashing-uni-bigram-4096"
    assert result.meta["configuration"]["rules"]["minimal_response"] == {
        "max_words": 2,
        "prompt_words": 12,
    }


def test_trajectory_windows_by_turns_without_times_and_by_minutes_with_them() -> None:
    rows = [
        {"speaker": "client" if i % 2 else "clinician", "text": f"Turn number {i}."}
        for i in range(10)
    ]
    by_turns = analyze_transcript(
        rows, embedder=HashingEmbedder(), analyzer=TranscriptAnalyzer(window_turns=4)
    )
    spans = (
        by_turns.trajectory[["window", "first_turn", "last_turn"]].drop_duplicates().values.tolist()
    )
    assert spans == [[1, 1, 4], [2, 5, 8], [3, 9, 10]]
    timed = [{**r, "start": 50 * i} for i, r in enumerate(rows)]  # 0 … 450 s
    by_time = analyze_transcript(
        timed, embedder=HashingEmbedder(), analyzer=TranscriptAnalyzer(window_minutes=2)
    )
    spans = (
        by_time.trajectory[["window", "first_turn", "last_turn", "start"]]
        .drop_duplicates()
        .values.tolist()
    )
    assert spans == [[1, 1, 3, 0.0], [2, 4, 5, 150.0], [3, 6, 8, 250.0], [4, 9, 10, 400.0]]
    signals = set(by_time.trajectory["signal"])
    assert signals == {"bond", "task", "goal", "withdrawal_flags", "confrontation_flags",
                       "words_median", "sentiment_mean"}  # fmt: skip
    words = by_time.trajectory[by_time.trajectory["signal"] == "words_median"]["value"].tolist()
    assert words == [3.0, 3.0, 3.0, 3.0]


def test_inputs_as_turns_dicts_or_a_dataframe_agree() -> None:
    rows = session("positive")
    turns = [Turn(i, r["speaker"], str(r["text"])) for i, r in enumerate(rows)]  # type: ignore[arg-type]
    a = analyze_transcript(rows, embedder=HashingEmbedder()).indices
    b = analyze_transcript(turns, embedder=HashingEmbedder()).indices
    c = analyze_transcript(pd.DataFrame(rows), embedder=HashingEmbedder()).indices
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="turns: missing column"):
        analyze_transcript(pd.DataFrame({"who": ["client"]}), embedder=HashingEmbedder())
    with pytest.raises(TypeError, match="item 1 is a str"):
        analyze_transcript(["hello"], embedder=HashingEmbedder())  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_turns": 1}, "window_turns: must be an integer of at least 2"),
        ({"window_minutes": 0}, "window_minutes: must be a positive number"),
        ({"evidence": 0}, "evidence: must be a positive integer"),
    ],
)
def test_analyzer_configuration_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TranscriptAnalyzer(**kwargs)  # type: ignore[arg-type]


def test_without_the_lexicon_sentiment_is_empty_and_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "sentiment_available", lambda: False)
    monkeypatch.setattr(analysis, "sentiment", lambda texts: [math.nan] * len(texts))
    result = analyze_transcript(session("positive"), embedder=HashingEmbedder())
    assert result.turns["sentiment"].isna().all()
    assert result.meta["notes"] == ["sentiment lexicon not installed"]


def test_sentiment_is_read_when_installed() -> None:
    if not analysis.sentiment_available():
        pytest.skip("vaderSentiment not installed")
    rows = [{"speaker": "client", "text": "I feel wonderful and happy."},
            {"speaker": "client", "text": "Everything is terrible and awful."}]  # fmt: skip
    feel = analyze_transcript(rows, embedder=HashingEmbedder()).turns["sentiment"].tolist()
    assert feel[0] > 0.5 > -0.5 > feel[1]
