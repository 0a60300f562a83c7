"""The CapabilityStatement of the FHIR interface: exactly what :mod:`.fhir_rest` and the
FHIR routes of :mod:`.exchange` do, no more."""

from __future__ import annotations

from typing import Any

from alliance.services.exchange.tables import fhir_base

SEARCH: dict[str, dict[str, str]] = {
    "Patient": {"identifier": "token"},
    "Practitioner": {"identifier": "token"},
    "Questionnaire": {"url": "uri", "code": "token"},
    "QuestionnaireResponse": {
        "subject": "reference",
        "patient": "reference",
        "questionnaire": "reference",
        "authored": "date",
        "identifier": "token",
    },
    "Observation": {
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "date": "date",
        "category": "token",
    },
    "Provenance": {"target": "reference", "patient": "reference"},
    "StructureDefinition": {"url": "uri"},
    "CodeSystem": {"url": "uri"},
}
"""The search parameters of each resource type (besides ``_id``, ``_count``, ``_offset``)."""

CREATE = ("QuestionnaireResponse",)
SECURITY = (
    "Log in (cookie) or send an API token of the service as 'Authorization: Bearer <token>'. "
    "A token acts as the user it belongs to, with that user's role and organization: "
    "clinicians and supervisors read and search the Patients, QuestionnaireResponses and "
    "Observations of the clients they may see and create QuestionnaireResponses for the "
    "clients they may change; anyone logged in reads Practitioners and Questionnaires; "
    "researchers and admins read no client's record here. Tokens have no scopes of their "
    "own yet (no read-only, write or patient-level tokens). Every read is audited. "
    "/metadata, StructureDefinition and CodeSystem need no login."
)


def capability_statement(base_url: str) -> dict[str, Any]:
    base = fhir_base(base_url)
    resources = []
    for kind, params in SEARCH.items():
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if kind in CREATE:
            interactions.append({"code": "create"})
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": [{"name": name, "type": kind_of} for name, kind_of in params.items()],
        }
        if kind in CREATE:
            entry["conditionalCreate"] = True
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "The alliance project",
        "kind": "instance",
        "software": {"name": "alliance", "version": "0.1.0"},
        "implementation": {"description": "alliance FHIR R4 interface", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search results are searchset Bundles of _count entries (default 20, at "
                    "most 100) with self, next and previous links (_offset). A comma in a "
                    "parameter's value is OR; a repeated date parameter is AND. Unknown "
                    "parameters are refused (400). Errors are OperationOutcomes. A "
                    "QuestionnaireResponse is created with Location and ETag; If-None-Exist "
                    "with identifier=<system>|<value> returns the stored response with that "
                    "identifier instead of creating one."
                ),
                "security": {"cors": False, "description": SECURITY},
                "resource": resources,
            }
        ],
    }
