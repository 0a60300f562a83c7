"""LOINC where LOINC exists: the panel, question and answer codes of the PHQ-9 and GAD-7.

Each code carries its source and whether it was confirmed; only confirmed codes are written
into a Questionnaire or a QuestionnaireResponse. Reading a response, the service accepts our
linkIds (``item_1``) and option values, and also the LOINC form's linkIds (``44250-9``, or the
path style ``/44249-1/44250-9`` of LOINC-derived SDC forms), LOINC answer codes (``LA…``) and
a questionnaire named ``http://loinc.org/q/<panel>``. The LOINC forms' calculated total
(44261-6, 70274-6) is skipped when read: scores are always recomputed from the answers.

No display text of LOINC is kept here: LOINC's question and answer names are the instruments'
own wording, which the project never ships (an EHR has them from LOINC); our codings carry the
project's labels, or the site's wording pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fhir.resources.R4B.coding import Coding

from alliance.interop.fhir_terms import LOINC, LOINC_SCALES

LOINC_QUESTIONNAIRE = "http://loinc.org/q/"
"""The canonical URL prefix of LOINC's own FHIR forms (``http://loinc.org/q/44249-1``)."""

SOURCES = {
    "loinc-44261-6": (
        "loinc.org term page 44261-6 (Regenstrief LOINC): a member of panel 44249-1, PHQ-9 "
        "quick depression assessment panel [Reported.PHQ]"
    ),
    "loinc-69729-2": (
        "loinc.org panel 69729-2 (PHQ-SADS, LOINC 2.77): its GAD-7 questions 69725-0, "
        "68509-9, 69733-4, 69734-2, 69735-9, 69689-8, 69736-7 then 70274-6, and its PHQ-9 "
        "questions 44250-9, 44255-8, 44259-0, 44254-1, 44251-7, 44258-2, 44252-5, 44253-3, "
        "in the instruments' order"
    ),
    "loinc-LL358-3": (
        "loinc.org answer list LL358-3: LA6568-5 (0), LA6569-3 (1), LA6570-1 (2), LA6571-9 (3); "
        "used by 44260-8 (the PHQ-9's ninth question) and the GAD-7 questions 69735-9, 69689-8, "
        "69736-7"
    ),
    "hl7-pco-44249-1": (
        "HL7 Person-Centered Outcomes IG, Questionnaire 44249-1 (url http://loinc.org/q/44249-1): "
        "question codes 44250-9, 44255-8, 44259-0 … with answer options LA6568-5 … LA6571-9"
    ),
    "gad7-answers": (
        "GAD-7 responses coded LA6568-5 … LA6571-9 for every question in HL7 FHIR sample data "
        "(PACIO Sample Data Depot, GAD-7 QuestionnaireResponses) and a vendor's LOINC-coded "
        "GAD-7 Questionnaire (questions 69725-0, 68509-9, 69733-4 …)"
    ),
    "us-core-69722-7": (
        "HL7 US Core 7.0.0, example Observation PHQ9-item-example-69722-7: the PHQ-9's "
        "difficulty question is 69722-7, answered LA6573-5"
    ),
    "loinc-LL359-1": (
        "LOINC answer list LL359-1 as expanded by tx.fhir.org (LOINC 2.82) in the MII PRO IG's "
        "ValueSet mii-vs-pro-phq-9-answer-list-ll359-1: LA6572-7, LA6573-5, LA6575-0, LA6574-3 "
        "for not, somewhat, very and extremely difficult"
    ),
    "gad7-panel": (
        "HL7 Person-Centered Outcomes IG publishes a Questionnaire with id 69737-5 for the "
        "GAD-7, and encyclopaedia infoboxes give LOINC 69737-5; not seen on loinc.org itself"
    ),
}
"""Where each code below was confirmed (or, for ``verified=False``, where it was seen)."""


@dataclass(frozen=True)
class LoincCode:
    code: str
    source: str
    verified: bool = True


