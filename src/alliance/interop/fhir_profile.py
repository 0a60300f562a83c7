"""The project's FHIR definitions as resources: a StructureDefinition for each of its
extensions and a CodeSystem for each of its code systems, all under the fixed
:data:`~alliance.interop.fhir_terms.PROJECT_BASE` (docs/fhir.md). Every site's FHIR interface
serves them, so a validator or an integration engine can resolve what an exported resource
uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.codesystem import CodeSystem, CodeSystemConcept
from fhir.resources.R4B.elementdefinition import ElementDefinition, ElementDefinitionType
from fhir.resources.R4B.structuredefinition import (
    StructureDefinition,
    StructureDefinitionContext,
    StructureDefinitionDifferential,
)

from alliance.instruments.registry import Registry
from alliance.interop.fhir_follow_up import OUTCOME_CODES
from alliance.interop.fhir_goals import PROGRESS_CODE
from alliance.interop.fhir_raters import REPORT_KINDS, REPORT_SUFFIXES
from alliance.interop.fhir_terms import code_system, extension_url

VERSION = "1.0.0"
PUBLISHER = "The alliance project"
EXTENSION_BASE = "http://hl7.org/fhir/StructureDefinition/Extension"


@dataclass(frozen=True)
class Ext:
    name: str
    on: tuple[str, ...]  # the elements it is used on
    value: str  # a FHIR type, or "" for a complex extension
    short: str
    parts: tuple[tuple[str, str, str], ...] = ()  # (url, type, max) of a complex one


Q, QI, QR, OBS = "Questionnaire", "Questionnaire.item", "QuestionnaireResponse", "Observation"
GOAL = "Goal"
EXTENSIONS = (
    Ext("licence-status", (Q,), "code", "The instrument's licence status"),
    Ext("wording-source", (Q,), "string", "Whose wording the texts are"),
    Ext("licensed-wording", (Q,), "boolean", "False when the texts are the project's labels"),
    Ext("recall", (Q,), "string", "The period the answers refer to"),
    Ext(
        "scale",
        (Q,),
        "",
        "A scale of the instrument and how it is scored",
        (
            ("id", "code", "1"),
            ("label", "string", "1"),
            ("operation", "code", "1"),
            ("maxMissing", "integer", "1"),
            ("min", "decimal", "1"),
            ("max", "decimal", "1"),
            ("higherIs", "code", "1"),
            ("confirmed", "boolean", "1"),
            ("item", "string", "*"),
            ("code", "Coding", "*"),
        ),
    ),
    Ext("scale-membership", (QI,), "code", "A scale the item counts towards"),
    Ext("reverse-keyed", (QI,), "boolean", "The item is reverse-keyed"),
    Ext("unscored", (QI,), "string", "Why the item is asked though it is in no scale"),
    Ext("risk-threshold", (QI,), "decimal", "An answer at or above it raises an urgent alert"),
    Ext("min-label", (QI,), "string", "The label of the line's low end"),
    Ext("max-label", (QI,), "string", "The label of the line's high end"),
    Ext("resolution", (QI,), "decimal", "The precision at which a mark is captured"),
    Ext("episode", (QR, GOAL), "string", "The episode of care (E1, E2, …)"),
    Ext("session", (QR, OBS), "integer", "The session number in the episode"),
    Ext("perspective", (QR,), "code", "Who rated: client, clinician or observer"),
    Ext("stance", (QR,), "code", "self, or prediction (the clinician's guess)"),
    Ext("clinician", (QR,), "string", "The clinician's username"),
    Ext(
        "extra",
        (QR,),
        "",
        "An extra key and value of the administration",
        (("key", "string", "1"), ("value", "string", "1")),
    ),
    Ext("scoring-version", (OBS,), "string", "The scoring code's version"),
    Ext("goal-proposed-by", (GOAL,), "code", "Who proposed the goal: client, clinician, both"),
    Ext("goal-number", (GOAL,), "integer", "The goal's number in the episode"),
    Ext("goal-status", (GOAL,), "code", "The goal's status in the project's terms"),
    Ext("goal-replaces", (GOAL,), "string", "The goal this one replaced"),
    Ext("goal-rater", (OBS,), "code", "Who rated the goal's progress"),
)


def _id(name: str) -> str:
    return f"alliance-{name}"


def structure_definition(ext: Ext) -> StructureDefinition:
    url = extension_url(ext.name)
    elements = [
        ElementDefinition(id="Extension", path="Extension", short=ext.short, definition=ext.short),
        ElementDefinition(id="Extension.url", path="Extension.url", fixedUri=url),
    ]
    if ext.value:
        elements.append(
            ElementDefinition(
                id="Extension.value[x]",
                path="Extension.value[x]",
                min=1,
                type=[ElementDefinitionType(code=ext.value)],
            )
        )
    else:
        elements.append(
            ElementDefinition(id="Extension.value[x]", path="Extension.value[x]", max="0")
        )
        for part, kind, most in ext.parts:
            at = f"Extension.extension:{part}"
            elements += [
                ElementDefinition(
                    id=at, path="Extension.extension", sliceName=part, min=1 if most == "1" else 0,
                    max=most,
                ),
                ElementDefinition(id=f"{at}.url", path="Extension.extension.url", fixedUri=part),
                ElementDefinition(
                    id=f"{at}.value[x]", path="Extension.extension.value[x]", min=1,
                    type=[ElementDefinitionType(code=kind)],
                ),
            ]  # fmt: skip
    return StructureDefinition(
        id=_id(ext.name),
        url=url,
        version=VERSION,
        name="".join(p.capitalize() for p in ext.name.split("-")),
        title=f"alliance {ext.name}",
        status="active",
        publisher=PUBLISHER,
        description=ext.short,
        kind="complex-type",
        abstract=False,
        context=[StructureDefinitionContext(type="element", expression=e) for e in ext.on],
        type="Extension",
        baseDefinition=EXTENSION_BASE,
        derivation="constraint",
        differential=StructureDefinitionDifferential(element=elements),
    )


def structure_definitions() -> list[StructureDefinition]:
    return [structure_definition(e) for e in EXTENSIONS]


def _code_system(
    name: str, title: str, concepts: list[tuple[str, str]], *, complete: bool = True
) -> CodeSystem:
    return CodeSystem(
        id=_id(name),
        url=code_system(name),
        version=VERSION,
        name="".join(p.capitalize() for p in name.split("-")),
        title=title,
        status="active",
        publisher=PUBLISHER,
        caseSensitive=True,
        content="complete" if complete else "fragment",
        count=len(concepts),
        concept=[CodeSystemConcept(code=c, display=d) for c, d in concepts],
    )


def code_systems(registry: Registry) -> list[CodeSystem]:
    """The project's code systems; scale and band codes are those of ``registry`` (a site's
    own instruments add theirs), so those two are ``fragment``s of an open-ended system."""
    scales: dict[str, str] = {}
    bands: dict[str, str] = {}
    values: set[float] = set()
    for inst in registry:
        for scale in inst.scales:
            name = f"{inst.title}: {scale.label}"
            scales[f"{inst.id}/{scale.id}"] = name
            for kind, suffix in REPORT_SUFFIXES.items():
                scales[f"{inst.id}/{scale.id}/{suffix}"] = f"{name} ({REPORT_KINDS[kind].lower()})"
            for band in scale.bands.bands if scale.bands is not None else ():
                bands[f"{inst.id}/{scale.id}/{band.id}"] = band.label
        for item in inst.items:
            fmt = inst.format_of(item)
            values.update(o.value for o in getattr(fmt, "options", ()))
    answers = [(str(int(v)), f"The option value {int(v)}") for v in sorted(values)]
    follow_up = [
        ("follow-up", "Follow-up of a risk answer"),
        ("attempts", "Attempts to reach the client"),
        *OUTCOME_CODES.values(),
    ]
    return [
        _code_system("answer-value", "alliance option values", answers, complete=False),
        _code_system("scale", "alliance scale scores", sorted(scales.items()), complete=False),
        _code_system("report", "alliance kinds of report", list(REPORT_KINDS.items())),
        _code_system("band", "alliance score bands", sorted(bands.items()), complete=False),
        _code_system("risk-follow-up", "alliance follow-up of a risk answer", follow_up),
        _code_system(
            "goal", "alliance goals", [(PROGRESS_CODE, "Progress towards the goal, 0–10")]
        ),
    ]
