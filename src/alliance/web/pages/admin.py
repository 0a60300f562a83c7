"""The admin's pages, one per section with a small section menu: users, teams, the
organization's words, instruments and wording packs offered, (alert_rules.py) alert rules,
(risk_routing.py) risk alerts outside the app, and learning. Every save says exactly what it
saved, or shows the section again with exactly what was refused and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from alliance.feedback.config import ALWAYS_ON
from alliance.services.accounts import organization, people, risk_routing
from alliance.services.accounts.access import require_role
from alliance.services.errors import Forbidden, ServiceError
from alliance.services.monitoring.analysis import config_of
from alliance.store.models import ROLES, Team, User
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.common import FormDep, Page, PageDep, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("users", "Users"),
    ("teams", "Teams"),
    ("words", "Words"),
    ("instruments", "Instruments"),
    ("alert-rules", "Alert rules"),
    ("risk-routing", "Risk alerts"),
    ("learning", "Learning"),
)


def refusal(exc: ServiceError) -> str:
    """A refusal in full: what was wrong and, when the service says, what is allowed."""
    if isinstance(exc, Forbidden):
        raise exc
    text = exc.message
    if exc.allowed and exc.allowed not in text:
        text += f"; allowed: {exc.allowed}"
    return text


def _users(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    teams = people.list_teams(db, page.actor)
    return {
        "users": people.list_users(db, page.actor).users,
        "teams": {t.id: t.name for t in teams},
        "team_list": teams,
        "roles": ROLES,
    }


def _teams(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    teams = people.list_teams(db, page.actor)
    members: dict[str, int] = {}
    for user in people.list_users(db, page.actor).users:
        if user.team_id:
            members[user.team_id] = members.get(user.team_id, 0) + 1
    return {"team_list": teams, "members": members}


def _words(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    return {
        "client_words": organization.CLIENT_WORDS,
        "clinician_words": organization.CLINICIAN_WORDS,
    }


def _instruments(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    return {
        "instruments": list(clinic.registry),
        "enabled": set(organization.enabled_instruments(page.organization, clinic.registry)),
        "packs": [
            (p.instrument, p.language, p.perspective or "all", p.source)
            for p in clinic.wording_packs
        ],
    }


def _learning(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    return {}


def _overview(db: Session, page: Page, clinic: Any) -> dict[str, Any]:
    users = people.list_users(db, page.actor).users
    rules = [
        settings["enabled"]
        for rule, settings in config_of(page.organization).to_dict()["rules"].items()
        if rule not in ALWAYS_ON
    ]
    return {
        "user_count": len(users),
        "active_count": sum(u.active for u in users),
        "team_count": len(people.list_teams(db, page.actor)),
        "enabled_count": len(organization.enabled_instruments(page.organization, clinic.registry)),
        "instrument_count": len(list(clinic.registry)),
        "rules_on": sum(rules),
        "rule_count": len(rules),
        "routing": risk_routing.routing_view(db, page.actor),
        "mail_ready": clinic.mailer is not None,
    }


SECTION_DATA = {
    "overview": _overview,
    "users": _users,
    "teams": _teams,
    "words": _words,
    "instruments": _instruments,
    "learning": _learning,
}


def show_section(
    request: Request,
    page: Page,
    db: Session,
    clinic: Any,
    section: str,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """One section's page; with ``errors`` (field id → message) it says what was refused."""
    require_role(page.actor, "admin")
    if errors:
        db.rollback()  # nothing of a refused save stays
    data = SECTION_DATA[section](db, page, clinic) if section in SECTION_DATA else {}
    db.commit()
    return render(
        request,
        f"admin/{section}.html",
        page.context(
            nav="admin",
            section=section,
            sections=SECTIONS,
            errors=errors or {},
            notice=notice,
            **data,
            **values,
        ),
        status_code=status_code,
    )


