"""The clinician's and supervisor's import and export page: the tables of the clients they
may see (a zip of CSV or Parquet files with their codebooks), and an import of a file (the
table of docs/import.md, a REDCap export with its mapping, or FHIR) that stores all of it or
lists every problem. The same services as ``/api/v1/exports/tables`` and
``/api/v1/imports``."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from alliance.services.accounts.access import CLINICAL_ROLES, require_role
from alliance.services.errors import Forbidden, ImportRejected, ServiceError
from alliance.services.exchange import exports, imports
from alliance.services.exchange.results import ImportResult
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.api.exchange import UPLOAD_SUFFIXES, save_upload
from alliance.web.clinic import analyse, send_alert_messages
from alliance.web.pages.common import Page, PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)
FORMATS = ("auto", "wide", "redcap", "fhir")


def _page(
    request: Request,
    page: Page,
    *,
    result: ImportResult | None = None,
    refused: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "exchange.html",
        page.context(
            nav="exchange", formats=FORMATS, result=result, refused=refused,
            problems=problems or [], suffixes=", ".join(UPLOAD_SUFFIXES),
        ),
        status_code=status_code,
    )  # fmt: skip


@router.get("/exchange")
def exchange_page(request: Request, page: PageDep) -> HTMLResponse:
    require_role(page.actor, *CLINICAL_ROLES)
    return _page(request, page)


@router.get("/exchange/tables")
def export_tables(page: PageDep, db: DbDep, clinic: ClinicDep, format: str = "csv") -> Response:
    require_role(page.actor, *CLINICAL_ROLES)
    kind: Literal["csv", "parquet"] = "parquet" if format == "parquet" else "csv"
    held = exports.export_holdings(db, page.actor, clinic.registry)
    content = exports.tables_zip(held, clinic.registry, kind=kind)
    db.commit()
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="alliance-tables-{kind}.zip"'},
    )


@router.post("/exchange/import")
async def import_upload(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, background: BackgroundTasks
) -> HTMLResponse:
    async with request.form() as form:  # closes the uploaded files' spools
        check_csrf(page, {"csrf_token": form.get("csrf_token")})
        require_role(page.actor, *CLINICAL_ROLES)
        upload, mapping = form.get("file"), form.get("mapping")
        chosen = str(form.get("format") or "auto")
        clinician = str(form.get("clinician") or "").strip() or None
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, page, refused="Choose a file to import.", status_code=422)
        try:
            result = _import(db, page, clinic, upload, mapping, chosen, clinician)
        except ServiceError as exc:
            if isinstance(exc, Forbidden):
                raise
            db.rollback()
            problems = [str(p) for p in exc.problems] if isinstance(exc, ImportRejected) else []
            return _page(request, page, refused=_said(exc), problems=problems, status_code=422)
    db.commit()
    background.add_task(send_alert_messages, clinic)
    for client_id in result.client_ids:
        background.add_task(analyse, clinic, client_id)
    return _page(request, page, result=result)


def _import(
    db: Session, page: Page, clinic: Any, upload: UploadFile, mapping: object, chosen: str,
    clinician: str | None,
) -> ImportResult:  # fmt: skip
    shown = re.sub(r"[^\w.\- ]", "_", Path(upload.filename or "upload").name)[:200]
    with tempfile.TemporaryDirectory(prefix="alliance-import-") as folder:
        path = save_upload(upload, Path(folder) / "upload", "file", UPLOAD_SUFFIXES)
        rules = (
            save_upload(mapping, Path(folder) / "mapping", "mapping", (".yaml", ".yml"))
            if isinstance(mapping, UploadFile) and mapping.filename
            else None
        )
        _, result = imports.import_file(
            db, page.actor, clinic.registry, path,
            format=chosen if chosen in FORMATS else "auto", mapping=rules,
            base_url=clinic.settings.base_url, name=shown, clinician=clinician,
        )  # fmt: skip
    return result


def _said(exc: ServiceError) -> str:
    text = exc.message
    if exc.allowed and exc.allowed not in text:
        text += f"; allowed: {exc.allowed}"
    return text
