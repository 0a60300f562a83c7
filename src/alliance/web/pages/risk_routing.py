"""The admin's page section for risk alerts outside the app: the duty address, the
escalation time, an optional signed webhook and the crisis contacts clients see."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from alliance.services.accounts import risk_routing
from alliance.services.accounts.access import require_role
from alliance.services.errors import Forbidden, Invalid, ServiceError
from alliance.web.api.deps import DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)


@router.post("/admin/risk-routing")
def set_risk_routing(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    secret = (form.get("webhook_secret") or "").strip()
    url = (form.get("webhook_url") or "").strip()
    try:
        minutes_text = (form.get("escalate_after_minutes") or "").strip()
        try:
            minutes = int(minutes_text)
        except ValueError:
            raise Invalid(
                "not a whole number of minutes",
                field="escalate_after_minutes",
                value=minutes_text,
                allowed=f"{risk_routing.MINUTES[0]} … {risk_routing.MINUTES[1]}",
            ) from None
        risk_routing.set_routing(
            db,
            page.actor,
            duty_email=form.get("duty_email"),
            escalate_after_minutes=minutes,
            webhook_url=url,
            # a new secret replaces the old; no address removes both; else the old stays
            webhook_secret=secret if secret or not url else risk_routing.KEEP,
            crisis_contacts=form.get("crisis_contacts"),
        )
    except ServiceError as exc:
        if isinstance(exc, Forbidden):
            raise
        db.rollback()
        field = f"{exc.field}: " if exc.field else ""
        return redirect("/admin", notice="not_saved", detail=f"{field}{exc.message}", page=page)
    db.commit()
    return redirect(
        "/admin", notice="saved", detail="Saved who is told about risk alerts.", page=page
    )
