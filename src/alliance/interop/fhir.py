"""FHIR R4 resources for instruments, administrations and scores (export).

Resources are built as ``fhir.resources`` models, so every one is validated as it is made.
``fhir.resources`` 7 and 8 (the releases for pydantic 2) ship FHIR R5 as the default package
and R4B (4.3.0) and STU3 as sub-packages; no R4 (4.0.1) package exists for pydantic 2 (the last
R4 default was 6.4, for pydantic 1). We use ``fhir.resources.R4B``: HL7 states that R4B changes
only the medication-definition, evidence-based-medicine and subscription resources and is
otherwise identical to R4 ("Implementers that do not use the specific portions where changes
have been made can continue to use either R4 or R4B without any functional difference",
hl7.org/fhir/R4B r4b-explanation page). Questionnaire, QuestionnaireResponse, Observation,
Patient, Practitioner and Bundle are unchanged, and the JSON written here is valid R4. See
docs/fhir.md for the profile: canonical URLs, code systems and extensions. Whose report each
resource is (author, source, performer, category, code) is set in :mod:`fhir_raters`.

No official item wording is ever written: item texts come from the :class:`Wording` passed in,
the project's own labels by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.questionnaire import (
    Questionnaire,
    QuestionnaireItem,
    QuestionnaireItemAnswerOption,
)
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference

from alliance.instruments.model import Instrument, OptionsFormat, Scale
from alliance.instruments.registry import Registry
from alliance.instruments.scoring import SCORING_VERSION, Scores, score
from alliance.instruments.wording import Wording, project_wording
from alliance.interop.fhir_loinc import loinc_answer, loinc_question
from alliance.interop.fhir_raters import (
    named_practitioner,
    observation_category,
    patient_id,
    practitioner,
    rater,
    report_kind,
    scale_codings,
)
from alliance.interop.fhir_terms import (
    DEFAULT_BASE_URL,
    FHIR_ID,
    HL7_EXT,
    ITEM_CONTROL,
    LOINC,
    LOINC_PANELS,
    LOINC_SCALES,
    UCUM,
    canonical,
    code_system,
    extension_url,
    fhir_id,
    identifier_system,
    questionnaire_url,
)
from alliance.interop.keys import idempotency_key
from alliance.interop.wide import to_wide
from alliance.records import Administration


def _ext(name: str, **value: Any) -> Extension:
    return Extension(url=extension_url(name), **value)


def _answer_coding(instrument: Instrument, item_id: str, value: float, label: str | None) -> Coding:
    """The LOINC answer code (LA…) where the item has a confirmed LOINC form, else the
    project's ``answer-value`` code; the ordinal value travels beside it (``ordinalValue``)."""
    loinc = loinc_answer(instrument.id, item_id, value)
    if loinc is not None:
        ordinal = Extension(url=f"{HL7_EXT}ordinalValue", valueDecimal=_number(value))
        return Coding(system=LOINC, code=loinc, display=label, extension=[ordinal])
    return Coding(system=code_system("answer-value"), code=str(int(value)), display=label)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def questionnaire(
    instrument: Instrument, wording: Wording | None = None, *, base_url: str = DEFAULT_BASE_URL
) -> Questionnaire:
    """The instrument as a Questionnaire: one item per instrument item (answer options, or a
    decimal with min/max for a visual-analogue line), its scales as ``scale`` extensions, the
    wording pack's language, and the licence as the copyright notice."""
    words = wording or project_wording(instrument)
    if words.instrument.key != instrument.key:
        raise ValueError(
            f"wording is for {words.instrument.id} {words.instrument.version}, "
            f"not {instrument.id} {instrument.version}"
        )
    licence = instrument.licence
    notice = f"{licence.holder + '. ' if licence.holder else ''}{licence.terms}"
    panel = LOINC_PANELS.get(instrument.id)
    extensions = [
        _ext("licence-status", valueCode=licence.status),
        _ext("wording-source", valueString=words.source),
        _ext("licensed-wording", valueBoolean=words.licensed),
    ]
    if instrument.recall:
        extensions.append(_ext("recall", valueString=instrument.recall))
    extensions += [_scale_extension(instrument, s) for s in instrument.scales]
    return Questionnaire(
        id=fhir_id(instrument.id, "q"),
        language=words.language,
        url=questionnaire_url(instrument.id, base_url),
        version=instrument.version,
        name=re.sub(r"[^A-Za-z0-9_]", "_", instrument.id.upper()),
        title=words.title,
        status="active",
        subjectType=["Patient"],
        description=instrument.citation,
        copyright=f"{notice} (licence status: {licence.status.replace('_', ' ')})",
        code=[Coding(system=LOINC, code=panel[0], display=panel[1])] if panel else None,
        extension=extensions,
        item=[_question(instrument, item_id, words) for item_id in instrument.item_ids],
    )


