"""FHIR R4 export and import: validated resources, round trips, a response written by hand."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from alliance.instruments.model import OptionsFormat
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import score_answers
from alliance.instruments.wording import WordingPack, resolve
from alliance.interop import fhir, fhir_raters
from alliance.interop.fhir_import import parse_questionnaire_response, read_bundle
from alliance.interop.report import RejectedImportError
from alliance.records import Administration

BASE = "https://alliance.example/fhir"


def reparsed(resource: object, model: type) -> dict:
    """The resource as JSON, parsed again by fhir.resources (which validates it)."""
    data = json.loads(fhir.to_json(resource))
    assert model.model_validate(data).model_dump(mode="json") == data
    return data


@pytest.mark.parametrize(
    "instrument_id",
    [
        "wai-sr",
        "wai-b3",
        "srs",
        "wai-s",
        "wai",
        "sai",
        "haq-ii",
        "phq-9",
        "gad-7",
        "core-10",
        "k10",
        "ors",
    ],
)
def test_every_instrument_is_a_valid_questionnaire(registry: Registry, instrument_id: str) -> None:
    inst = registry.get(instrument_id)
    q = reparsed(fhir.questionnaire(inst), Questionnaire)
    assert q["url"] == f"{BASE}/Questionnaire/{instrument_id}"
    assert q["version"] == inst.version
    assert q["language"] == "en"
    assert inst.licence.terms in q["copyright"]
    assert [i["linkId"] for i in q["item"]] == list(inst.item_ids)
    # the project's own labels, never anything else
    assert [i["text"] for i in q["item"]] == [item.label for item in inst.items]
    scales = [e for e in q["extension"] if e["url"].endswith("/StructureDefinition/scale")]
    assert len(scales) == len(inst.scales)
    for item, question in zip(inst.items, q["item"], strict=True):
        fmt = inst.format_of(item)
        if isinstance(fmt, OptionsFormat):
            ordinals = [o["extension"][0]["valueDecimal"] for o in question["answerOption"]]
            assert (question["type"], ordinals) == ("choice", [o.value for o in fmt.options])
            if "code" not in question:  # no LOINC question: the project's answer-value codes
                codes = [o["valueCoding"]["code"] for o in question["answerOption"]]
                assert codes == [str(o.value) for o in fmt.options]
        else:
            limits = {
                e["url"].rsplit("/", 1)[1]: e.get("valueDecimal") for e in question["extension"]
            }
            assert (question["type"], limits["minValue"], limits["maxValue"]) == (
                "decimal",
                fmt.min,
                fmt.max,
            )
        marked = any(e["url"].endswith("/unscored") for e in question.get("extension", []))
        assert marked == bool(item.unscored)


def test_the_site_names_its_resources_the_project_its_extensions(registry: Registry) -> None:
    q = fhir.questionnaire(registry.get("gad-7"), base_url="https://clinic.example/fhir/")
    assert q.url == "https://clinic.example/fhir/Questionnaire/gad-7"
    fixed = "https://alliance.example/fhir/StructureDefinition/"
    assert all(str(e.url).startswith(fixed) for e in q.extension)
    answer = q.item[0].answerOption[0].valueCoding  # GAD-7: a LOINC answer
    assert answer.system == "http://loinc.org"
    wai = fhir.questionnaire(registry.get("wai-sr"), base_url="https://clinic.example/fhir/")
    coding = wai.item[0].answerOption[0].valueCoding
    assert coding.system == "https://alliance.example/fhir/CodeSystem/answer-value"


def test_questionnaire_takes_the_wording_packs_text_and_language(registry: Registry) -> None:
    inst = registry.get("gad-7")
    pack = WordingPack(
        instrument="gad-7",
        version="1.0",
        language="de-CH",
        source="Test pack (not licensed text)",
        items={item_id: f"Frage {item_id}" for item_id in inst.item_ids},
        options={0: "nie", 1: "manchmal", 2: "oft", 3: "fast immer"},
    )
    q = fhir.questionnaire(inst, resolve(inst, [pack], language="de-CH"))
    assert q.language == "de-CH"
    assert q.item[0].text == "Frage item_1"
    assert q.item[0].answerOption[3].valueCoding.display == "fast immer"
    with pytest.raises(ValueError, match=r"wording is for gad-7 1\.0, not phq-9 1\.0"):
        fhir.questionnaire(registry.get("phq-9"), resolve(inst, [pack], language="de-CH"))


def test_loinc_codes_only_where_confirmed(registry: Registry) -> None:
    coded = {}
    for inst in registry:
        for scale in inst.scales:
            q = fhir.questionnaire(inst)
            ext = next(
                e
                for e in q.extension
                if e.url.endswith("/scale") and e.extension[0].valueCode == scale.id
            )
            loinc = [
                p.valueCoding.code
                for p in ext.extension
                if p.url == "code" and p.valueCoding.system == fhir.LOINC
            ]
            if loinc:
                coded[(inst.id, scale.id)] = loinc
    assert coded == {("phq-9", "total"): ["44261-6"], ("gad-7", "total"): ["70274-6"]}


def test_bundle_round_trip(registry: Registry, administrations: list[Administration]) -> None:
    c002 = [a for a in administrations if a.client == "C002"]
    bundle = fhir.bundle("C002", c002, registry)
    data = reparsed(bundle, Bundle)
    types = [e["resource"]["resourceType"] for e in data["entry"]]
    assert types[0] == "Patient" and types.count("QuestionnaireResponse") == 3
    assert types.count("Questionnaire") == 3
    for entry in data["entry"]:
        model = {
            "Observation": Observation,
            "QuestionnaireResponse": QuestionnaireResponse,
            "Questionnaire": Questionnaire,
        }.get(entry["resource"]["resourceType"])
        if model:
            reparsed(model.model_validate(entry["resource"]), model)
    back, report = read_bundle(json.dumps(data), registry)
    assert report.ok and back == c002
    observed = {
        (e["resource"]["code"]["coding"][0]["code"], e["resource"]["valueQuantity"]["value"])
        for e in data["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    recomputed = set()
    for a in back:
        inst = registry.get(a.instrument, a.version)
        for scale_id, s in score_answers(inst, a.answers).scales.items():
            recomputed.add((f"{inst.id}/{scale_id}", float(s.values[0])))
    # phq-9 total 13 × 9/8 with one item missing; core-10 with reversed items 2 and 3
    assert observed == recomputed
    assert ("phq-9/total", 13.5) in observed


def test_bundle_patient_carries_no_identifying_data_unless_given(
    registry: Registry, administrations: list[Administration]
) -> None:
    c001 = [a for a in administrations if a.client == "C001"]
    patient = json.loads(fhir.to_json(fhir.bundle("C001", c001, registry).entry[0].resource))
    assert set(patient) == {"resourceType", "id", "identifier"}
    named = fhir.bundle("C001", c001, registry, identifying={"name": [{"family": "Example"}]})
    assert named.entry[0].resource.name[0].family == "Example"
    with pytest.raises(ValueError, match="other clients"):
        fhir.bundle("C001", administrations, registry)


def test_observations_name_their_response(registry: Registry, administrations: list) -> None:
    srs = administrations[2]
    inst = registry.get("srs")
    (obs,) = fhir.observations(srs, score_answers(inst, srs.answers), inst)
    data = reparsed(obs, Observation)
    assert data["valueQuantity"]["value"] == pytest.approx(27.2)
    assert data["derivedFrom"] == [{"reference": "QuestionnaireResponse/adm-17"}]
    assert [c["system"] for c in data["code"]["coding"]] == [f"{BASE}/CodeSystem/scale"]


# A response written by hand from the structure in the FHIR R4 specification (resource
# QuestionnaireResponse: questionnaire canonical, status, subject, authored, nested item /
# answer with value[x]), as another system would send it: answers inside a group, codes
# without a system, an integer answer, an unanswered question, a time zone.
HAND_WRITTEN = {
    "resourceType": "QuestionnaireResponse",
    "id": "ehr-5531",
    "questionnaire": f"{BASE}/Questionnaire/gad-7|1.0",
    "status": "completed",
    "subject": {
        "reference": "Patient/991",
        "identifier": {"system": f"{BASE}/identifier/client", "value": "C777"},
    },
    "authored": "2026-10-02T09:15:00+02:00",
    "item": [
        {
            "linkId": "page-1",
            "text": "Anxiety",
            "item": [
                {"linkId": "item_1", "answer": [{"valueCoding": {"code": "2"}}]},
                {"linkId": "item_2", "answer": [{"valueCoding": {"code": "1"}}]},
                {"linkId": "item_3", "answer": [{"valueInteger": 3}]},
                {"linkId": "item_4"},
            ],
        },
        {
            "linkId": "item_5",
            "answer": [{"valueCoding": {"system": f"{BASE}/CodeSystem/answer-value", "code": "0"}}],
        },
        {"linkId": "item_6", "answer": [{"valueDecimal": 1}]},
        {"linkId": "item_7", "answer": [{"valueCoding": {"code": "3"}}]},
    ],
}


def test_hand_written_response_imports(registry: Registry) -> None:
    a = parse_questionnaire_response(json.dumps(HAND_WRITTEN), registry, episode="E4", session=2)
    assert a == Administration(
        client="C777",
        episode="E4",
        session=2,
        date=dt.date(2026, 10, 2),
        instrument="gad-7",
        version="1.0",
        perspective="client",
        answers={
            "item_1": 2,
            "item_2": 1,
            "item_3": 3,
            "item_4": None,
            "item_5": 0,
            "item_6": 1,
            "item_7": 3,
        },
    )


def test_hand_written_response_with_every_kind_of_problem(registry: Registry) -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    data["status"] = "in-progress"
    data["item"][0]["item"][0]["answer"] = [{"valueCoding": {"code": "4"}}]
    data["item"][0]["item"][1]["linkId"] = "item_99"
    data["item"][1]["answer"] = [{"valueString": "often"}]
    data["item"].append({"linkId": "item_7", "answer": [{"valueInteger": 1}]})
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(data, registry, episode="E4", session=2)
    problems = [(p.column, p.value) for p in caught.value.report.problems]
    assert problems == [
        ("status", "in-progress"),
        ("item[0].item[0].answer[0]", "4"),
        ("item[0].item[1].linkId", "item_99"),
        ("item[1].answer[0]", None),
        ("item[4].linkId", "item_7"),
    ]
    assert caught.value.report.problems[1].allowed == "0, 1, 2, 3"


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"questionnaire": "https://elsewhere.example/Questionnaire/gad-7"}, "questionnaire"),
        ({"questionnaire": f"{BASE}/Questionnaire/gad-8|1.0"}, "questionnaire"),
        ({"authored": None}, "authored"),
        ({"subject": {"reference": "Patient/991"}}, "subject"),
        ({"authored": "yesterday"}, "authored"),
        ({"authored": "2300-10-02T09:15:00+02:00"}, "authored"),  # beyond the dates of care
        ({"resourceType": "Observation"}, "resourceType"),
    ],
)
def test_response_problems_name_the_element(registry: Registry, change: dict, column: str) -> None:
    data = {**copy.deepcopy(HAND_WRITTEN), **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(data, registry, episode="E4", session=2)
    assert column in [p.column for p in caught.value.report.problems]


def test_foreign_response_needs_episode_and_session(registry: Registry) -> None:
    with pytest.raises(RejectedImportError, match=r"no episode(.|\n)*no session"):
        parse_questionnaire_response(HAND_WRITTEN, registry)
    with pytest.raises(RejectedImportError, match="not JSON"):
        parse_questionnaire_response("{oops", registry)


def test_a_bundle_with_one_bad_response_imports_nothing(
    registry: Registry, administrations: list[Administration]
) -> None:
    c001 = [a for a in administrations if a.client == "C001"]
    data = json.loads(fhir.to_json(fhir.bundle("C001", c001, registry)))
    responses = [
        e for e in data["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    responses[-1]["resource"]["item"][0]["answer"][0]["valueDecimal"] = 11
    back, report = read_bundle(data, registry)
    assert back == [] and report.rows == 3 and len(report.problems) == 1
    assert report.problems[0].problem.startswith("entry[")
    assert report.problems[0].allowed == "a number from 0 to 10"


def test_a_prediction_of_a_client_only_form_round_trips(registry: Registry) -> None:
    prediction = Administration(
        client="C001",
        episode="E1",
        session=1,
        date=dt.date(2026, 9, 3),
        instrument="wai-sr",
        version="1.0",
        perspective="clinician",
        stance="prediction",
        answers={f"item_{i}": 4 for i in range(1, 13)},
    )
    inst = registry.get("wai-sr")
    text = fhir.to_json(fhir.questionnaire_response(prediction, inst))
    assert parse_questionnaire_response(text, registry) == prediction
    data = json.loads(text)
    for ext in data["extension"]:
        if ext["url"].endswith("/perspective"):
            ext["valueCode"] = "client"
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(data, registry)
    assert [(p.value, p.allowed) for p in caught.value.report.problems] == [("client", "clinician")]


def test_a_response_written_for_another_base_says_which(registry: Registry) -> None:
    other = "https://other.example/api/v1/fhir"
    data = {**copy.deepcopy(HAND_WRITTEN), "questionnaire": f"{other}/Questionnaire/gad-7|1.0"}
    with pytest.raises(RejectedImportError) as caught:
        parse_questionnaire_response(data, registry, episode="E4", session=2)
    [problem] = [p for p in caught.value.report.problems if p.column == "questionnaire"]
    assert f"alliance fhir import takes it with --base-url {other}" in problem.problem
    assert "alliance import with --base-url https://other.example" in problem.problem


# -- who said it: the rater of each response and score -----------------------------------------


def _rated_session() -> list[Administration]:
    """One session of C009: the client's PHQ-9 and WAI-SR, the clinician's prediction of
    both, the clinician's own WAI-S and an observer's WAI (no observer named)."""
    day = dt.date(2026, 9, 17)

    def one(instrument: str, k: int, value: int, perspective: str, *, stance: str = "self",
            clinician: str | None = "dr.lee") -> Administration:  # fmt: skip
        return Administration(
            client="C009", episode="E1", session=3, date=day, instrument=instrument,
            version="1.0", perspective=perspective, stance=stance,  # type: ignore[arg-type]
            answers={f"item_{i}": value for i in range(1, k + 1)}, clinician=clinician,
        )  # fmt: skip

    return [
        one("phq-9", 9, 1, "client"),
        one("phq-9", 9, 2, "clinician", stance="prediction"),
        one("wai-sr", 12, 4, "client"),
        one("wai-sr", 12, 5, "clinician", stance="prediction"),
        one("wai-s", 12, 4, "clinician"),
        one("wai", 36, 4, "observer", clinician=None),
    ]


def test_each_response_and_score_names_whose_report_it_is(registry: Registry) -> None:
    records = _rated_session()
    data = reparsed(fhir.bundle("C009", records, registry), Bundle)
    resources = [e["resource"] for e in data["entry"]]
    [practitioner] = [r for r in resources if r["resourceType"] == "Practitioner"]
    assert practitioner == {
        "resourceType": "Practitioner", "id": "dr.lee",
        "identifier": [{"system": f"{BASE}/identifier/clinician", "value": "dr.lee"}],
    }  # fmt: skip
    clinician = {
        "reference": "Practitioner/dr.lee",
        "identifier": {"system": f"{BASE}/identifier/clinician", "value": "dr.lee"},
    }
    patient = {"reference": "Patient/C009",
               "identifier": {"system": f"{BASE}/identifier/client", "value": "C009"}}  # fmt: skip
    responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    authors = [(r["author"], r.get("source")) for r in responses]
    assert authors == [
        (patient, patient), (clinician, clinician), (patient, patient), (clinician, clinician),
        (clinician, clinician), ({"display": "an observer (not named in the record)"}, None),
    ]  # fmt: skip
    scores = [r for r in resources if r["resourceType"] == "Observation"]
    report = f"{BASE}/CodeSystem/report"

    def kind(obs: dict) -> tuple[list[str], str, list[str]]:
        categories = [c["code"] for cat in obs["category"] for c in cat["coding"]]
        return (
            categories,
            obs["performer"][0].get("reference", "-"),
            [c["code"] for c in obs["code"]["coding"]],
        )

    by_code = {kind(o)[2][0]: kind(o) for o in scores}
    assert by_code["phq-9/total"] == (
        ["survey", "patient-reported"],
        "Patient/C009",
        ["phq-9/total", "44261-6"],
    )
    # the prediction of the PHQ-9 is no survey, has its own code and no patient-reported LOINC
    assert by_code["phq-9/total/prediction"] == (
        ["clinician-prediction"],
        "Practitioner/dr.lee",
        ["phq-9/total/prediction"],
    )
    assert by_code["wai-sr/total/prediction"][:2] == (["clinician-prediction"],
                                                       "Practitioner/dr.lee")  # fmt: skip
    # PHQ-9 total and WAI-SR's four scales, twice; the WAI-S and WAI keys are not confirmed
    assert len(scores) == 10
    assert {kind(o)[0][-1] for o in scores} == {"patient-reported", "clinician-prediction"}
    [prediction] = [
        o for o in scores if o["code"]["coding"][0]["code"] == "wai-sr/total/prediction"
    ]
    title = registry.get("wai-sr").title
    assert prediction["code"]["text"] == f"Clinician's prediction of the client's {title}: Total"
    assert prediction["category"][0]["coding"][0]["system"] == report
    # no two kinds of report share a code: an EHR cannot read a prediction as the client's
    client_codes = {c for o in scores if kind(o)[0][-1] == "patient-reported" for c in kind(o)[2]}
    other_codes = {c for o in scores if kind(o)[0][-1] != "patient-reported" for c in kind(o)[2]}
    assert client_codes and other_codes and not client_codes & other_codes
    # every reference to a Practitioner or the Patient resolves inside the Bundle
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    text = json.dumps(data)
    assert all(
        ref in ids for ref in re.findall(r'"reference": "((?:Patient|Practitioner)/[^"]+)"', text)
    )
    back, report_ = read_bundle(text, registry)
    assert report_.ok  # the import reads the responses and passes over the rest
    who = [(a.instrument, a.perspective, a.stance, a.clinician) for a in back]
    assert who == [(a.instrument, a.perspective, a.stance, a.clinician) for a in records]


def test_a_raters_own_rating_is_a_survey_with_a_code_of_its_own(registry: Registry) -> None:
    # no built-in clinician or observer form has a confirmed key yet, so the codes are
    # checked where they are made
    inst = registry.get("wai-s")
    scale = inst.scale("total")
    for kind, suffix in (("clinician-rated", "clinician"), ("observer-rated", "observer")):
        [coding] = fhir_raters.scale_codings(inst, scale, kind=kind)
        assert coding.system == f"{BASE}/CodeSystem/scale"
        assert coding.code == f"wai-s/total/{suffix}"
        categories = fhir_raters.observation_category(kind)
        assert [c.coding[0].code for c in categories] == ["survey", kind]
    phq = registry.get("phq-9")
    codes = [c.code for c in fhir_raters.scale_codings(phq, phq.scale("total"))]
    assert codes == ["phq-9/total", "44261-6"]


def test_a_rating_without_its_clinician_names_no_practitioner(registry: Registry) -> None:
    unnamed = [dataclasses.replace(a, clinician=None) for a in _rated_session()]
    data = reparsed(fhir.bundle("C009", unnamed, registry), Bundle)
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert "Practitioner" not in kinds
    responses = [e["resource"] for e in data["entry"]
                 if e["resource"]["resourceType"] == "QuestionnaireResponse"]  # fmt: skip
    prediction = responses[1]  # the clinician's prediction of the PHQ-9
    assert prediction["author"] == {"display": "the clinician (not named in the record)"}
    assert "source" not in prediction
