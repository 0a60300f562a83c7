"""Reading FHIR QuestionnaireResponses (single, or every one in a Bundle) into administrations.

A response is matched to its instrument by its ``questionnaire`` canonical URL
(``<base>/Questionnaire/<id>|<version>``; without ``|version`` the newest version), checked
with ``fhir.resources`` (R4B models, identical to R4 for this resource) and then against the
instrument: every answered ``linkId`` must be an item, every answer one of the item's option
values (``valueCoding`` with the option value as its code, or ``valueInteger``/``valueDecimal``)
or a number on its visual-analogue line. Nothing is returned unless everything is right:
:class:`~alliance.interop.report.RejectedImportError` lists every problem, each with the
FHIR path of the element.

Episode, session, perspective, stance and clinician come from the project's extensions
(docs/fhir.md) when the response was written by ``alliance``, or from the keyword arguments
when another system wrote it; a keyword argument given overrides the extension.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from alliance.instruments.model import Instrument, Perspective
from alliance.instruments.registry import Registry
from alliance.interop.fhir_answers import read_answers
from alliance.interop.fhir_loinc import FORMS, instrument_of_loinc
from alliance.interop.fhir_terms import (
    DEFAULT_BASE_URL,
    identifier_system,
    site_urls,
)
from alliance.interop.report import ImportReport, Problem, RejectedImportError
from alliance.records import DATE_TEXT, STANCES, Administration, Stance, plausible_date

FINISHED = ("completed", "amended")


def _load(resource: str | bytes | Mapping[str, Any], where: str) -> tuple[Any, list[Problem]]:
    if isinstance(resource, Mapping):
        return dict(resource), []
    try:
        return json.loads(resource), []
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, [Problem(f"{where}: not JSON ({exc})")]


def _validation_problems(exc: ValidationError, where: str) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"])
        got = error.get("input")
        shown = None if isinstance(got, dict | list) or got is None else str(got)
        problems.append(Problem(f"{where}: {error['msg']}", column=path or None, value=shown))
    return problems


def parse_questionnaire_response(
    resource: str | bytes | Mapping[str, Any],
    registry: Registry,
    *,
    base_url: str = DEFAULT_BASE_URL,
    client: str | None = None,
    episode: str | None = None,
    session: int | None = None,
    perspective: Perspective | None = None,
    stance: Stance | None = None,
    clinician: str | None = None,
    identifiers: Mapping[str, str] | None = None,
    foreign_subjects: bool = False,
) -> Administration:
    """One QuestionnaireResponse (JSON text or a parsed dict) as an administration.

    The client is ``client``, else the subject's client identifier (our system), else the
    code ``identifiers`` gives for one of the subject's other identifiers
    (``"<system>|<value>"`` → code: patient matching by an EHR's identifier); with
    ``foreign_subjects`` the first such identifier itself (``<system>|<value>``), for a caller
    that matches it in its database.

    Raises
    ------
    RejectedImportError
        With a report naming every problem (FHIR path, value, allowed values).
    """
    data, problems = _load(resource, "QuestionnaireResponse")
    administration = None
    if not problems:
        administration, problems = _parse(
            data,
            registry,
            where="QuestionnaireResponse",
            base_url=base_url,
            matching=(identifiers or {}, foreign_subjects),
            overrides={
                "client": client,
                "episode": episode,
                "session": session,
                "perspective": perspective,
                "stance": stance,
                "clinician": clinician,
            },
        )
    if problems or administration is None:
        raise RejectedImportError(
            ImportReport(source="QuestionnaireResponse", rows=1, problems=problems)
        )
    return administration


def read_bundle(
    resource: str | bytes | Mapping[str, Any],
    registry: Registry,
    *,
    base_url: str = DEFAULT_BASE_URL,
    client: str | None = None,
    episode: str | None = None,
    session: int | None = None,
    identifiers: Mapping[str, str] | None = None,
    foreign_subjects: bool = False,
) -> tuple[list[Administration], ImportReport]:
    """Every QuestionnaireResponse of a Bundle; none when any of them has a problem.

    Clients are the identifiers of the Patients the responses refer to (a Patient entry in
    the Bundle, or the reference's own identifier), matched as by
    :func:`parse_questionnaire_response`; ``client``, ``episode`` and ``session`` override
    every response's own. Other resources (Observations of scores, Questionnaires) are not
    read: scores are recomputed from the answers.
    """
    data, problems = _load(resource, "Bundle")
    report = ImportReport(source="Bundle", problems=problems)
    if problems:
        return [], report
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        report.problems.append(Problem("not a Bundle", column="resourceType", allowed="Bundle"))
        return [], report
    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        report.problems += _validation_problems(exc, "Bundle")
        return [], report
    clients = _patients(data.get("entry") or [], base_url)
    out: list[Administration] = []
    for n, entry in enumerate(data.get("entry") or []):
        res = entry.get("resource") or {}
        if res.get("resourceType") != "QuestionnaireResponse":
            continue
        report.rows += 1
        where = f"entry[{n}] QuestionnaireResponse/{res.get('id', '?')}"
        reference = ((res.get("subject") or {}).get("reference")) or ""
        full = f"{base_url.rstrip('/')}/{reference}" if reference else ""
        code, keys = clients.get(reference) or clients.get(full) or (None, [])
        administration, found = _parse(
            res,
            registry,
            where=where,
            base_url=base_url,
            matching=(identifiers or {}, foreign_subjects),
            patient_keys=keys,
            overrides={"client": client or code, "episode": episode, "session": session},
        )
        report.problems += found
        if administration is not None:
            out.append(administration)
    if report.problems:
        return [], report
    report.imported = len(out)
    return out, report


def _patients(entries: list[Any], base_url: str) -> dict[str, tuple[str | None, list[str]]]:
    """``Patient/<id>`` and full URLs → the client code from the Patient's identifier (our
    system), and its other identifiers as ``<system>|<value>``."""
    system = identifier_system("client", base_url)
    found: dict[str, tuple[str | None, list[str]]] = {}
    for entry in entries:
        res = entry.get("resource") or {}
        if res.get("resourceType") != "Patient":
            continue
        listed = [i for i in res.get("identifier") or [] if isinstance(i, dict)]
        codes = [i.get("value") for i in listed if i.get("system") == system and i.get("value")]
        keys = [
            f"{i['system']}|{i['value']}"
            for i in listed
            if i.get("system") not in (None, system) and i.get("value")
        ]
        known = (str(codes[0]) if codes else None, keys)
        found[f"Patient/{res.get('id')}"] = known
        if entry.get("fullUrl"):
            found[str(entry["fullUrl"])] = known
    return found


def _parse(
    data: Any,
    registry: Registry,
    *,
    where: str,
    base_url: str,
    overrides: Mapping[str, Any],
    matching: tuple[Mapping[str, str], bool] = ({}, False),
    patient_keys: list[str] | None = None,
) -> tuple[Administration | None, list[Problem]]:
    if not isinstance(data, dict) or data.get("resourceType") != "QuestionnaireResponse":
        got = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        return None, [
            Problem(
                f"{where}: not a QuestionnaireResponse",
                column="resourceType",
                value=str(got),
                allowed="QuestionnaireResponse",
            )
        ]
    try:
        response = QuestionnaireResponse.model_validate(data)
    except ValidationError as exc:
        return None, _validation_problems(exc, where)
    problems: list[Problem] = []

    def bad(problem: str, column: str, value: object = None, allowed: str | None = None) -> None:
        shown = None if value is None else str(value)
        problems.append(Problem(f"{where}: {problem}", column=column, value=shown, allowed=allowed))

    if response.status not in FINISHED:
        bad("the response is not finished", "status", response.status, ", ".join(FINISHED))
    inst = _instrument(response.questionnaire, registry, base_url, bad)
    fields = _extensions(response, base_url)
    fields.update({k: v for k, v in overrides.items() if v is not None})
    client = fields.get("client") or _client(response, base_url)
    keys = [*(patient_keys or []), *_other_identifiers(response, base_url)]
    if not client and keys:
        identifiers, foreign = matching
        client = next((identifiers[k] for k in keys if k in identifiers), None)
        if client is None and foreign:
            client = keys[0]  # the caller matches <system>|<value> in its database
        elif client is None:
            bad(
                "the patient is known only by another system's identifier: name the client "
                "(client=, --client) or match the identifier to one (--identifier)",
                "subject.identifier",
                allowed=", ".join(k.partition("|")[0] for k in keys),
            )
    elif not client:
        bad("no client: give the subject a client identifier, or pass client=", "subject")
    date = _date(response.authored)
    if date is None or not plausible_date(date):
        bad("missing or not a date of care", "authored", response.authored, DATE_TEXT)
    if not fields.get("episode"):
        bad("no episode (extension episode, or pass episode=)", "extension")
    if fields.get("session") is None:
        bad("no session number (extension session, or pass session=)", "extension")
    stance = fields.get("stance") or "self"
    if stance not in STANCES:
        bad("not a stance", "extension(stance)", stance, ", ".join(STANCES))
    answers: dict[str, float | None] = {}
    perspective = fields.get("perspective")
    if inst is not None:
        if stance == "prediction":
            # the clinician's guess at the client's answers, on the client's form
            perspective = perspective or "clinician"
            if perspective != "clinician":
                bad(
                    "a prediction is made by the clinician; perspective is",
                    "extension(perspective)",
                    perspective,
                    "clinician",
                )
            if "client" not in inst.perspectives:
                bad(f"{inst.id} has no client form to predict", "extension(stance)", stance, "self")
        else:
            if perspective is None and len(inst.perspectives) == 1:
                perspective = inst.perspectives[0]
            if perspective not in inst.perspectives:
                bad(
                    f"not a perspective of {inst.id}",
                    "extension(perspective)",
                    perspective,
                    ", ".join(inst.perspectives),
                )
        answers = read_answers(response, inst, base_url, bad)
    if problems or inst is None or date is None:
        return None, problems
    return (
        Administration(
            client=str(client),
            episode=str(fields["episode"]),
            session=int(fields["session"]),
            date=date,
            instrument=inst.id,
            version=inst.version,
            perspective=perspective,  # type: ignore[arg-type]
            answers=answers,
            stance="prediction" if stance == "prediction" else "self",
            clinician=fields.get("clinician"),
            id=_our_id(response, base_url),
            extras=fields.get("extras", {}),
        ),
        [],
    )


def _instrument(
    questionnaire: str | None, registry: Registry, base_url: str, bad: Any
) -> Instrument | None:
    prefix = f"{base_url.rstrip('/')}/Questionnaire/"
    if not questionnaire:
        bad(
            "no questionnaire: the canonical URL of the instrument is needed",
            "questionnaire",
            allowed=f"{prefix}<instrument>|<version>",
        )
        return None
    url, _, version = str(questionnaire).partition("|")
    by_loinc = instrument_of_loinc(url) if not url.startswith(prefix) else None
    if by_loinc is not None:
        return registry.get(by_loinc)  # LOINC's form: the newest version of ours
    if not url.startswith(prefix):
        base, _, inst_id = url.rpartition("/Questionnaire/")
        hint = ""
        if base and inst_id in {i.id for i in registry}:
            # an alliance Bundle written for another address (the file tool's default, say)
            hint = (
                f"; it names {inst_id} under the FHIR base {base}, so it was written for that "
                f"base: alliance fhir import takes it with --base-url {base}"
            )
            if base.endswith("/api/v1/fhir"):  # written by a clinic service
                service = base.removesuffix("/api/v1/fhir")
                hint += f", alliance import with --base-url {service}"
        bad(
            f"not a questionnaire of this service{hint}",
            "questionnaire",
            questionnaire,
            f"{prefix}<instrument>|<version>, or http://loinc.org/q/<LOINC panel> of "
            + ", ".join(sorted(FORMS)),
        )
        return None
    inst_id = url[len(prefix) :]
    try:
        return registry.get(inst_id, version or None)
    except KeyError as exc:
        bad(str(exc.args[0]), "questionnaire", questionnaire)
        return None


def _extensions(response: QuestionnaireResponse, base_url: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    extras: dict[str, str] = {}
    names = {
        url: n
        for n in ("episode", "session", "perspective", "stance", "clinician", "extra")
        for url in site_urls("StructureDefinition", n, base_url)
    }
    for ext in response.extension or []:
        name = names.get(str(ext.url))
        if name == "extra":
            parts = {str(e.url): e.valueString for e in ext.extension or []}
            if parts.get("key") is not None:
                extras[str(parts["key"])] = str(parts.get("value") or "")
        elif name == "session":
            fields[name] = ext.valueInteger
        elif name in ("perspective", "stance"):
            fields[name] = ext.valueCode
        elif name:
            fields[name] = ext.valueString
    fields["extras"] = extras
    return fields


def _client(response: QuestionnaireResponse, base_url: str) -> str | None:
    subject = response.subject
    if subject is None:
        return None
    identifier = subject.identifier
    if (
        identifier is not None
        and identifier.value
        and identifier.system in (None, identifier_system("client", base_url))
    ):
        return str(identifier.value)
    return None


def _other_identifiers(response: QuestionnaireResponse, base_url: str) -> list[str]:
    """The subject's identifier in another system, as ``<system>|<value>``."""
    identifier = response.subject.identifier if response.subject is not None else None
    if identifier is None or not identifier.system or not identifier.value:
        return []
    if identifier.system == identifier_system("client", base_url):
        return []
    return [f"{identifier.system}|{identifier.value}"]


def _date(authored: object) -> dt.date | None:
    if isinstance(authored, dt.datetime):
        return authored.date()
    if isinstance(authored, dt.date):
        return authored
    return None


def _our_id(response: QuestionnaireResponse, base_url: str) -> str | None:
    identifier = response.identifier
    if identifier is not None and identifier.system == identifier_system(
        "administration", base_url
    ):
        return str(identifier.value) if identifier.value else None
    return None