def _question(instrument: Instrument, item_id: str, words: Wording) -> QuestionnaireItem:
    item = instrument.items[instrument.item_ids.index(item_id)]
    fmt = instrument.format_of(item)
    extensions = [_ext("scale-membership", valueCode=s) for s in item.scales]
    if item.reverse:
        extensions.append(_ext("reverse-keyed", valueBoolean=True))
    if item.unscored:
        extensions.append(_ext("unscored", valueString=item.unscored))
    if item.risk:
        extensions.append(_ext("risk-threshold", valueDecimal=_number(item.risk.at_or_above)))
    if isinstance(fmt, OptionsFormat):
        labels = words.options[item_id]
        question = loinc_question(instrument.id, item_id)
        return QuestionnaireItem(
            linkId=item_id,
            code=[question] if question else None,
            text=words.item(item_id),
            type="choice",
            required=False,
            extension=extensions or None,
            answerOption=[
                QuestionnaireItemAnswerOption(
                    valueCoding=_answer_coding(instrument, item_id, o.value, labels[o.value]),
                    extension=[Extension(url=f"{HL7_EXT}ordinalValue", valueDecimal=o.value)],
                )
                for o in fmt.options
            ],
        )
    low_label, high_label = words.anchors[item_id]
    extensions += [
        Extension(url=f"{HL7_EXT}minValue", valueDecimal=_number(fmt.min)),
        Extension(url=f"{HL7_EXT}maxValue", valueDecimal=_number(fmt.max)),
        Extension(
            url=f"{HL7_EXT}questionnaire-itemControl",
            valueCodeableConcept=CodeableConcept(
                coding=[Coding(system=ITEM_CONTROL, code="slider")]
            ),
        ),
        _ext("min-label", valueString=low_label),
        _ext("max-label", valueString=high_label),
        _ext("resolution", valueDecimal=_number(fmt.resolution)),
    ]
    return QuestionnaireItem(
        linkId=item_id,
        text=words.item(item_id),
        type="decimal",
        required=False,
        extension=extensions,
    )


def _scale_extension(instrument: Instrument, scale: Scale) -> Extension:
    op = scale.operation
    parts = [
        Extension(url="id", valueCode=scale.id),
        Extension(url="label", valueString=scale.label),
        Extension(url="operation", valueCode=op.name),
        Extension(url="maxMissing", valueInteger=op.max_missing),
        Extension(url="min", valueDecimal=_number(scale.range[0])),
        Extension(url="max", valueDecimal=_number(scale.range[1])),
        Extension(url="higherIs", valueCode=scale.higher_is),
        Extension(url="confirmed", valueBoolean=scale.verified),
        *(Extension(url="item", valueString=i.id) for i in instrument.items_of(scale.id)),
        *(Extension(url="code", valueCoding=c) for c in scale_codings(instrument, scale)),
    ]
    return _ext("scale", extension=parts)


