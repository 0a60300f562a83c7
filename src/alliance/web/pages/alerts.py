"""Working the alerts from a page: acknowledge, add a note, resolve — and for a risk alert
the follow-up record, without which it is not resolved."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response

from alliance.services.errors import Invalid, ServiceError
from alliance.services.monitoring import alerting, follow_up
from alliance.web.api.deps import DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)


def _back(form: dict[str, str]) -> str:
    back = form.get("back") or "/caseload"
    if not back.startswith("/") or back.startswith("//"):
        return "/caseload"
    return back


def _contacted_at(text: str) -> dt.datetime | None:
    """The form's date and time (``YYYY-MM-DDTHH:MM``, UTC as the page says), or None."""
    if not text.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            "not a date and time", field="contacted_at", value=text, allowed="YYYY-MM-DDTHH:MM"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _attempts(text: str) -> int:
    try:
        return int(text.strip() or "1")
    except ValueError:
        raise Invalid(
            "not a whole number", field="attempts", value=text, allowed="1 … 99"
        ) from None


@router.post("/alerts/{alert_id}/follow-up")
def record_follow_up(alert_id: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    back = _back(form)
    resolve = form.get("resolve") == "1"
    try:
        given = follow_up.FollowUpInput(
            outcome=form.get("outcome", ""),
            note=form.get("note", ""),
            attempts=_attempts(form.get("attempts", "")),
            contacted_at=_contacted_at(form.get("contacted_at", "")),
        )
        follow_up.record_follow_up(db, page.actor, alert_id, given, resolve=resolve)
    except ServiceError as exc:
        db.rollback()
        field = f" ({exc.field})" if exc.field else ""
        return redirect(
            back, notice="follow_up_not_saved", detail=f"{field}: {exc.message}", page=page
        )
    db.commit()
    return redirect(back, notice="follow_up_resolved" if resolve else "follow_up_saved")


@router.post("/alert-groups/{action}")
def alert_group_action(action: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    """One step on every alert of a group (the ids in ``alerts``, separated by spaces)."""
    check_csrf(page, form)
    back = _back(form)
    ids = form.get("alerts", "").split()
    try:
        done = alerting.act_on_alerts(db, page.actor, ids, action, form.get("note"))
    except ServiceError as exc:
        db.rollback()
        return redirect(back, notice="not_done", detail=exc.message, page=page)
    db.commit()
    n = len(done)
    what = f"{n} alert{'s' if n != 1 else ''}"
    message = {
        "acknowledge": f"Acknowledged {what}.",
        "resolve": f"Resolved {what}.",
        "note": f"Note added to {what}.",
    }.get(action, "Done.")
    return redirect(back, notice="done", detail=message, page=page)


@router.post("/alerts/{alert_id}/{action}")
def alert_action(alert_id: str, action: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    back = _back(form)
    try:
        alerting.act_on_alert(db, page.actor, alert_id, action, form.get("note"))
    except ServiceError as exc:
        return redirect(back, notice="not_done", detail=exc.message, page=page)
    db.commit()
    done = {
        "acknowledge": "Alert acknowledged.",
        "resolve": "Alert resolved.",
        "note": "Note added.",
    }.get(action, "Done.")
    return redirect(back, notice="done", detail=done, page=page)
