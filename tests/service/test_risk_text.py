"""The words of a risk alert and which answers raise one: pure functions, checked exactly.

The risk code's mutation score (issue 14) rests on these: a changed word, a lost answer or a
row read from the wrong place must fail a test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from alliance.feedback.guidance import GUIDANCE
from alliance.instruments.model import Instrument
from alliance.instruments.registry import builtin_registry
from alliance.instruments.scoring import score
from alliance.services.monitoring.risk import answer_text, risk_alert_text, unanswered_risk_text
from alliance.services.records.administrations import risk_items_of, unanswered_risk_items_of

PHQ9 = builtin_registry().get("phq-9")


def two_risk_items() -> Instrument:
    """The PHQ-9 with item 8 made a second risk item (threshold 2) from another source."""
    data = PHQ9.model_dump(mode="json")
    data["sources"]["other"] = "A second source, for the test."
    data["items"][7]["risk"] = {"at_or_above": 2, "meaning": "Second risk item.", "source": "other"}
    return Instrument.model_validate(data)


Q9 = "PHQ-9 question 9 (thoughts of death or self-harm)"  # the project's label, not wording
Q8 = "PHQ-9 question 8 (slowed down or restless)"


def test_the_reason_names_the_question_the_answer_as_shown_threshold_and_meaning() -> None:
    item = PHQ9.items[8]
    assert item.risk is not None
    reason, steps, provenance = risk_alert_text(PHQ9, {"item_9": 2.0}, ["item_9"], session_number=4)
    assert reason == (
        f"Risk item answered in session 4: {Q9} answered 2 (On most days), at or above 1: "
        f"{item.risk.meaning}"
    )
    assert steps == [step.text for step in GUIDANCE["risk_item"]]
    assert provenance == (
        "derived: the project's rule, an urgent alert followed up the same day for any answer "
        "at or above the risk item's threshold; the risk item itself is published: "
        + PHQ9.sources["item9"]
    )


def test_without_a_session_the_reason_says_none_and_odd_answers_show_as_given() -> None:
    reason, _, _ = risk_alert_text(PHQ9, {"item_9": 1.5}, ["item_9"])
    assert reason.startswith(f"Risk item answered: {Q9} answered 1.5, at or above 1: ")
    reason, _, _ = risk_alert_text(PHQ9, {}, ["item_9"])
    assert reason.startswith(f"Risk item answered: {Q9} answered ?, at or above 1: ")
    reason, _, _ = risk_alert_text(PHQ9, {"item_9": 3.0}, ["item_9"])
    assert f"{Q9} answered 3 (Almost daily), at" in reason


def test_an_answer_on_a_line_is_shown_as_its_number() -> None:
    srs = builtin_registry().get("srs")
    assert answer_text(srs, srs.items[0], 7.5) == "7.5"
    assert answer_text(PHQ9, PHQ9.items[8], 1.0) == "1 (On some days)"
    assert answer_text(PHQ9, PHQ9.items[8], 0.0) == "0 (On no days)"


def test_only_the_items_answered_at_risk_are_named_and_each_source_once() -> None:
    inst = two_risk_items()
    item9 = PHQ9.items[8].risk
    assert item9 is not None
    reason, _, provenance = risk_alert_text(inst, {"item_8": 3.0, "item_9": 0.0}, ["item_8"])
    assert reason == (
        f"Risk item answered: {Q8} answered 3 (Almost daily), at or above 2: Second risk item."
    )
    assert provenance.endswith("published: A second source, for the test.")
    both, _, provenance = risk_alert_text(
        inst, {"item_8": 2.0, "item_9": 1.0}, ["item_9", "item_8"]
    )
    assert both == (
        f"Risk item answered: {Q8} answered 2 (On most days), at or above 2: Second risk "
        f"item.; {Q9} answered 1 (On some days), at or above 1: {item9.meaning}"
    )  # in the instrument's order, joined by "; "
    assert provenance.endswith(
        "published: A second source, for the test.; " + inst.sources["item9"]
    )  # sorted, joined by "; "
    only_second, _, _ = risk_alert_text(inst, {"item_9": 1.0}, ["item_9"])
    assert only_second.startswith(f"Risk item answered: {Q9} answered 1 (On some days)")
    # an item named as at risk that is not a risk item of this instrument is not invented
    reason, _, _ = risk_alert_text(inst, {"item_1": 3.0}, ["item_1"])
    assert reason == "Risk item answered: "


def test_an_unanswered_risk_item_has_its_own_words() -> None:
    reason, steps, provenance = unanswered_risk_text(PHQ9, ["item_9"], session_number=2)
    assert reason == (
        f"Risk item left unanswered in session 2: {Q9}. The form cannot tell whether there is risk."
    )
    assert steps == [step.text for step in GUIDANCE["risk_unanswered"]]
    assert provenance == "derived: the project's rule (an unanswered risk item is not a no)"
    inst = two_risk_items()
    reason, _, _ = unanswered_risk_text(inst, ["item_8", "item_9"])
    assert reason == (
        f"Risk item left unanswered: {Q8}; {Q9}. The form cannot tell whether there is risk."
    )
    reason, _, _ = unanswered_risk_text(inst, ["item_9"])
    assert reason == f"Risk item left unanswered: {Q9}. The form cannot tell whether there is risk."


def _answers(*rows: dict[str, float | None]) -> pd.DataFrame:
    base = dict.fromkeys(PHQ9.item_ids, 0.0)
    return pd.DataFrame([{**base, **row} for row in rows])


@pytest.mark.parametrize("inst", [PHQ9, two_risk_items()], ids=["phq-9", "two risk items"])
def test_each_row_is_read_for_its_own_risk_answers(inst: Instrument) -> None:
    scores = score(inst, _answers({}, {"item_9": 1.0}, {"item_9": None}, {"item_8": 2.0}))
    assert risk_items_of(inst, scores, 0) == []
    assert risk_items_of(inst, scores, 1) == ["item_9"]
    assert risk_items_of(inst, scores, 2) == []
    assert unanswered_risk_items_of(inst, scores, 0) == []
    assert unanswered_risk_items_of(inst, scores, 1) == []
    assert unanswered_risk_items_of(inst, scores, 2) == ["item_9"]
    second = ["item_8"] if len(inst.risk_items) == 2 else []
    assert risk_items_of(inst, scores, 3) == second
    assert unanswered_risk_items_of(inst, scores, 3) == []


def test_risk_flags_of_another_definition_are_refused_not_misread() -> None:
    # scores of a definition with two risk items read against one with a single risk item:
    # pairing them silently would drop or shift a flag
    scores = score(two_risk_items(), _answers({"item_8": 2.0}))
    with pytest.raises(ValueError, match="zip"):
        risk_items_of(PHQ9, scores, 0)
    with pytest.raises(ValueError, match="zip"):
        unanswered_risk_items_of(PHQ9, scores, 0)


def test_an_instrument_without_risk_items_raises_nothing() -> None:
    wai = builtin_registry().get("wai-sr")
    scores = score(wai, pd.DataFrame([dict.fromkeys(wai.item_ids, 1)]))
    assert risk_items_of(wai, scores, 0) == []
    assert unanswered_risk_items_of(wai, scores, 0) == []
