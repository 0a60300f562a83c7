"""The shipped question bank: its schema, coverage, sources and version."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from alliance.learning.bank import BUILTIN_DIR, INDEX_FILE, builtin_bank, load_bank

# The topics issue 8 asks the self-check to cover.
REQUIRED_TOPICS = {
    "bordin",  # Bordin's goals, tasks and bond
    "prediction",  # what the alliance predicts and how strongly
    "first-sessions",  # first-session practice
    "ceiling",  # ceiling effects and polite ratings
    "ruptures",  # rupture markers (withdrawal, confrontation) and repair
    "perspectives",  # client–clinician disagreement
    "suicide-risk",  # clients at risk of suicide
    "substance-use",  # substance-use care
    "nursing-physio",  # nursing and physiotherapy
    "feedback",  # using feedback well
}

# Every source a reference may cite: the sources named in the project's research notes
# (alliance-science.md, method-facts.md, instrument-facts.md). A new reference must be added
# here on purpose, after checking it is in the notes.
KNOWN_SOURCES = (
    "Barkham, De Jong, Delgadillo & Lutz (2023)",
    "Blanchard & Farber (2016)",
    "Bordin (1979)",
    "Boswell, Kraus, Miller & Lambert (2013)",
    "Busseri & Tyler (2003)",
    "Chen et al. (2018)",
    "Darchuk, Wang, Weibel, Fende, Anderson & Horvath (2000)",
    "de Jong et al. (2021)",
    "Duncan et al. (2003)",
    "Dunster-Page et al. (2017)",
    "Eubanks et al. (2019)",
    "Eubanks, Muran & Safran (2015)",
    "Eubanks, Muran & Safran (2018)",
    "Falkenström, Granström & Holmqvist (2013)",
    "Falkenström, Hatcher & Holmqvist (2015)",
    "Ferreira et al. (2013)",
    "Flückiger et al. (2020)",
    "Flückiger, Del Re, Wampold & Horvath (2018)",
    "Gysin-Maillart et al. (2016)",
    "Gysin-Maillart et al. (2017)",
    "Hall et al. (2010)",
    "Horvath & Greenberg (1989)",
    "Horvath, Del Re, Flückiger & Symonds (2011)",
    "Horvath. Working Alliance Inventory website",
    "Huggett et al. (2022)",
    "Larsson, Falkenström, Andersson & Holmqvist (2018)",
    "Meier et al. (2006)",
    "Meier, Barrowclough & Donmall (2005)",
    "Muran et al. (2009)",
    "OpenFIT knowledge base articles KA-01028 and KA-01031",
    "OpenFIT support article 204000069702",
    "Paap et al. (2019)",
    "Psychiatric Services (1999)",  # the opioid-completion study; authors not confirmed
    "Sharf, Primavera & Diener (2010)",
    "Simon et al. (2013)",
    "Strauss et al. (2006)",
    "Tichenor & Hill (1989)",  # the observer WAI (issue 14's review)
    "Tryon, Blackwell & Hammel (2007)",
    "Whipple et al. (2003)",
    "Wiebe et al. (2021)",
    "Zilcha-Mano et al. (2015)",
    "Zilcha-Mano et al. (2016)",
    "Zilcha-Mano, Dinger, McCarthy & Barber (2014)",
)

# Content digest of every released bank version. A change to any question, option, answer,
# explanation, reference or topic needs a new bank_version (stored results name the version).
RELEASED = {
    "1.0": "79f91fc5239b25ff06d5f88dd1b7f418d50fd2d09e411133bd02c3ef9db7238d",
    "1.1": "38765418502ee9e649ea38d4420e1aa6d8b3891e216adf6e789effe227f2222f",
}


def raw_questions() -> list[tuple[str, dict[str, Any]]]:
    """The questions as written in the YAML files, read without the schema."""
    found = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        if path.name != INDEX_FILE:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.extend((path.name, q) for q in data["questions"])
    return found


RAW = raw_questions()


def test_the_shipped_bank_loads_with_at_least_40_questions() -> None:
    bank = builtin_bank()
    assert len(bank) == len(RAW) >= 40
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)*", bank.version)


def test_every_topic_of_the_issue_is_covered() -> None:
    bank = builtin_bank()
    assert set(bank.topic_ids) == REQUIRED_TOPICS
    counts = Counter(q["topic"] for _, q in RAW)
    assert set(counts) == REQUIRED_TOPICS
    assert min(counts.values()) >= 4, counts


def test_question_ids_are_unique() -> None:
    ids = [q["id"] for _, q in RAW]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


@pytest.mark.parametrize(("file", "question"), RAW, ids=[q["id"] for _, q in RAW])
def test_question_schema(file: str, question: dict[str, Any]) -> None:
    options = question["options"]
    assert 3 <= len(options) <= 5
    assert sum(bool(o.get("correct")) for o in options) == 1
    texts = [" ".join(o["text"].casefold().split()) for o in options]
    assert len(set(texts)) == len(texts)
    assert all(t.strip() for t in texts)
    for field in ("stem", "explanation", "reference"):
        assert isinstance(question[field], str) and len(question[field].strip()) >= 10, field
    assert question["basis"] in ("published", "derived")
    assert file.removesuffix(".yaml") == question["topic"]


@pytest.mark.parametrize(("file", "question"), RAW, ids=[q["id"] for _, q in RAW])
def test_references_cite_sources_from_the_research_notes(
    file: str, question: dict[str, Any]
) -> None:
    reference = " ".join(question["reference"].split())
    for work in reference.split("; "):
        source = next((s for s in KNOWN_SOURCES if work.startswith(s)), None)
        assert source, f"{file}: {question['id']} cites an unknown source: {work}"
        assert len(work.removeprefix(source).strip(" .")) >= 5, f"no venue given: {work}"


@pytest.mark.parametrize(("file", "question"), RAW, ids=[q["id"] for _, q in RAW])
def test_derived_answers_say_they_are_the_projects_reading(
    file: str, question: dict[str, Any]
) -> None:
    if question["basis"] == "derived":
        assert "project" in question["explanation"].casefold(), f"{file}: {question['id']}"


def _key(question: dict[str, Any]) -> str:
    return next(o["text"] for o in question["options"] if o.get("correct"))


def _lengths(question: dict[str, Any]) -> tuple[list[int], int]:
    lengths = [len(" ".join(o["text"].split())) for o in question["options"]]
    keyed = next(i for i, o in enumerate(question["options"]) if o.get("correct"))
    return lengths, keyed


@pytest.mark.parametrize("extreme", [max, min], ids=["longest", "shortest"])
def test_option_length_gives_the_answer_away_no_more_often_than_chance(extreme: Any) -> None:
    # A test-taker who picks the longest (or the shortest) option, at random among ties,
    # picks the key with probability 1/k per question when lengths carry no cue.
    cue = chance = 0.0
    for _, question in RAW:
        lengths, keyed = _lengths(question)
        at = extreme(lengths)
        cue += 1 / lengths.count(at) if lengths[keyed] == at else 0.0
        chance += 1 / len(lengths)
    assert cue / len(RAW) <= chance / len(RAW) + 0.05, (cue, chance)


def test_references_carry_no_unconfirmed_details() -> None:
    for _, question in RAW:
        text = " ".join((question["reference"] + " " + question["explanation"]).split())
        assert "not confirmed" not in text.casefold(), question["id"]


def test_no_keyed_answer_denies_a_cut_off_that_another_question_keys() -> None:
    # the bank keys OpenFIT's SRS line of 36; an answer saying that no alliance measure has a
    # cut-off would contradict it (the WAI has none, per its author)
    keys = {q["id"]: " ".join(_key(q).split()).casefold() for _, q in RAW}
    assert keys["ceiling-srs-cutoff"] == "36"
    assert not [i for i, k in keys.items() if "no alliance measure" in k]


def test_the_observer_wai_is_credited_to_tichenor_and_hill() -> None:
    for _, question in RAW:
        text = question["explanation"] + " " + _key(question)
        if "observer" in text and "Horvath & Greenberg" in question["reference"]:
            assert "Tichenor & Hill (1989)" in question["reference"], question["id"]
            assert "observer" not in _key(question), question["id"]


def test_both_kinds_of_rupture_marker_are_asked_about() -> None:
    ruptures = " ".join(
        q["stem"] + " " + q["explanation"] for _, q in RAW if q["topic"] == "ruptures"
    ).casefold()
    assert "withdrawal" in ruptures
    assert "confrontation" in ruptures
    assert "repair" in ruptures


def test_released_versions_keep_their_content() -> None:
    bank = builtin_bank()
    if bank.version in RELEASED:
        assert bank.digest == RELEASED[bank.version], (
            f"the bank's content changed but bank_version is still {bank.version}; "
            "raise bank_version in questions/bank.yaml and record the new digest here"
        )
    else:
        # a new version: its digest must be recorded here before release
        pytest.fail(f"record the digest of bank {bank.version}: {bank.digest}")


def test_digest_ignores_file_layout(tmp_path: Path) -> None:
    merged: list[dict[str, Any]] = [q for _, q in reversed(RAW)]
    (tmp_path / INDEX_FILE).write_text(
        (BUILTIN_DIR / INDEX_FILE).read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "all.yaml").write_text(
        yaml.safe_dump({"questions": merged}, allow_unicode=True), encoding="utf-8"
    )
    assert load_bank(tmp_path).digest == builtin_bank().digest
