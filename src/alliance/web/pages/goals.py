"""Agreeing, revising, replacing and closing goals on the client's page, and rating progress
on them for a session (``services/records/goals.py``). Every form posts here and returns to
the client's page with a notice."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import Response

from alliance.services.errors import ServiceError
from alliance.services.records import goals
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.clinic import analyse
from alliance.web.pages.common import FormDep, Page, PageDep, check_csrf, redirect

router = APIRouter(include_in_schema=False)


def _date(form: dict[str, str]) -> dt.date | None:
    raw = form.get("agreed_on") or ""
    return dt.date.fromisoformat(raw) if raw else None


def _done(page: Page, form: dict[str, str], what: str) -> Response:
    return redirect(f"/clients/{form.get('client_id', '')}", notice="saved", detail=what, page=page)


def _failed(page: Page, form: dict[str, str], exc: Exception, what: str) -> Response:
    message = exc.message if isinstance(exc, ServiceError) else "the date is not a date"
    return redirect(
        f"/clients/{form.get('client_id', '')}",
        notice="refused",
        detail=f"{what}: {message}",
        page=page,
    )


@router.post("/episodes/{episode_id}/goals")
def agree(episode_id: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    try:
        goals.agree_goal(
            db,
            page.actor,
            episode_id,
            description=form.get("description", ""),
            target=form.get("target"),
            proposed_by=form.get("proposed_by", "together"),
            agreed_on=_date(form),
        )
    except (ServiceError, ValueError) as exc:
        db.rollback()
        return _failed(page, form, exc, "Goal not recorded")
    db.commit()
    return _done(page, form, "Goal agreed.")


@router.post("/goals/{goal_id}/change")
def change(
    goal_id: str,
    page: PageDep,
    db: DbDep,
    form: FormDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> Response:
    """One form for a goal's three changes: ``how`` is ``revise``, ``replace`` or a way it
    ended (``achieved``, ``no_longer_wanted``, ``changed``)."""
    check_csrf(page, form)
    how = form.get("how", "")
    reason = form.get("reason", "")
    try:
        if how == "revise":
            goals.revise_goal(
                db, page.actor, goal_id, reason=reason, description=form.get("description"),
                target=form.get("target"), agreed_on=_date(form),
            )  # fmt: skip
            what = "Goal renegotiated: the earlier wording is kept in its history."
        elif how == "replace":
            goals.replace_goal(
                db, page.actor, goal_id, reason=reason, description=form.get("description", ""),
                target=form.get("target"), proposed_by=form.get("proposed_by", "together"),
                agreed_on=_date(form),
            )  # fmt: skip
            what = "Goal replaced: the earlier goal is closed as changed."
        else:
            goals.close_goal(db, page.actor, goal_id, status=how, reason=reason)
            what = "Goal closed."
    except (ServiceError, ValueError) as exc:
        db.rollback()
        return _failed(page, form, exc, "Goal not changed")
    db.commit()
    background.add_task(analyse, clinic, form.get("client_id", ""))
    return _done(page, form, what)


@router.post("/sessions/{session_id}/goal-ratings")
def rate(
    session_id: str,
    page: PageDep,
    db: DbDep,
    form: FormDep,
    clinic: ClinicDep,
    background: BackgroundTasks,
) -> Response:
    """Progress on each goal for a session: fields ``goal-<goal id>``, 0–10, left empty to
    skip; ``rater`` says whose ratings they are."""
    check_csrf(page, form)
    rater = form.get("rater", "client")
    saved = 0
    try:
        for name, raw in form.items():
            if not name.startswith("goal-") or not raw.strip():
                continue
            value = int(raw) if raw.strip().isdigit() else -1
            goals.rate_goal(
                db, page.actor, session_id, name.removeprefix("goal-"), value=value, rater=rater
            )
            saved += 1
    except ServiceError as exc:
        db.rollback()
        return _failed(page, form, exc, "Progress not saved")
    db.commit()
    background.add_task(analyse, clinic, form.get("client_id", ""))
    return _done(page, form, f"Progress saved on {saved} goal{'s' if saved != 1 else ''}.")