def response_id(administration: Administration, instrument: Instrument) -> str:
    """Our id when it is a valid FHIR id; otherwise derived from the idempotency key."""
    if administration.id and FHIR_ID.match(administration.id):
        return administration.id
    return f"qr-{idempotency_key(administration, instrument)}"


def questionnaire_response(
    administration: Administration,
    instrument: Instrument,
    *,
    wording: Wording | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> QuestionnaireResponse:
    """One administration as a completed QuestionnaireResponse. Episode, session,
    perspective, stance, clinician and extras travel in extensions (docs/fhir.md); the rater
    (the Patient, or the clinician's Practitioner for a clinician's rating or prediction) is
    its ``author`` and ``source``."""
    if (administration.instrument, administration.version) != instrument.key:
        raise ValueError(
            f"administration is {administration.instrument} {administration.version}, "
            f"not {instrument.id} {instrument.version}"
        )
    words = wording or project_wording(instrument)
    a = administration
    extensions = [
        _ext("episode", valueString=a.episode),
        _ext("session", valueInteger=a.session),
        _ext("perspective", valueCode=a.perspective),
        _ext("stance", valueCode=a.stance),
    ]
    if a.clinician is not None:
        extensions.append(_ext("clinician", valueString=a.clinician))
    extensions += [
        _ext(
            "extra",
            extension=[Extension(url="key", valueString=k), Extension(url="value", valueString=v)],
        )
        for k, v in sorted(a.extras.items())
    ]
    patient = Reference(
        reference=f"Patient/{patient_id(a.client)}",
        identifier=Identifier(system=identifier_system("client", base_url), value=a.client),
    )
    who = rater(a, base_url=base_url)
    items = []
    for item in instrument.items:
        value = a.answers.get(item.id)
        if value is None:
            continue  # an unanswered item has no answer, so it is left out
        fmt = instrument.format_of(item)
        if isinstance(fmt, OptionsFormat):
            label = words.options[item.id].get(int(value))
            answer = QuestionnaireResponseItemAnswer(
                valueCoding=_answer_coding(instrument, item.id, value, label)
            )
        else:
            answer = QuestionnaireResponseItemAnswer(valueDecimal=_number(value))
        items.append(
            QuestionnaireResponseItem(linkId=item.id, text=words.item(item.id), answer=[answer])
        )
    return QuestionnaireResponse(
        id=response_id(a, instrument),
        identifier=(
            Identifier(system=identifier_system("administration", base_url), value=a.id)
            if a.id
            else None
        ),
        questionnaire=canonical(instrument, base_url),
        status="completed",
        subject=patient,
        author=who,
        source=who if who.reference else None,  # R4 source takes a reference, not a display
        authored=a.date.isoformat(),
        extension=extensions,
        item=items or None,
    )


def observations(
    administration: Administration,
    scores: Scores,
    instrument: Instrument,
    *,
    row: int = 0,
    base_url: str = DEFAULT_BASE_URL,
) -> list[Observation]:
    """Row ``row`` of ``scores`` as one Observation per scale that has a score.

    ``scores`` must come from :func:`alliance.instruments.scoring.score` on this
    administration's answers; scales that are not computed or empty have no Observation.
    The rater is the ``performer``; the category and code say whose report it is, so a
    clinician's prediction cannot be read as the patient's score (:mod:`fhir_raters`).
    """
    if scores.instrument.key != instrument.key:
        raise ValueError(
            f"scores are for {scores.instrument.id} {scores.instrument.version}, "
            f"not {instrument.id} {instrument.version}"
        )
    response = response_id(administration, instrument)
    kind = report_kind(administration)
    performer = rater(administration, base_url=base_url)
    out = []
    for scale_id, values in scores.scales.items():
        value = float(values.values[row])
        if np.isnan(value):
            continue
        scale = instrument.scale(scale_id)
        codings = scale_codings(instrument, scale, kind=kind)
        band = values.band_ids()[row]
        interpretation = None
        if band is not None and scale.bands is not None:
            label = next(b.label for b in scale.bands.bands if b.id == band)
            interpretation = [
                CodeableConcept(
                    coding=[
                        Coding(
                            system=code_system("band"),
                            code=f"{instrument.id}/{scale_id}/{band}",
                            display=label,
                        )
                    ],
                    text=label,
                )
            ]
        out.append(
            Observation(
                id=fhir_id(f"{response}-{scale_id}", "obs"),
                status="final",
                category=observation_category(kind),
                code=CodeableConcept(coding=codings, text=codings[0].display),
                subject=Reference(reference=f"Patient/{patient_id(administration.client)}"),
                performer=[performer],
                effectiveDateTime=administration.date.isoformat(),
                valueQuantity=Quantity(
                    value=_number(value), unit="{score}", system=UCUM, code="{score}"
                ),
                interpretation=interpretation,
                derivedFrom=[Reference(reference=f"QuestionnaireResponse/{response}")],
                extension=[_ext("scoring-version", valueString=SCORING_VERSION)],
            )
        )
    return out


def bundle(
    client: str,
    administrations: Iterable[Administration],
    registry: Registry,
    *,
    identifying: Mapping[str, Any] | None = None,
    wordings: Mapping[str, Wording] | None = None,
    include_questionnaires: bool = True,
    base_url: str = DEFAULT_BASE_URL,
) -> Bundle:
    """A client's whole record as a ``collection`` Bundle: the Patient, a Practitioner for
    each clinician whose rating or prediction it holds, the Questionnaires used, and every
    administration with its score Observations.

    The Patient carries only the pseudonymous client code, unless ``identifying`` gives
    Patient elements (``name``, ``birthDate``, ``telecom`` …) to add, as a site decides.
    """
    records = list(administrations)
    others = sorted({a.client for a in records if a.client != client})
    if others:
        raise ValueError(f"administrations of other clients in the bundle of {client}: {others}")
    patient = Patient.model_validate(
        {
            **dict(identifying or {}),
            "resourceType": "Patient",
            "id": patient_id(client),
            "identifier": [{"system": identifier_system("client", base_url), "value": client}],
        }
    )
    entries: list[Any] = [patient]
    clinicians = sorted({c for a in records if (c := named_practitioner(a)) is not None})
    entries += [practitioner(c, base_url=base_url) for c in clinicians]
    used = sorted({(a.instrument, a.version) for a in records})
    instruments = {key: registry.get(*key) for key in used}
    words = dict(wordings or {})
    if include_questionnaires:
        entries += [
            questionnaire(inst, words.get(inst.id), base_url=base_url)
            for inst in instruments.values()
        ]
    scored: dict[int, tuple[Scores, int]] = {}
    for key, inst in instruments.items():
        positions = [n for n, a in enumerate(records) if (a.instrument, a.version) == key]
        wide = to_wide([records[n] for n in positions])
        result = score(inst, wide.reindex(columns=list(inst.item_ids)))
        scored.update({n: (result, row) for row, n in enumerate(positions)})
    for n, a in enumerate(records):
        inst = instruments[(a.instrument, a.version)]
        result, row = scored[n]
        entries.append(
            questionnaire_response(a, inst, wording=words.get(inst.id), base_url=base_url)
        )
        entries += observations(a, result, inst, row=row, base_url=base_url)
    return Bundle(
        type="collection",
        entry=[
            BundleEntry(
                fullUrl=f"{base_url.rstrip('/')}/{r.get_resource_type()}/{r.id}", resource=r
            )
            for r in entries
        ],
    )


def to_json(resource: Any, *, indent: int | None = 2) -> str:
    """Serialize a resource as FHIR JSON."""
    text: str = resource.model_dump_json(indent=indent)
    return text


__all__: Sequence[str] = (
    "DEFAULT_BASE_URL",
    "LOINC_SCALES",
    "bundle",
    "canonical",
    "observations",
    "patient_id",
    "questionnaire",
    "questionnaire_response",
    "to_json",
)
