"""The researcher's page: what the de-identified export holds, and its download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alliance.services.errors import ServiceError
from alliance.services.exchange import exports, studies
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.common import FormDep, FormErrors, Page, PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    page: Page,
    db: DbDep,
    clinic: ClinicDep,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    overview = exports.research_overview(db, page.actor, clinic.registry)
    found = studies.list_studies(db, page.actor)
    db.commit()
    chosen = next((s for s in found if s.id == values.get("study")), found[0] if found else None)
    return render(
        request,
        "research.html",
        page.context(
            nav="research",
            overview=overview,
            studies=found,
            chosen=chosen,
            small=chosen.k if chosen is not None else 5,
            errors=errors.fields,
        ),
        status_code=status_code,
    )


@router.get("/research")
def research_page(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    return _page(request, page, db, clinic, values={}, errors=FormErrors())


@router.post("/research/export")
def research_download(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    errors = FormErrors()
    values: dict[str, Any] = {"study": form.get("study", "").strip()}
    if not values["study"]:
        errors.add("study", "Choose a study.")
    if not errors:
        try:
            export = exports.research_export(db, page.actor, clinic.registry, study=values["study"])
        except ServiceError as exc:
            if exc.status not in (404, 422):
                raise
            errors.add("study", "Choose one of the studies listed.")
        else:
            content = exports.research_zip(export, clinic.registry)
            db.commit()
            return Response(
                content,
                media_type="application/zip",
                headers={"Content-Disposition": 'attachment; filename="alliance-research.zip"'},
            )
    db.rollback()
    return _page(request, page, db, clinic, values=values, errors=errors, status_code=422)
