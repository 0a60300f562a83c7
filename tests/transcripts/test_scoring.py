from __future__ import annotations

import numpy as np
import pytest

from alliance.transcripts.embedding import HashingEmbedder
from alliance.transcripts.scoring import score_turns, sentences
from alliance.transcripts.statements import load_statements
from alliance.transcripts.turns import Turn


def test_sentences() -> None:
    assert sentences("Okay. The worst ones? Mondays!  Yes") == [
        "Okay.",
        "The worst ones?",
        "Mondays!",
        "Yes",
    ]
    assert sentences("no stop here") == ["no stop here"]


def test_a_marker_sentence_inside_a_long_turn_is_found() -> None:
    sets = load_statements()
    turns = [
        Turn(0, "clinician", "Shall we try the breathing again?"),
        Turn(1, "client", "Well, we did talk about it. I already tried that and it didn't work."),
        Turn(2, "client", "I went to the shop and bought some bread and milk for the weekend."),
    ]
    scores = score_turns(turns, sets, HashingEmbedder())
    confrontation = scores.families["confrontation"]
    assert confrontation.similarity[1] == pytest.approx(1.0)
    assert confrontation.marker[1] == "rejecting_intervention"
    assert confrontation.statement[1] == "confrontation.rejecting_intervention.2"
    assert confrontation.score[1] > confrontation.score[2]
    assert np.isnan(confrontation.similarity[0])  # clinician turns carry no marker score


def test_turns_are_compared_with_their_own_roles_statements() -> None:
    sets = load_statements()
    client_line = sets.constructs["bond"].statements[("client", "positive")][0].text
    clinician_line = sets.constructs["bond"].statements[("clinician", "negative")][0].text
    turns = [Turn(0, "client", client_line), Turn(1, "clinician", clinician_line)]
    bond = score_turns(turns, sets, HashingEmbedder()).constructs["bond"]
    assert bond.positive_statement[0] == "bond.client.positive.1"
    assert bond.negative_statement[1] == "bond.clinician.negative.1"
    assert bond.contrast[0] > 0.5
    assert bond.contrast[1] < -0.5
    np.testing.assert_allclose(bond.contrast, bond.positive - bond.negative)


def test_coherence_only_across_speakers() -> None:
    turns = [
        Turn(0, "clinician", "How did the walk go?"),
        Turn(1, "client", "The walk went well."),
        Turn(2, "client", "Really well."),
    ]
    coherence = score_turns(turns, load_statements(), HashingEmbedder()).coherence
    assert np.isnan(coherence[0])
    assert coherence[1] > 0.2
    assert np.isnan(coherence[2])
