"""LOINC where LOINC exists: PHQ-9 and GAD-7 forms carry LOINC question and answer codes,
and a response an EHR writes from the LOINC form (tests/data/ehr-phq9-response.json, written
for this project from the LOINC form's structure: LOINC linkIds, LA answers, the form's own
total) is read as well as one in our own terms."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from alliance.instruments.registry import Registry
from alliance.interop import fhir, fhir_loinc
from alliance.interop.fhir_import import parse_questionnaire_response, read_bundle
from alliance.interop.report import RejectedImportError
from alliance.records import Administration

EHR_PHQ9 = json.loads((Path(__file__).parents[1] / "data" / "ehr-phq9-response.json").read_text())
LOINC = "http://loinc.org"
PHQ9_QUESTIONS = [
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8", "69722-7",
]  # fmt: skip
GAD7_QUESTIONS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def test_phq9_and_gad7_carry_loinc_codes_beside_our_values(registry: Registry) -> None:
    phq = json.loads(fhir.to_json(fhir.questionnaire(registry.get("phq-9"))))
    gad = json.loads(fhir.to_json(fhir.questionnaire(registry.get("gad-7"))))
    assert phq["code"] == [
        {"system": LOINC, "code": "44249-1", "display": phq["code"][0]["display"]}
    ]
    assert "code" not in gad  # 69737-5 is not confirmed on loinc.org: never written
    for q, expected in ((phq, PHQ9_QUESTIONS), (gad, GAD7_QUESTIONS)):
        assert [i["code"] for i in q["item"]] == [[{"system": LOINC, "code": c}] for c in expected]
        for question in q["item"]:
            options = question["answerOption"]
            assert [o["extension"][0]["valueDecimal"] for o in options] == [0, 1, 2, 3]
            assert all(o["valueCoding"]["system"] == LOINC for o in options)
    often = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert [o["valueCoding"]["code"] for o in phq["item"][8]["answerOption"]] == often
    difficulty = [o["valueCoding"]["code"] for o in phq["item"][9]["answerOption"]]
    assert difficulty == ["LA6572-7", "LA6573-5", "LA6575-0", "LA6574-3"]
    # the display is the form's own label (project labels here), never LOINC's wording
    assert phq["item"][0]["answerOption"][0]["valueCoding"]["display"] == "On no days"
    other = json.loads(fhir.to_json(fhir.questionnaire(registry.get("wai-sr"))))
    assert all("code" not in i for i in other["item"])


def test_every_loinc_code_names_a_source() -> None:
    for loinc_form in fhir_loinc.FORMS.values():
        codes = [loinc_form.panel, *loinc_form.questions.values()]
        assert all(c.source in fhir_loinc.SOURCES for c in codes)
        assert set(loinc_form.answer_sources.values()) <= set(fhir_loinc.SOURCES)
    assert not fhir_loinc.FORMS["gad-7"].panel.verified


def test_an_ehr_phq9_response_from_the_loinc_form_imports(registry: Registry) -> None:
    QuestionnaireResponse.model_validate(EHR_PHQ9)
    a = parse_questionnaire_response(EHR_PHQ9, registry, client="C9", episode="E1", session=3)
    assert (a.instrument, a.client, a.session, a.date.isoformat()) == (
        "phq-9",
        "C9",
        3,
        "2026-10-05",
    )
    expected = [2, 1, 3, 0, 1, 0, 2, 0, 1, 1]
    assert [a.answers[f"item_{n}"] for n in range(1, 11)] == expected
    # the same answers in a group, with bare LOINC linkIds and a versioned canonical
    grouped = copy.deepcopy(EHR_PHQ9)
    for item in grouped["item"]:
        item["linkId"] = item["linkId"].rpartition("/")[2]
    grouped["item"] = [{"linkId": "/44249-1", "item": grouped["item"]}]
    grouped["questionnaire"] = "http://loinc.org/q/44249-1|2.72"
    b = parse_questionnaire_response(grouped, registry, client="C9", episode="E1", session=3)
    assert b.answers == a.answers
    # our linkIds with LA answers, and our linkIds with our values, both read
    ours = copy.deepcopy(EHR_PHQ9)
    for n, item in enumerate(ours["item"][:9], 1):
        item["linkId"] = f"item_{n}"
    c = parse_questionnaire_response(ours, registry, client="C9", episode="E1", session=3)
    assert c.answers == a.answers


def test_a_gad7_response_by_loinc_panel_code(registry: Registry) -> None:
    data = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://ehr.example/fhir/Questionnaire/69737-5",
        "authored": "2026-10-05",
        "item": [
            {"linkId": code, "answer": [{"valueCoding": {"system": LOINC, "code": "LA6570-1"}}]}
            for code in GAD7_QUESTIONS
        ]
        + [{"linkId": "70274-6", "answer": [{"valueInteger": 14}]}],
    }
    a = parse_questionnaire_response(data, registry, client="C9", episode="E1", session=1)
    assert (a.instrument, set(a.answers.values())) == ("gad-7", {2.0})


def test_our_loinc_coded_export_round_trips(registry: Registry) -> None:
    inst = registry.get("phq-9")
    a = Administration(
        client="C5", episode="E1", session=2, date=dt.date(2026, 10, 1), instrument="phq-9",
        version="1.0", perspective="client",
        answers={f"item_{n}": float(n % 4) for n in range(1, 11)},
    )  # fmt: skip
    data = json.loads(fhir.to_json(fhir.questionnaire_response(a, inst)))
    first = data["item"][0]["answer"][0]["valueCoding"]
    assert (first["system"], first["code"], first["extension"][0]["valueDecimal"]) == (
        LOINC,
        "LA6569-3",
        1,
    )
    assert parse_questionnaire_response(data, registry) == a


@pytest.mark.parametrize(
    ("link", "answer", "message"),
    [
        ("/44249-1/44250-9", {"system": LOINC, "code": "LA6573-5"}, "not a LOINC answer"),
        ("/44249-1/69725-0", {"system": LOINC, "code": "LA6568-5"}, "not an item of phq-9"),
        ("/44249-1/44250-9", {"system": "http://snomed.info/sct", "code": "1"}, "unknown answer"),
    ],
)
def test_wrong_loinc_answers_are_named(
    registry: Registry, link: str, answer: dict, message: str
) -> None:
    data = copy.deepcopy(EHR_PHQ9)
    data["item"][0] = {"linkId": link, "answer": [{"valueCoding": answer}]}
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(data, registry, client="C9", episode="E1", session=3)
    assert message in str(caught.value.report.problems[0])


def test_the_patient_is_matched_by_the_ehrs_identifier(registry: Registry) -> None:
    mrn = "urn:oid:1.2.3.4.5.1|MRN-000123"
    kept = {"episode": "E1", "session": 3}
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(EHR_PHQ9, registry, **kept)
    problem = caught.value.report.problems[0]
    assert "known only by another system's identifier" in problem.problem
    assert problem.allowed == "urn:oid:1.2.3.4.5.1" and "MRN" not in str(problem)
    matched = parse_questionnaire_response(EHR_PHQ9, registry, identifiers={mrn: "C9"}, **kept)
    assert matched.client == "C9"
    foreign = parse_questionnaire_response(EHR_PHQ9, registry, foreign_subjects=True, **kept)
    assert foreign.client == mrn  # for the database's import to match


def test_a_bundle_matches_patients_and_takes_episode_and_session(registry: Registry) -> None:
    response = dict(EHR_PHQ9, subject={"reference": "Patient/p1"})
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"system": "urn:oid:1.2.3.4.5.1", "value": "MRN-000123"}],
                }
            },
            {"resource": response},
        ],
    }
    records, report = read_bundle(bundle, registry)
    assert not records and "another system's identifier" in str(report.problems[0])
    records, report = read_bundle(
        bundle,
        registry,
        identifiers={"urn:oid:1.2.3.4.5.1|MRN-000123": "C9"},
        episode="E2",
        session=4,
    )
    assert report.ok, report.problems
    assert [(a.client, a.episode, a.session) for a in records] == [("C9", "E2", 4)]
