from __future__ import annotations

from collections.abc import Sequence

import pytest

from alliance.transcripts.embedding import HashingEmbedder
from alliance.transcripts.ruptures import (
    Context,
    LengthDrop,
    MinimalResponse,
    RuptureRule,
    StatementMarkers,
    TopicShift,
    default_rules,
)
from alliance.transcripts.scoring import score_turns
from alliance.transcripts.statements import load_statements
from alliance.transcripts.turns import Turn, make_turns

QUESTION = "What do you think was going on for you when you left the meeting so early?"


def context(
    rows: Sequence[tuple[str, str]], windows: list[tuple[int, int]] | None = None
) -> Context:
    turns = make_turns([{"speaker": s, "text": t} for s, t in rows])
    emb = HashingEmbedder()
    scores = score_turns(turns, load_statements(), emb)
    return Context(turns, scores, windows or [(0, len(turns))], emb.match_similarity)


def test_statement_markers_fire_on_marker_talk_only() -> None:
    ctx = context([
        ("clinician", QUESTION),
        ("client", "This isn't helping."),
        ("client", "I was worried about my presentation and wanted some air."),
    ])  # fmt: skip
    flags = StatementMarkers().flags(ctx)
    assert [(f.turn, f.family, f.marker, f.rule) for f in flags] == [
        (1, "confrontation", "complaint_about_therapy", "statements")
    ]
    assert flags[0].statement == "confrontation.complaint_about_therapy.1"
    assert flags[0].score > 0.05


def test_a_higher_bar_or_margin_removes_weak_matches() -> None:
    ctx = context([("client", "Honestly this isn't helping much today.")])
    assert StatementMarkers(match_similarity=0.3).flags(ctx)
    assert not StatementMarkers(match_similarity=0.95).flags(ctx)
    assert not StatementMarkers(match_similarity=0.3, margin=0.99).flags(ctx)


def test_minimal_response_needs_a_long_question_before_it() -> None:
    ctx = context([
        ("clinician", QUESTION), ("client", "Dunno really."),
        ("clinician", "Coffee?"), ("client", "Yes."),
        ("clinician", QUESTION.replace("?", ".")), ("client", "Okay."),
    ])  # fmt: skip
    flags = MinimalResponse().flags(ctx)
    assert [(f.turn, f.marker) for f in flags] == [(1, "minimal_response")]
    assert flags[0].detail == "2 words after a 16-word question"


def test_length_drop_compares_a_window_with_the_windows_before() -> None:
    long = "I spent most of the weekend with my sister and we talked about our father."
    rows = [("clinician", "And then?"), ("client", long)] * 2 + [
        ("clinician", "And?"),
        ("client", "Nothing."),
    ] * 2
    flags = LengthDrop().flags(context(rows, [(0, 4), (4, 8)]))
    assert [(f.turn, f.marker) for f in flags] == [(5, "response_length_drop")]
    assert flags[0].score == pytest.approx(1 / 15)
    assert not LengthDrop(min_baseline_words=20).flags(context(rows, [(0, 4), (4, 8)]))
    assert not LengthDrop().flags(context(rows, [(0, 8)]))


def test_topic_shift_flags_an_incoherent_client_turn() -> None:
    rows = [("clinician", "Tell me about the walk today."),
            ("client", "The walk today was good and the walk was long.")] * 10  # fmt: skip
    odd = "Purple elephants dance wildly under seven silver moons tonight."
    rows += [("clinician", "Tell me about the walk today."), ("client", odd)]
    flags = TopicShift().flags(context(rows))
    assert [(f.turn, f.marker) for f in flags] == [(21, "abrupt_topic_shift")]
    assert flags[0].score == pytest.approx(3.015, abs=0.01)  # 10 equal values and one outlier
    assert not TopicShift(min_turns=12).flags(context(rows))
    assert not TopicShift(min_words=20).flags(context(rows))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: StatementMarkers(match_similarity=1.5),
            "match_similarity: must lie between 0 and 1",
        ),
        (lambda: StatementMarkers(margin=0), "margin: must be a positive number"),
        (lambda: MinimalResponse(max_words=0), "max_words: must be a positive integer"),
        (lambda: MinimalResponse(prompt_words=2.5), "prompt_words: must be a positive integer"),
        (lambda: LengthDrop(ratio=1.5), "ratio: must lie between 0 and 1"),
        (lambda: TopicShift(z=-1), "z: must be a positive number"),
    ],
)
def test_configuration_errors_name_the_parameter(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.name)
def test_every_rule_reports_its_configuration(rule: RuptureRule) -> None:
    rebuilt = type(rule)(**rule.params())
    assert rebuilt.params() == rule.params()
    assert repr(rule).startswith(type(rule).__name__ + "(")
    assert rule.flags(context([("client", "Hello there.")])) == []


def test_flags_sit_on_client_turns_only() -> None:
    ctx = context([("clinician", "This isn't helping."), ("client", "Fine, thanks.")])
    assert all(ctx.turns[f.turn].speaker == "client" for r in default_rules() for f in r.flags(ctx))
    assert not StatementMarkers().flags(ctx)
    assert isinstance(ctx.turns[0], Turn)