@router.get("/admin")
def admin_page(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    return show_section(request, page, db, clinic, "overview")


def _section_route(section: str) -> None:
    def section_page(
        request: Request, page: PageDep, db: DbDep, clinic: ClinicDep
    ) -> HTMLResponse:  # a saved form's notice comes from the query's key (render)
        return show_section(request, page, db, clinic, section)

    router.add_api_route(f"/admin/{section}", section_page, methods=["GET"])


for _section in ("users", "teams", "words", "instruments", "learning"):
    _section_route(_section)


def _done(db: Session, page: Page, section: str, what: str) -> Response:
    db.commit()
    return redirect(f"/admin/{section}", notice="saved", detail=what, page=page)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@router.post("/admin/users")
def add_user(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
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
        field = f"new-{exc.field or 'username'}".replace("_id", "")
        return show_section(
            request, page, db, clinic, "users", status_code=422,
            errors={field: f"User not added — {refusal(exc)}"}, posted=form,
        )  # fmt: skip
    found = db.get(Team, user.team_id) if user.team_id else None
    team = found.name if found else "no team"
    return _done(
        db,
        page,
        "users",
        f"Added {user.username} ({user.display_name}): {user.role}, {team}, "
        f"{'with a password' if user.password_hash else 'no password yet'}.",
    )


def _user_state(db: Session, user: User) -> dict[str, str]:
    team = db.get(Team, user.team_id) if user.team_id else None
    return {
        "role": user.role,
        "team": team.name if team else "none",
        "active": _yes(user.active),
    }


@router.post("/admin/users/{user_id}")
def change_user(
    user_id: str, request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        before = _user_state(db, people.user_for(db, page.actor, user_id))
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
        field = f"{(exc.field or 'role').replace('_id', '')}-{user_id}"
        return show_section(
            request, page, db, clinic, "users", status_code=422,
            errors={field: f"Not saved — {refusal(exc)}"},
        )  # fmt: skip
    after = _user_state(db, user)
    changes = [f"{k} {before[k]} → {after[k]}" for k in after if after[k] != before[k]]
    if form.get("password"):
        changes.append("a new password")
    said = "; ".join(changes) if changes else "nothing changed"
    return _done(db, page, "users", f"Saved {user.username}: {said}.")


@router.post("/admin/teams")
def add_team(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    try:
        team = people.create_team(db, page.actor, form.get("name", ""))
    except ServiceError as exc:
        return show_section(
            request, page, db, clinic, "teams", status_code=422,
            errors={"team-name": f"Team not added — {refusal(exc)}"},
        )  # fmt: skip
    return _done(db, page, "teams", f"Added the team {team.name}.")


@router.post("/admin/terms")
def set_terms(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    check_csrf(page, form)
    require_role(page.actor, "admin")
    before = (page.terms("client"), page.terms("clinician"))
    try:
        organization.set_terms(
            db, page.actor, client=form.get("client", ""), clinician=form.get("clinician", "")
        )
    except ServiceError as exc:
        field = "clinician-word" if exc.field == "clinician" else "client-word"
        return show_section(
            request, page, db, clinic, "words", status_code=422,
            errors={field: f"Not saved — {refusal(exc)}"},
        )  # fmt: skip
    after = (form["client"], form["clinician"])
    said = "; ".join(
        f"{what} is a {new}" + (" (changed)" if new != old else " (unchanged)")
        for what, old, new in zip(
            ("a person in care", "the person giving care"), before, after, strict=True
        )
    )
    return _done(db, page, "words", f"Saved the words your pages use: {said}.")


@router.post("/admin/instruments")
async def set_instruments(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep
) -> Response:
    form = await request.form()
    require_role(page.actor, "admin")
    check_csrf(page, {"csrf_token": form.get("csrf_token")})
    chosen = [str(v) for v in form.getlist("instrument")]
    try:
        on, off = organization.set_enabled_instruments(db, page.actor, clinic.registry, chosen)
    except ServiceError as exc:
        return show_section(
            request, page, db, clinic, "instruments", status_code=422,
            errors={"instruments": f"Not saved — {refusal(exc)}"},
        )  # fmt: skip
    changes = ([f"turned on {', '.join(on)}"] if on else []) + (
        [f"turned off {', '.join(off)}"] if off else []
    )
    said = "; ".join(changes) if changes else "no change"
    return _done(
        db,
        page,
        "instruments",
        f"Saved the instruments offered: {said}. Now offered: {', '.join(sorted(set(chosen)))}.",
    )
