"""The admin's section for risk alerts outside the app: the duty address, the escalation
time, an optional signed webhook and the crisis contacts clients see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alliance.services.accounts import risk_routing
from alliance.services.accounts.access import require_role
from alliance.services.errors import Invalid, ServiceError
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.admin import refusal, show_section
from alliance.web.pages.common import FormDep, Page, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)
FIELD_IDS = {
    "duty_email": "duty-email",
    "escalate_after_minutes": "escalate-after",
    "webhook_url": "webhook-url",
    "webhook_secret": "webhook-secret",
    "crisis_contacts": "crisis-contacts",
}


def _page(
    request: Request, page: Page, db: DbDep, clinic: Any, *, notice: str | None = None,
    errors: dict[str, str] | None = None, posted: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    if errors:
        db.rollback()
    routing = risk_routing.routing_view(db, page.actor)
    return show_section(
        request, page, db, clinic, "risk-routing", notice=notice, errors=errors,
        status_code=422 if errors else 200, routing=routing, posted=posted,
        mail_ready=clinic.mailer is not None,
    )  # fmt: skip


@router.get("/admin/risk-routing")
def risk_routing_page(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep
) -> HTMLResponse:
    require_role(page.actor, "admin")
    return _page(request, page, db, clinic)


@router.post("/admin/risk-routing")
def set_risk_routing(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
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
        routing = risk_routing.set_routing(
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
        field = FIELD_IDS.get(exc.field or "", "duty-email")
        return _page(
            request, page, db, clinic, posted=form,
            errors={field: f"Not saved — {exc.field or 'risk routing'}: {refusal(exc)}"},
        )  # fmt: skip
    contacts = (routing.crisis_contacts or "").count("\n") + 1 if routing.crisis_contacts else 0
    webhook = routing.webhook_url or "none"
    if routing.webhook_url and secret:
        webhook += " (new secret)"
    said = (
        f"duty address {routing.duty_email or 'none'}; escalation after "
        f"{routing.escalate_after_minutes} minutes; webhook {webhook}; "
        f"crisis contacts: {contacts} line{'s' if contacts != 1 else ''}"
    )
    db.commit()
    return redirect(
        "/admin/risk-routing",
        notice="saved",
        detail=f"Saved who is told about risk alerts: {said}.",
        page=page,
    )
