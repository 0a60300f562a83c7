"""Who said it: whose report each exported resource is, in terms an EHR reads.

A client's own rating is the patient's report. A clinician's rating of the session, and a
clinician's prediction of how the client will rate it, are the clinician's — and a
prediction stored beside the client's own score must never read as a second score the patient
gave. So every administration gets a **kind of report** (:data:`REPORT_KINDS`), and:

- the QuestionnaireResponse's ``author`` and ``source`` are the rater: the Patient for the
  client's own rating, a Practitioner of the Bundle (identified by the clinician's username,
  system ``<base>/identifier/clinician``) for a clinician's rating or prediction;
- each score Observation names the rater as ``performer`` and carries the kind in its
  ``category`` (the project's ``<project>/CodeSystem/report``); only the patient's and raters'
  own ratings of an instrument are ``survey`` observations — a prediction is not;
- a score Observation's ``code`` is the scale's code (``<instrument>/<scale>``, and LOINC where
  confirmed) only for the patient's report; anyone else's rating of the same scale has its own
  code in the project's scale system (``<instrument>/<scale>/clinician``, ``…/observer``,
  ``…/prediction``) and never a LOINC code, whose scores are all patient-reported.

A rater the record does not name (a file without a ``clinician`` column, an observer) is
given as a reference with only a ``display``, which R4 allows; docs/fhir.md lists the mapping.
"""

from __future__ import annotations

from typing import Literal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.reference import Reference

from alliance.instruments.model import Instrument, Scale
from alliance.interop.fhir_terms import (
    DEFAULT_BASE_URL,
    LOINC,
    LOINC_SCALES,
    OBSERVATION_CATEGORY,
    code_system,
    fhir_id,
    identifier_system,
)
from alliance.records import Administration

ReportKind = Literal[
    "patient-reported", "clinician-rated", "observer-rated", "clinician-prediction"
]

REPORT_KINDS: dict[ReportKind, str] = {
    "patient-reported": "Reported by the patient",
    "clinician-rated": "Rated by the clinician",
    "observer-rated": "Rated by an observer",
    "clinician-prediction": "The clinician's prediction of the patient's report",
}
"""The codes of ``<project>/CodeSystem/report`` and their displays."""

REPORT_SUFFIXES: dict[ReportKind, str] = {
    "clinician-rated": "clinician",
    "observer-rated": "observer",
    "clinician-prediction": "prediction",
}


def report_kind(administration: Administration) -> ReportKind:
    """Whose report an administration is, from its perspective and stance."""
    if administration.stance == "prediction":
        return "clinician-prediction"
    match administration.perspective:
        case "client":
            return "patient-reported"
        case "clinician":
            return "clinician-rated"
        case _:
            return "observer-rated"


def patient_id(client: str) -> str:
    return fhir_id(client, "client")


def practitioner_id(clinician: str) -> str:
    return fhir_id(clinician, "practitioner")


def practitioner(clinician: str, *, base_url: str = DEFAULT_BASE_URL) -> Practitioner:
    """The clinician as a Practitioner: the username as identifier, nothing else."""
    return Practitioner(
        id=practitioner_id(clinician),
        identifier=[Identifier(system=identifier_system("clinician", base_url), value=clinician)],
    )


def named_practitioner(administration: Administration) -> str | None:
    """The clinician whose Practitioner the administration refers to, if it names one."""
    if report_kind(administration) in ("clinician-rated", "clinician-prediction"):
        return administration.clinician
    return None


def rater(administration: Administration, *, base_url: str = DEFAULT_BASE_URL) -> Reference:
    """The person who gave the answers: the Patient, a Practitioner, or a display only."""
    kind = report_kind(administration)
    if kind == "patient-reported":
        return Reference(
            reference=f"Patient/{patient_id(administration.client)}",
            identifier=Identifier(
                system=identifier_system("client", base_url), value=administration.client
            ),
        )
    clinician = named_practitioner(administration)
    if clinician is not None:
        return Reference(
            reference=f"Practitioner/{practitioner_id(clinician)}",
            identifier=Identifier(system=identifier_system("clinician", base_url), value=clinician),
        )
    who = "an observer" if kind == "observer-rated" else "the clinician"
    return Reference(display=f"{who} (not named in the record)")


def scale_codings(
    instrument: Instrument,
    scale: Scale,
    *,
    kind: ReportKind = "patient-reported",
) -> list[Coding]:
    """The code of a scale score of this kind of report (see the module docstring)."""
    system = code_system("scale")
    name = f"{instrument.title}: {scale.label}"
    if kind != "patient-reported":
        display = (
            f"Clinician's prediction of the client's {name}"
            if kind == "clinician-prediction"
            else f"{name} ({REPORT_KINDS[kind].lower()})"
        )
        code = f"{instrument.id}/{scale.id}/{REPORT_SUFFIXES[kind]}"
        return [Coding(system=system, code=code, display=display)]
    codings = [Coding(system=system, code=f"{instrument.id}/{scale.id}", display=name)]
    loinc = LOINC_SCALES.get((instrument.id, scale.id))
    if loinc:
        codings.append(Coding(system=LOINC, code=loinc[0], display=loinc[1]))
    return codings


def observation_category(kind: ReportKind) -> list[CodeableConcept]:
    """``survey`` for a rating of the instrument (the patient's or a rater's own), never for
    a prediction; and the kind of report, always."""
    ours = CodeableConcept(
        coding=[Coding(system=code_system("report"), code=kind,
                       display=REPORT_KINDS[kind])],
        text=REPORT_KINDS[kind],
    )  # fmt: skip
    if kind == "clinician-prediction":
        return [ours]
    return [CodeableConcept(coding=[Coding(system=OBSERVATION_CATEGORY, code="survey")]), ours]
