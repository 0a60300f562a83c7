"""FHIR R4 REST under ``/api/v1/fhir``: ``/metadata``, read and search (searchset Bundles with
paging) of the resources of :mod:`alliance.services.exchange.fhir_rest`. The Questionnaire
read (with ``language``) and the QuestionnaireResponse create are in :mod:`.exchange`; errors
are OperationOutcomes (:mod:`.fhir_outcome`). docs/fhir.md lists every parameter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from alliance.services.errors import Invalid, NotAcceptable, NotFound, ServiceError
from alliance.services.exchange import fhir_rest as service
from alliance.services.exchange.tables import fhir_base
from alliance.web.api.capability import SEARCH, capability_statement
from alliance.web.api.deps import ActorDep, ClinicDep, DbDep
from alliance.web.api.fhir_outcome import FHIR_JSON, wants_other_format

router = APIRouter(prefix="/fhir", tags=["fhir"])
Resource = dict[str, Any]
DEFAULT_COUNT, MOST = 20, 100
PUBLIC = ("StructureDefinition", "CodeSystem")


def _respond(request: Request, body: Resource, status: int = 200) -> JSONResponse:
    asked = wants_other_format(request)
    if asked is not None:
        raise NotAcceptable(
            "only FHIR JSON is served", field="_format", value=asked, allowed="json"
        )
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


@router.get("/metadata")
def metadata(request: Request, clinic: ClinicDep) -> JSONResponse:
    """The CapabilityStatement: exactly what this interface supports (no login needed)."""
    return _respond(request, capability_statement(clinic.settings.base_url))


def _token(text: str) -> tuple[str | None, str]:
    system, sep, code = text.partition("|")
    return (system or None, code) if sep else (None, text)


def _codings(value: Any) -> Iterable[Resource]:
    for concept in value if isinstance(value, list) else [value]:
        if isinstance(concept, dict):
            yield from concept.get("coding") or ([concept] if "code" in concept else [])


def _matches_token(codings: Iterable[Resource], wanted: str) -> bool:
    system, code = _token(wanted)
    return any(
        (system is None or c.get("system") == system) and (not code or c.get("code") == code)
        for c in codings
    )


def _reference_id(text: str, kind: str) -> str:
    return text.rstrip("/").rpartition(f"{kind}/")[2] if f"{kind}/" in text else text


def _day(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, or a time) covers."""
    try:
        parts = [int(p) for p in text[:10].split("-")]
        if len(parts) == 1:
            return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
        if len(parts) == 2:
            first = dt.date(parts[0], parts[1], 1)
            following = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
            return first, following - dt.timedelta(days=1)
        day = dt.date(*parts)
    except (ValueError, TypeError):
        raise Invalid(
            "not a date", field="date", value=text, allowed="[prefix]YYYY-MM-DD"
        ) from None
    return day, day


def _matches_date(value: Any, wanted: str) -> bool:
    if not isinstance(value, str):
        return False
    prefix = wanted[:2] if wanted[:2] in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb") else "eq"
    low, high = _day(wanted[2:] if wanted[:2] == prefix else wanted)
    day = _day(value)[0]
    return {
        "eq": low <= day <= high,
        "ne": not low <= day <= high,
        "gt": day > high,
        "sa": day > high,
        "ge": day >= low,
        "lt": day < low,
        "eb": day < low,
        "le": day <= high,
    }[prefix]


