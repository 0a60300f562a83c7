"""The admin's pages: users, teams, roles, the organization's words, instruments and wording
packs offered, and alert rule thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alliance.services.accounts import organization, people, risk_routing
from alliance.services.accounts.access import require_role
from alliance.services.errors import Forbidden, ServiceError
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.alert_rules import rule_rows
from alliance.web.pages.common import FormDep, Page, PageDep, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_page(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    require_role(page.actor, "admin")
    users = people.list_users(db, page.actor).users
    teams = people.list_teams(db, page.actor)
    org = organization.organization(db, page.actor)
    routing = risk_routing.routing_view(db, page.actor)
    db.commit()
    offered = set(organization.offered_instruments(org, clinic.registry))
    packs = [
        (p.instrument, p.language, p.perspective or "all", p.source) for p in clinic.wording_packs
    ]
    return render(
        request,
        "admin.html",
        page.context(
            nav="admin",
            users=users,
            teams={t.id: t.name for t in teams},
            team_list=teams,
            instruments=[i for i in clinic.registry if "client" in i.perspectives],
            offered=offered,
            packs=packs,
            client_words=organization.CLIENT_WORDS,
            clinician_words=organization.CLINICIAN_WORDS,
            rules=rule_rows(org),
            routing=routing,
            mail_ready=clinic.mailer is not None,
        ),
    )


def _done(db: DbDep, what: str, page: Page) -> Response:
    db.commit()
    return redirect("/admin", notice="saved", detail=what, page=page)


def _failed(exc: ServiceError, page: Page) -> Response:
    if isinstance(exc, Forbidden):
        raise exc
    field = f"{exc.field}: " if exc.field else ""
    return redirect("/admin", notice="not_saved", detail=f"{field}{exc.message}", page=page)


@router.post("/admin/users")
def add_user(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        user = people.create_user(
            db,
            page.actor,
            username=form.get("username", ""),
            role=form.get("role", ""),
            password=form.get("password") or None,
            display_name=form.get("display_name"),
            email=form.get("email") or None,
            team_id=form.get("team_id") or None,
        )
    except ServiceError as exc:
        return _failed(exc, page)
    return _done(db, f"Added {user.username}.", page)


@router.post("/admin/users/{user_id}")
def change_user(user_id: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        user = people.update_user(
            db,
            page.actor,
            user_id,
            role=form.get("role") or None,
            team_id=form.get("team_id") or None,
            clear_team=form.get("team_id") == "",
            active=form.get("active") == "1" if "active" in form else None,
            password=form.get("password") or None,
        )
    except ServiceError as exc:
        return _failed(exc, page)
    return _done(db, f"Saved {user.username}.", page)


@router.post("/admin/teams")
def add_team(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        team = people.create_team(db, page.actor, form.get("name", ""))
    except ServiceError as exc:
        return _failed(exc, page)
    return _done(db, f"Added team {team.name}.", page)


@router.post("/admin/terms")
def set_terms(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        organization.set_terms(
            db, page.actor, client=form.get("client", ""), clinician=form.get("clinician", "")
        )
    except ServiceError as exc:
        return _failed(exc, page)
    return _done(db, "Saved the words your pages use.", page)


@router.post("/admin/instruments")
async def set_instruments(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep
) -> Response:
    form = await request.form()
    require_role(page.actor, "admin")
    check_csrf(page, {"csrf_token": form.get("csrf_token")})
    chosen = [str(v) for v in form.getlist("instrument")]
    try:
        organization.set_enabled_instruments(db, page.actor, clinic.registry, chosen)
    except ServiceError as exc:
        return _failed(exc, page)
    return _done(db, "Saved the instruments offered to clinicians.", page)
