from __future__ import annotations

import pytest

from alliance.transcripts.turns import (
    TranscriptError,
    Turn,
    check_turns,
    make_turns,
    parse_role,
    parse_time,
)


@pytest.mark.parametrize(
    ("label", "role"),
    [("Client", "client"), (" therapist ", "clinician"), ("SEEKER", "client"), ("T", "clinician")],
)
def test_roles_and_their_synonyms(label: str, role: str) -> None:
    assert parse_role(label) == role


def test_an_unknown_role_names_the_allowed_values() -> None:
    with pytest.raises(TranscriptError, match=r"unknown speaker role 'doctor'.*client, clinician"):
        parse_role("doctor")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("", None), (12, 12.0), ("75", 75.0), ("01:15", 75.0), ("1:00:05", 3605.0)],
)
def test_times(value: object, seconds: float | None) -> None:
    assert parse_time(value) == seconds


@pytest.mark.parametrize("value", ["ten", "-1", "1:2:3:4", True, [1]])
def test_bad_times_are_refused(value: object) -> None:
    with pytest.raises(TranscriptError, match="not a time"):
        parse_time(value)


def test_make_turns_keeps_order_and_normalises_space() -> None:
    turns = make_turns(
        [
            {"speaker": "therapist", "text": "How  are\nyou?", "start": "00:01"},
            {"speaker": "client", "text": "Fine.", "start": 4},
        ]
    )
    assert turns == [
        Turn(0, "clinician", "How are you?", 1.0),
        Turn(1, "client", "Fine.", 4.0),
    ]
    assert turns[0].words == 3


def test_time_going_backwards_is_an_error() -> None:
    rows = [
        {"speaker": "client", "text": "a", "start": 10},
        {"speaker": "client", "text": "b", "start": 5},
    ]
    with pytest.raises(TranscriptError, match=r"turn 2, start: time goes backwards"):
        make_turns(rows)


def test_empty_text_names_the_turn() -> None:
    with pytest.raises(TranscriptError, match=r"turn 2, text: the turn has no text"):
        make_turns([{"speaker": "client", "text": "a"}, {"speaker": "client", "text": "  "}])


def test_a_transcript_needs_client_talk() -> None:
    with pytest.raises(TranscriptError, match="no client turns"):
        make_turns([{"speaker": "clinician", "text": "Hello"}])
    with pytest.raises(TranscriptError, match="no turns"):
        make_turns([])


def test_check_turns_wants_consecutive_indices() -> None:
    with pytest.raises(TranscriptError, match="indices must run"):
        check_turns([Turn(1, "client", "hi")])