def _check(kind: str, wanted: str) -> Callable[[Resource], bool]:
    """The test of one search parameter on a resource of ``kind``."""
    name, _, value = wanted.partition("=")
    reference = {"patient": "subject", "subject": "subject"}
    if name == "_id":
        return lambda r: r.get("id") == value
    if name == "identifier" and kind == "Patient":
        return lambda r: True  # matched in the database, with the EHR's identifiers (kept apart)
    if name == "identifier":
        return lambda r: _matches_token(_identifiers(r), value)
    if kind == "Provenance" and name == "patient":
        return lambda r: True  # only the patient's record was built (see _resources)
    if name == "target":
        target = _reference_id(value, "QuestionnaireResponse")
        return lambda r: any(
            _reference_id(str(t.get("reference", "")), "QuestionnaireResponse") == target
            for t in r.get("target") or []
        )
    if name in reference:
        target = _reference_id(value, "Patient")
        return lambda r: _reference_id(_subject(r), "Patient") == target
    if name in ("url", "questionnaire"):
        field = "url" if name == "url" else "questionnaire"
        return lambda r: value in (r.get(field), str(r.get(field, "")).partition("|")[0])
    if name == "code" and kind == "Questionnaire":
        return lambda r: _matches_token(_questionnaire_codings(r), value)
    if name in ("code", "category"):
        return lambda r: _matches_token(_codings(r.get(name) or []), value)
    if name in ("authored", "date"):
        field = "authored" if name == "authored" else "effectiveDateTime"
        return lambda r: _matches_date(r.get(field), value)
    raise AssertionError(name)  # pragma: no cover - SEARCH lists the names handled here


def _identifiers(resource: Resource) -> list[Resource]:
    found = resource.get("identifier") or []
    listed = found if isinstance(found, list) else [found]
    return [{"system": i.get("system"), "code": i.get("value")} for i in listed]


def _subject(resource: Resource) -> str:
    return str((resource.get("subject") or {}).get("reference", ""))


def _questionnaire_codings(resource: Resource) -> list[Resource]:
    """The Questionnaire's own codes and its items' codes (R4's ``code`` parameter)."""
    items = [c for i in resource.get("item") or [] for c in i.get("code") or []]
    return [*_codings(resource.get("code") or []), *items]


def _criteria(kind: str, request: Request) -> tuple[list[str], int, int]:
    allowed = SEARCH[kind]
    wanted: list[str] = []
    count, offset = DEFAULT_COUNT, 0
    for name, value in request.query_params.multi_items():
        if name == "_count":
            count = _number(name, value, 1, MOST)
        elif name == "_offset":
            count_offset = _number(name, value, 0, 10**9)
            offset = count_offset
        elif name in ("_format", "_pretty"):
            continue
        elif name in allowed or name == "_id":
            for one in value.split(","):  # a comma is OR in FHIR; all must be of one kind
                wanted.append(f"{name}={one}")
        else:
            raise ServiceError(  # 400, as FHIR answers an unknown search parameter
                f"{kind} cannot be searched by {name}",
                field=name,
                allowed=", ".join(["_id", *allowed, "_count", "_offset"]),
            )
    return wanted, count, offset


def _number(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise Invalid(f"{name} is a whole number", field=name, value=value, allowed=f"{low}–{high}")
    return number


def _filter(kind: str, resources: list[Resource], wanted: list[str]) -> list[Resource]:
    groups: dict[str, list[Callable[[Resource], bool]]] = {}
    for item in wanted:
        groups.setdefault(item.partition("=")[0], []).append(_check(kind, item))
    # values of one parameter (comma-separated) are OR; parameters repeated for dates are AND
    out = []
    for r in resources:
        if r.get("resourceType") != kind:
            continue
        keep = True
        for name, checks in groups.items():
            if name in ("date", "authored"):
                keep = keep and all(c(r) for c in checks)
            else:
                keep = keep and any(c(r) for c in checks)
        if keep:
            out.append(r)
    return out


def _resources(kind: str, wanted: list[str], db: Any, actor: Any, clinic: Any) -> list[Resource]:
    base = clinic.settings.base_url
    if kind in PUBLIC:
        return [r for r in service.definitions(clinic.registry) if r["resourceType"] == kind]
    if kind == "Practitioner":
        return service.practitioners(db, actor, base_url=base)
    if kind == "Questionnaire":
        return service.questionnaires(actor, clinic.registry, base_url=base)
    # the clients to build: each parameter's values are OR, parameters are AND
    by_name: dict[str, set[str]] = {}
    for item in wanted:
        name, _, value = item.partition("=")
        found: set[str] | None = None
        if name in ("patient", "subject"):
            found = {_reference_id(value, "Patient")}
        elif kind == "Patient" and name == "_id":
            found = {value}
        elif kind == "Patient" and name == "identifier":
            system, code = _token(value)
            found = service.patients_with_identifier(db, actor, system, code)
        elif name == "_id":
            found = service.patients_of(db, actor, value)
        elif name == "target":
            found = service.patients_of(db, actor, _reference_id(value, "QuestionnaireResponse"))
        if found is not None:
            by_name[name] = by_name.get(name, set()) | found
    patients = set.intersection(*by_name.values()) if by_name else None
    if patients is not None and not patients:
        return []
    return service.clinical(db, actor, clinic.registry, base_url=base, patients=patients)


def _bundle(
    kind: str, request: Request, base: str, found: list[Resource], count: int, offset: int
) -> Resource:
    page = found[offset : offset + count]
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_offset",)]

    def link(relation: str, at: int) -> Resource:
        params = urlencode([*query, ("_offset", str(at))] if at else query)
        return {"relation": relation, "url": f"{base}/{kind}{'?' + params if params else ''}"}

    links = [link("self", offset)]
    if offset + count < len(found):
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in page
        ]
        or None,
    }


