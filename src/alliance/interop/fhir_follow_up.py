"""The follow-up of a risk answer as a FHIR R4 Observation (export).

One Observation per follow-up record, coded in the project's code system
``<project base>/CodeSystem/risk-follow-up`` (docs/fhir.md): ``code`` = ``follow-up``, the value =
the outcome (``no-current-risk``, ``safety-plan``, ``referred``, ``emergency-services``,
``not-reached``), a component ``attempts`` (how many times the client was tried), the time
the client was reached as ``effectiveDateTime`` (the time of the record when not reached),
the clinician's note as ``note``, and ``derivedFrom`` the QuestionnaireResponse whose risk
answer raised the alert when it is in the same Bundle. No standard terminology for these
outcomes could be confirmed, so none is guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.reference import Reference

from alliance.interop.fhir_terms import code_system, fhir_id

SYSTEM = "risk-follow-up"
OUTCOME_CODES = {
    "no_current_risk": ("no-current-risk", "Client reached and assessed: no current risk"),
    "safety_plan": ("safety-plan", "Safety plan made or reviewed with the client"),
    "referred": ("referred", "Referred on to another service"),
    "emergency_services": ("emergency-services", "Emergency services contacted"),
    "not_reached": ("not-reached", "Client not reached yet"),
}


@dataclass(frozen=True)
class FollowUp:
    """A follow-up as plain values (the service reads them from the store)."""

    id: str
    client: str
    outcome: str
    attempts: int
    note: str
    recorded_at: dt.datetime
    contacted_at: dt.datetime | None = None
    response_id: str | None = None  # the QuestionnaireResponse with the risk answer


def _coding(code: str, display: str) -> Coding:
    return Coding(system=code_system(SYSTEM), code=code, display=display)


def follow_up_observation(follow_up: FollowUp, *, patient: str) -> Observation:
    """``patient`` is the Patient resource id of the client in the Bundle."""
    if follow_up.outcome not in OUTCOME_CODES:
        raise ValueError(
            f"outcome must be one of {', '.join(OUTCOME_CODES)}; got {follow_up.outcome!r}"
        )
    code, display = OUTCOME_CODES[follow_up.outcome]
    effective = follow_up.contacted_at or follow_up.recorded_at
    return Observation(
        id=fhir_id(f"follow-up-{follow_up.id}", "follow-up"),
        status="final",
        code=CodeableConcept(
            coding=[_coding("follow-up", "Follow-up of a risk answer")],
            text="Follow-up of a risk answer",
        ),
        subject=Reference(reference=f"Patient/{patient}"),
        effectiveDateTime=effective.isoformat(),
        issued=follow_up.recorded_at.isoformat(),
        valueCodeableConcept=CodeableConcept(coding=[_coding(code, display)], text=display),
        component=[
            ObservationComponent(
                code=CodeableConcept(coding=[_coding("attempts", "Attempts to reach the client")]),
                valueInteger=follow_up.attempts,
            )
        ],
        note=[Annotation(text=follow_up.note)],
        derivedFrom=(
            [Reference(reference=f"QuestionnaireResponse/{follow_up.response_id}")]
            if follow_up.response_id
            else None
        ),
    )
