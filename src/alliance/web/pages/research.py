"""The researcher's page: what the de-identified export holds, and its download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alliance.services.errors import ServiceError
from alliance.services.exchange import exports
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
    db.commit()
    min_cell = values.get("min_cell", 5)
    return render(
        request,
        "research.html",
        page.context(
            nav="research",
            overview=overview,
            small=int(min_cell) if str(min_cell).isdigit() else 5,
            values=values,
            errors=errors.fields,
        ),
        status_code=status_code,
    )


@router.get("/research")
def research_page(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    return _page(
        request,
        page,
        db,
        clinic,
        values={"date_mode": "shift", "min_cell": 5},
        errors=FormErrors(),
    )


@router.post("/research/export")
def research_download(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    errors = FormErrors()
    values: dict[str, Any] = {
        "date_mode": form.get("date_mode", "shift"),
        "min_cell": form.get("min_cell", "5").strip(),
    }
    if not values["min_cell"].isdigit() or int(values["min_cell"]) < 1:
        errors.add("min_cell", "Enter a whole number of clients, 1 or more.")
    if not errors:
        try:
            export = exports.research_export(
                db,
                page.actor,
                clinic.registry,
                study_key=form.get("study_key") or None,
                date_mode=values["date_mode"],
                min_cell=int(values["min_cell"]),
            )
        except ServiceError as exc:
            if exc.status != 422:
                raise
            errors.add(exc.field or "study_key", exc.message)
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
