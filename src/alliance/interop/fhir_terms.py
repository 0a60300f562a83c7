"""The names this project gives things in FHIR: canonical URLs, identifier and code
systems, extension URLs, resource ids, and the LOINC codes confirmed for our scales.

See docs/fhir.md for the profile these make up.
"""

from __future__ import annotations

import hashlib
import re

from alliance.instruments.model import Instrument

DEFAULT_BASE_URL = "https://alliance.example/fhir"
"""The file tools' FHIR base when none is given; a site's service uses its own address."""
PROJECT_BASE = "https://alliance.example/fhir"
"""The one fixed base of the project's own extensions and code systems, whatever the site's
address (docs/fhir.md): ``.example`` is reserved (RFC 2606), so no one else can ever own
these URLs, and the project has no address of its own to promise. Every site's FHIR
interface serves their StructureDefinition and CodeSystem resources."""
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HL7_EXT = "http://hl7.org/fhir/StructureDefinition/"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"

LOINC_SCALES: dict[tuple[str, str], tuple[str, str]] = {
    # Confirmed on loinc.org: the 44261-6 term page (Regenstrief LOINC; member of panel
    # 44249-1, "PHQ-9 quick depression assessment panel [Reported.PHQ]").
    ("phq-9", "total"): (
        "44261-6",
        "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    ),
    # Confirmed on loinc.org: panel 69729-2 (PHQ-SADS, Regenstrief LOINC) lists 70274-6.
    ("gad-7", "total"): (
        "70274-6",
        "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    ),
}
"""LOINC codes for scale scores, only where the code was confirmed for that instrument and
scale; every other scale is coded in the project's scale code system only."""

LOINC_PANELS: dict[str, tuple[str, str]] = {
    # loinc.org 44261-6 term page, "Member of these Panels".
    "phq-9": ("44249-1", "PHQ-9 quick depression assessment panel [Reported.PHQ]"),
}

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def questionnaire_url(instrument_id: str, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/Questionnaire/{instrument_id}"


def canonical(instrument: Instrument, base_url: str = DEFAULT_BASE_URL) -> str:
    """``<url>|<version>``, the reference a QuestionnaireResponse makes to its Questionnaire."""
    return f"{questionnaire_url(instrument.id, base_url)}|{instrument.version}"


def code_system(name: str) -> str:
    """The project's code systems (``answer-value``, ``scale``, ``band``, …), under
    :data:`PROJECT_BASE`."""
    return f"{PROJECT_BASE}/CodeSystem/{name}"


def extension_url(name: str) -> str:
    """The project's extensions, under :data:`PROJECT_BASE`."""
    return f"{PROJECT_BASE}/StructureDefinition/{name}"


def site_urls(kind: str, name: str, base_url: str) -> tuple[str, ...]:
    """The URLs a project extension (``kind`` StructureDefinition) or code system
    (CodeSystem) may have in a resource read back: the fixed one, and the one under the
    site's base that exports before issue 18 wrote."""
    return (f"{PROJECT_BASE}/{kind}/{name}", f"{base_url.rstrip('/')}/{kind}/{name}")


def identifier_system(name: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """Identifier systems: ``client`` (client codes), ``administration`` (our ids)."""
    return f"{base_url.rstrip('/')}/identifier/{name}"


def fhir_id(text: str, prefix: str) -> str:
    """``text`` when it is a valid FHIR id, otherwise ``prefix`` and a digest of it."""
    if FHIR_ID.match(text):
        return text
    return f"{prefix}-{hashlib.blake2b(text.encode('utf-8'), digest_size=16).hexdigest()}"