def _search(kind: str, request: Request, db: Any, actor: Any, clinic: Any) -> JSONResponse:
    wanted, count, offset = _criteria(kind, request)
    found = _filter(kind, _resources(kind, wanted, db, actor, clinic), wanted)
    db.commit()  # the audit events of what was read
    body = _bundle(kind, request, fhir_base(clinic.settings.base_url), found, count, offset)
    if body["entry"] is None:
        del body["entry"]
    return _respond(request, body)


def _read(
    kind: str, resource_id: str, request: Request, db: Any, actor: Any, clinic: Any
) -> JSONResponse:
    wanted = [f"_id={resource_id}"]
    found = _filter(kind, _resources(kind, wanted, db, actor, clinic), wanted)
    db.commit()
    if not found:
        raise NotFound(f"no {kind} {resource_id} that you may see", field="id")
    return _respond(request, found[0])


def _public_routes(kind: str) -> None:
    def search(request: Request, db: DbDep, clinic: ClinicDep) -> JSONResponse:
        return _search(kind, request, db, None, clinic)

    def read(resource_id: str, request: Request, db: DbDep, clinic: ClinicDep) -> JSONResponse:
        return _read(kind, resource_id, request, db, None, clinic)

    search.__doc__ = f"Search the project's {kind} resources (no login needed)."
    read.__doc__ = f"One of the project's {kind} resources."
    router.add_api_route(f"/{kind}", search, methods=["GET"], name=f"search {kind}")
    router.add_api_route(f"/{kind}/{{resource_id}}", read, methods=["GET"], name=f"read {kind}")


def _routes(kind: str) -> None:
    def search(request: Request, db: DbDep, actor: ActorDep, clinic: ClinicDep) -> JSONResponse:
        return _search(kind, request, db, actor, clinic)

    def read(
        resource_id: str, request: Request, db: DbDep, actor: ActorDep, clinic: ClinicDep
    ) -> JSONResponse:
        return _read(kind, resource_id, request, db, actor, clinic)

    search.__doc__ = f"Search {kind} ({', '.join(SEARCH[kind])}); a searchset Bundle."
    read.__doc__ = f"Read one {kind}."
    router.add_api_route(f"/{kind}", search, methods=["GET"], name=f"search {kind}")
    if kind != "Questionnaire":  # read in .exchange, with version and language
        router.add_api_route(f"/{kind}/{{resource_id}}", read, methods=["GET"], name=f"read {kind}")


for _kind in PUBLIC:
    _public_routes(_kind)
for _kind in (
    "Patient",
    "Practitioner",
    "Questionnaire",
    "QuestionnaireResponse",
    "Observation",
    "Provenance",
):
    _routes(_kind)
