"""Correcting a rating on a page: the form opens with the answers as stored; the corrected
version replaces them in charts, alerts and exports, and the original stays in the history
(``services/records/corrections.py``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from alliance.instruments.wording import resolve
from alliance.services.errors import Conflict, Invalid
from alliance.services.records.corrections import administration_for, correct_administration
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.clinic import after_submission
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect, render
from alliance.web.pages.forms import form_items, parse_answers

router = APIRouter(include_in_schema=False)


@router.get("/administrations/{administration_id}/correct")
def correction_page(
    request: Request, administration_id: str, page: PageDep, db: DbDep, clinic: ClinicDep
) -> HTMLResponse:
    found = administration_for(db, page.actor, administration_id)
    db.commit()
    values = {item: f"{value:g}" for item, value in found[0].answers.items() if value is not None}
    return _form(request, page, clinic, found, values=values, errors={})


@router.post("/administrations/{administration_id}/correct")
def correct(
    request: Request,
    administration_id: str,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
    form: FormDep,
    background: BackgroundTasks,
) -> Response:
    check_csrf(page, form)
    found = administration_for(db, page.actor, administration_id)
    inst = clinic.registry.get(found[0].instrument, found[0].version)
    answers, errors = parse_answers(inst, form)
    values = {item: form.get(item, "") for item in inst.item_ids}
    problem = None
    if not errors:
        try:
            result = correct_administration(
                db,
                page.actor,
                clinic.registry,
                administration_id,
                answers=answers,
                reason=form.get("reason", ""),
                idempotency_key=f"correct:{form.get('form_key') or uuid.uuid4().hex}",
            )
        except (Invalid, Conflict) as exc:
            db.rollback()
            item = (exc.field or "").removeprefix("answers.")
            if item in inst.item_ids:
                errors[item] = exc.message
            else:
                problem = exc.message
        else:
            db.commit()
            background.add_task(after_submission, clinic, result.client_id)
            return redirect(
                f"/clients/{found[2].id}",
                notice="corrected",
                detail=inst.id,
                n=found[1].number,
                page=page,
            )
    status = 409 if problem and "already corrected" in problem else 422
    return _form(
        request, page, clinic, found, values=values, errors=errors, problem=problem,
        reason=form.get("reason", ""), status_code=status,
    )  # fmt: skip


def _form(
    request: Request,
    page: Any,
    clinic: Any,
    found: tuple[Any, Any, Any],
    *,
    values: dict[str, str],
    errors: dict[str, str],
    problem: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    administration, session, client = found
    inst = clinic.registry.get(administration.instrument, administration.version)
    predicted = administration.stance == "prediction"
    wording = resolve(
        inst,
        clinic.wording_packs,
        language=administration.language or client.language,
        perspective="client" if predicted else administration.perspective,
    )
    return render(
        request,
        "correct.html",
        page.context(
            nav="caseload",
            administration=administration,
            session=session,
            client=client,
            instrument=inst,
            wording=wording,
            items=form_items(inst, wording, values, errors),
            problem=problem,
            reason=reason,
            form_key=uuid.uuid4().hex,
        ),
        status_code=status_code,
    )