@dataclass(frozen=True)
class LoincForm:
    """An instrument's LOINC form: the panel, each question's code, each answer's code."""

    instrument: str
    panel: LoincCode
    questions: Mapping[str, LoincCode]  # our item id -> LOINC question code
    answers: Mapping[str, tuple[str, ...]]  # our item id -> LA codes of values 0, 1, 2, …
    answer_sources: Mapping[str, str] = field(default_factory=dict)

    def question(self, item_id: str) -> str | None:
        """The confirmed LOINC code of our item, if any."""
        found = self.questions.get(item_id)
        return found.code if found is not None and found.verified else None

    def answer_code(self, item_id: str, value: float) -> str | None:
        codes = self.answers.get(item_id) if self.question(item_id) else None
        if codes is None or not float(value).is_integer() or not 0 <= value < len(codes):
            return None
        return codes[int(value)]

    def item_of(self, link_id: str) -> str | None:
        """Our item for a LOINC linkId (``44250-9`` or ``/44249-1/44250-9``)."""
        code = link_id.rstrip("/").rpartition("/")[2]
        return next((i for i, c in self.questions.items() if c.verified and c.code == code), None)

    def value_of(self, item_id: str, answer_code: str) -> int | None:
        codes = self.answers.get(item_id) or ()
        return codes.index(answer_code) if answer_code in codes else None

    def is_score(self, link_id: str) -> bool:
        """Whether a linkId is the LOINC form's calculated total (skipped: we recompute)."""
        code = link_id.rstrip("/").rpartition("/")[2]
        return any(
            code == loinc[0] for (inst, _), loinc in LOINC_SCALES.items() if inst == self.instrument
        )


_OFTEN = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")  # LL358-3, values 0-3
_DIFFICULTY = ("LA6572-7", "LA6573-5", "LA6575-0", "LA6574-3")  # LL359-1, values 0-3

_PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5")
_GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")

FORMS: dict[str, LoincForm] = {
    "phq-9": LoincForm(
        instrument="phq-9",
        panel=LoincCode("44249-1", "loinc-44261-6"),
        questions={
            **{f"item_{n}": LoincCode(c, "loinc-69729-2") for n, c in enumerate(_PHQ9_ITEMS, 1)},
            "item_8": LoincCode("44253-3", "loinc-LL358-3"),
            "item_9": LoincCode("44260-8", "loinc-LL358-3"),
            "item_10": LoincCode("69722-7", "us-core-69722-7"),
        },
        answers={**{f"item_{n}": _OFTEN for n in range(1, 10)}, "item_10": _DIFFICULTY},
        answer_sources={"item_1-9": "hl7-pco-44249-1", "item_10": "loinc-LL359-1"},
    ),
    "gad-7": LoincForm(
        instrument="gad-7",
        panel=LoincCode("69737-5", "gad7-panel", verified=False),
        questions={
            f"item_{n}": LoincCode(c, "loinc-69729-2") for n, c in enumerate(_GAD7_ITEMS, 1)
        },
        answers={f"item_{n}": _OFTEN for n in range(1, 8)},
        answer_sources={"item_1-7": "gad7-answers"},
    ),
}
"""The LOINC forms of our instruments. The GAD-7 panel code is not confirmed: it is never
written, and only recognises a response named ``http://loinc.org/q/69737-5`` whose questions
must then be the GAD-7's confirmed question codes."""


def form(instrument_id: str) -> LoincForm | None:
    return FORMS.get(instrument_id)


def loinc_question(instrument_id: str, item_id: str) -> Coding | None:
    """The item's confirmed LOINC question code as a Coding (no display: see above)."""
    found = FORMS.get(instrument_id)
    code = found.question(item_id) if found else None
    return Coding(system=LOINC, code=code) if code else None


def loinc_answer(instrument_id: str, item_id: str, value: float) -> str | None:
    """The LA code of an option value of a confirmed LOINC question."""
    found = FORMS.get(instrument_id)
    return found.answer_code(item_id, value) if found else None


def instrument_of_loinc(questionnaire_url: str) -> str | None:
    """Our instrument for a questionnaire named by its LOINC panel code: LOINC's own
    ``http://loinc.org/q/44249-1``, or an EHR's copy whose URL ends in the panel code
    (``https://ehr.example/fhir/Questionnaire/44249-1``)."""
    code = questionnaire_url.partition("|")[0].rstrip("/").rpartition("/")[2]
    return next((f.instrument for f in FORMS.values() if f.panel.code == code), None)


__all__ = ["FORMS", "LOINC", "LOINC_QUESTIONNAIRE", "LoincCode", "LoincForm", "form"]
