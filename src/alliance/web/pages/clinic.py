"""The clinician's pages: caseload, the before-the-session view, sessions, the session form,
links for the client (QR code, e-mail, tablet). Working the alerts is in ``alerts.py``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import segno
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alliance.instruments.model import OptionsFormat
from alliance.languages import name as language_name
from alliance.services import audit
from alliance.services.accounts import auth, organization
from alliance.services.accounts.access import session_for
from alliance.services.errors import Invalid, ServiceError
from alliance.services.monitoring import analysis, follow_up
from alliance.services.monitoring.alert_groups import group_alerts, rule_title
from alliance.services.monitoring.caseload_status import SHOW, caseload_with_status
from alliance.services.monitoring.overview import overview
from alliance.services.monitoring.risk_history import risk_history
from alliance.services.monitoring.status import measure_statuses
from alliance.services.records import care, clients, goals, links, timeline
from alliance.services.records.administrations import submit_administration
from alliance.services.records.current_ratings import rater_of, ratings_by
from alliance.web.api.deps import SESSION_COOKIE, ClinicDep, DbDep
from alliance.web.clinic import after_submission
from alliance.web.pages.charts import client_charts
from alliance.web.pages.common import (
    FormDep,
    PageDep,
    check_csrf,
    redirect,
    render,
)
from alliance.web.pages.goal_charts import goal_charts, renegotiated_sessions

router = APIRouter(include_in_schema=False)

PREDICTED_INSTRUMENT = "wai-sr"  # the client's alliance form the clinician predicts
MEASURE_CHOICES = 3  # how many measures the client page lets a link carry, in order


@router.get("/")
def home(request: Request, page: PageDep) -> RedirectResponse:
    target = {"admin": "/admin", "researcher": "/research", "supervisor": "/team"}.get(
        page.user.role, "/caseload"
    )
    return RedirectResponse(target, status_code=303)


@router.get("/caseload")
def caseload_page(
    request: Request,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
    q: str = "",
    show: str = "all",
) -> HTMLResponse:
    """The clinician's clients, needing attention first; ``q`` finds codes, ``show``
    narrows to a status (a plain GET form: no script needed)."""
    q = q.strip()[:100]
    view = caseload_with_status(db, page.actor, clinic.registry, search=q, show=show)
    db.commit()
    return render(
        request,
        "caseload.html",
        page.context(
            nav="caseload",
            view=view,
            q=q,
            show=show,
            filters=SHOW,
            languages=[(tag, language_name(tag)) for tag in clinic.languages],
            today=dt.date.today(),
            register=True,
        ),
    )


@router.post("/clients")
def register(page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep) -> Response:
    check_csrf(page, form)
    contact = {
        "name": form.get("name") or None,
        "email": form.get("email") or None,
        "phone": form.get("phone") or None,
    }
    try:
        started = dt.date.fromisoformat(form["started_on"]) if form.get("started_on") else None
        client, _ = clients.register_client(
            db,
            page.actor,
            code=form.get("code", ""),
            language=form.get("language") or clinic.languages[0],
            languages=clinic.languages,
            contact=contact,
            started_on=started,
        )
    except (ServiceError, ValueError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else "the start date is not a date"
        return redirect("/caseload", notice="not_registered", detail=message, page=page)
    db.commit()
    return redirect(f"/clients/{client.id}", notice="registered", detail=client.code, page=page)


@router.get("/clients/{client_id}")
def client_page(
    request: Request,
    client_id: str,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
) -> HTMLResponse:
    t = timeline.timeline(db, page.actor, client_id)
    contact = clients.get_contact(db, page.actor, client_id) if _owns(page, t) else None
    signals = analysis.client_signals(db, clinic.registry, t.client)
    reference = analysis.reference(db, clinic.registry, t.client.organization_id)
    latest = t.episodes[-1] if t.episodes else None
    goal_views = goals.shown_goals(db, page.actor, latest.episode.id) if latest else []
    db.commit()
    held = [(sv.session.number, sv.session.date) for sv in latest.sessions] if latest else []
    view = overview(t, clinic.registry)
    repairs = renegotiated_sessions(goal_views, held)
    charts = client_charts(view, signals, reference.trajectories, repairs, terms=page.terms)
    risk_answers = risk_history(t, clinic.registry)
    sessions = {sv.session.id: sv.session.number for ev in t.episodes for sv in ev.sessions}
    last = t.episodes[-1].sessions[-1] if t.episodes and t.episodes[-1].sessions else None
    # the client's current ratings of the latest session: not asked again, corrected instead
    rated_last = {
        av.administration.instrument: av.administration
        for av in (last.administrations if last else [])
        if av.current
        and (av.administration.perspective, av.administration.stance) == ("client", "self")
    }
    return render(
        request,
        "client.html",
        page.context(
            nav="caseload",
            t=t,
            view=view,
            statuses=measure_statuses(
                view,
                reference.trajectories,
                risk_answers,
                risk_instruments={i.id for i in clinic.registry if i.risk_items},
            ),
            charts=charts,
            contact=contact,
            can_write=_owns(page, t),
            mail_ready=clinic.mailer is not None,
            open_alerts=[a for a in t.alerts if a.state != "resolved"],
            groups=group_alerts(t.alerts, sessions),
            rule_title=rule_title,
            risk_answers=risk_answers,
            outcomes=follow_up.OUTCOMES,
            instruments=[
                clinic.registry.get(i)
                for i in organization.offered_instruments(page.organization, clinic.registry)
                if i not in rated_last
            ],
            rated_last=rated_last,
            measure_choices=MEASURE_CHOICES,
            today=dt.date.today(),
            goals=goal_charts(goal_views, held),
        ),
    )


def _owns(page: Any, t: timeline.Timeline) -> bool:
    episode = t.episodes[-1].episode if t.episodes else None
    return page.user.id == t.client.clinician_id or (
        episode is not None and episode.clinician_id == page.user.id
    )


@router.post("/episodes/{episode_id}/sessions")
def new_session(episode_id: str, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    client_id = form.get("client_id", "")
    try:
        session = care.record_session(
            db,
            page.actor,
            episode_id,
            date=dt.date.fromisoformat(form.get("date") or dt.date.today().isoformat()),
            attended=form.get("attended", "1") == "1",
        )
    except (ServiceError, ValueError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else "the date is not a date"
        return redirect(
            f"/clients/{client_id}", notice="session_not_recorded", detail=message, page=page
        )
    db.commit()
    return redirect(
        f"/sessions/{session.id}/rate",
        notice="session_recorded",
        n=session.number,
    )


@router.get("/sessions/{session_id}/rate")
def rate_page(
    request: Request,
    session_id: str,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
    own: str | None = None,
) -> HTMLResponse:
    session, _, client = session_for(db, page.actor, session_id, write=True)
    mine = ratings_by(db, session.id, rater_of("clinician", page.actor.user_id))
    audit.record(db, page.actor, "read", "session", session.id, view="rate")
    db.commit()
    # the form opens with the clinician's current prediction and own rating of the session;
    # saving it again replaces them (current_ratings)
    offered = organization.clinician_instruments(page.organization, clinic.registry)
    prediction = next((a for a in mine if a.stance == "prediction"), None)
    rated = [a for a in mine if a.stance == "self" and a.instrument in offered]
    own_rating = next((a for a in rated if a.instrument == own), None) if own else None
    if own is None and rated:
        own_rating = rated[-1]
        own = own_rating.instrument
    values = _shown(prediction) | _shown(own_rating, OWN)
    return _rate_form(
        request, page, clinic, session, client, own=own, values=values,
        saved=[what for what, a in (("prediction", prediction), ("own rating", own_rating)) if a],
    )  # fmt: skip


def _shown(administration: Any, prefix: str = "") -> dict[str, str]:
    """A stored rating's answers as the form's field values."""
    if administration is None:
        return {}
    return _shown_answers(administration.answers, prefix)


def _shown_answers(answers: dict[str, Any], prefix: str = "") -> dict[str, str]:
    return {prefix + item: f"{value:g}" for item, value in answers.items() if value is not None}


def _rate_form(
    request: Request,
    page: Any,
    clinic: Any,
    session: Any,
    client: Any,
    *,
    own: str | None,
    form_key: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    saved: list[str] | None = None,
) -> HTMLResponse:
    """The session form: the prediction of the client's rating, the clinician's own rating
    on a form of theirs (``own``, or the first the organization offers), and a rupture."""
    inst = clinic.registry.get(PREDICTED_INSTRUMENT)
    choices = sorted(  # the shortest form first
        (
            clinic.registry.get(i)
            for i in organization.clinician_instruments(page.organization, clinic.registry)
        ),
        key=lambda i: (len(i.items), i.id),
    )
    own_inst = next((i for i in choices if i.id == own), choices[0] if choices else None)
    return render(
        request,
        "rate.html",
        page.context(
            nav="caseload",
            session=session,
            client=client,
            instrument=inst,
            items=_option_items(inst),
            own_choices=choices,
            own_instrument=own_inst,
            own_items=_option_items(own_inst, prefix=OWN) if own_inst else [],
            own_scored=own_inst is not None and any(s.verified for s in own_inst.scales),
            form_key=form_key or uuid.uuid4().hex,
            errors=errors or {},
            values=values or {},
            saved=saved or [],
        ),
        status_code=status_code,
    )


OWN = "own_"  # the own rating's item fields: own_item_1 …


def _option_items(inst: Any, prefix: str = "") -> list[dict[str, Any]]:
    items = []
    for number, item in enumerate(inst.items, start=1):
        fmt = inst.format_of(item)
        options = (
            [(o.value, o.label) for o in fmt.options] if isinstance(fmt, OptionsFormat) else []
        )
        items.append(
            {"id": prefix + item.id, "number": number, "text": item.label, "options": options}
        )
    return items


def _answers(inst: Any, form: Any, prefix: str = "") -> dict[str, object]:
    answers: dict[str, object] = {}
    for item in inst.items:
        raw = form.get(prefix + item.id, "")
        answers[item.id] = int(raw) if raw.strip().lstrip("-").isdigit() else None
    return answers


@router.post("/sessions/{session_id}/rate")
def rate(
    request: Request,
    session_id: str,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
    form: FormDep,
    background: BackgroundTasks,
) -> Response:
    """The clinician's side of a session: their prediction of the client's rating, their
    own rating of the session and, if they noticed one, a rupture with a note."""
    check_csrf(page, form)
    session, _, client = session_for(db, page.actor, session_id, write=True)
    inst = clinic.registry.get(PREDICTED_INSTRUMENT)
    key = form.get("form_key") or uuid.uuid4().hex
    own_id = form.get("own_instrument") or None
    own_inst = None
    if own_id and own_id in organization.clinician_instruments(page.organization, clinic.registry):
        own_inst = clinic.registry.get(own_id)
    answers = _answers(inst, form)
    own_answers = _answers(own_inst, form, OWN) if own_inst else {}
    saved: list[str] = []
    failing = ""  # the field prefix of the part being stored, for the error's anchor
    held = {
        (a.instrument, a.stance): _shown(a)
        for a in ratings_by(db, session.id, rater_of("clinician", page.actor.user_id))
    }
    forms = [(inst, answers, "prediction", "rate", "", "your prediction")]
    if own_inst is not None:
        forms.append((own_inst, own_answers, "self", "rate-own", OWN, "your own rating"))
    try:
        for rated, given, stance, key_kind, prefix, what in forms:
            if all(v is None for v in given.values()):
                continue  # that part of the form was left empty
            if held.get((rated.id, stance)) == _shown_answers(given):
                saved.append(f"{what} unchanged")  # the form opened with it: nothing to replace
                continue
            failing = prefix
            result = submit_administration(
                db,
                page.actor,
                clinic.registry,
                session_id=session.id,
                instrument=rated.id,
                perspective="clinician",
                stance=stance,
                answers=given,
                idempotency_key=f"{key_kind}:{key}",
                source="clinician",
            )
            if not result.created:
                saved.append(f"{what} unchanged")
            elif result.administration.supersedes_id:
                saved.append(f"{what} (replacing the earlier one)")
            else:
                saved.append(what)
        if form.get("rupture") == "1":
            care.report_rupture(db, page.actor, session.id, note=form.get("note"))
            saved.append("the rupture you noticed")
    except Invalid as exc:
        db.rollback()
        item_id = failing + (exc.field or "").removeprefix("answers.")
        values = {k: str(v) for k, v in answers.items() if v is not None}
        values |= {OWN + k: str(v) for k, v in own_answers.items() if v is not None}
        return _rate_form(
            request,
            page,
            clinic,
            session,
            client,
            own=own_id,
            form_key=key,
            errors={item_id: exc.message},
            values=values,
            status_code=422,
        )
    db.commit()
    background.add_task(after_submission, clinic, client.id)
    what = " and ".join(saved) if saved else "nothing (the form was empty)"
    return redirect(
        f"/clients/{client.id}", notice="ratings_saved", detail=what, n=session.number, page=page
    )


@router.post("/sessions/{session_id}/links")
def new_link(
    request: Request, session_id: str, page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep
) -> Response:
    """A link for the client: shown with a QR code, sent by e-mail, or opened on a tablet.
    It carries the measures chosen in ``instrument``, ``instrument_2`` … in that order."""
    check_csrf(page, form)
    how = form.get("how", "show")
    measures = [form.get("instrument") or PREDICTED_INSTRUMENT] + [
        chosen for n in range(2, MEASURE_CHOICES + 1) if (chosen := form.get(f"instrument_{n}"))
    ]
    client_id = form.get("client_id", "")
    hours = clinic.settings.link_hours
    try:
        if how == "email":
            if clinic.mailer is None:
                raise Invalid("no mail server is configured (ALLIANCE_SMTP_HOST)", field="how")
            new = links.send_link(
                db,
                page.actor,
                clinic.registry,
                clinic.mailer,
                session_id=session_id,
                instruments=measures,
                base_url=clinic.settings.base_url,
                hours=hours,
            )
        else:
            new = links.create_link(
                db,
                page.actor,
                clinic.registry,
                session_id=session_id,
                instruments=measures,
                base_url=clinic.settings.base_url,
                hours=hours,
                sent_to="kiosk" if how == "kiosk" else "qr",
            )
    except ServiceError as exc:
        db.rollback()
        return redirect(
            f"/clients/{client_id}", notice="link_not_made", detail=exc.message, page=page
        )
    db.commit()
    if how == "kiosk":
        # The tablet goes to the client: the clinician's login ends here, so that Back or
        # another address shows the client nothing of the clinic.
        auth.logout(db, request.cookies.get(SESSION_COOKIE, ""), page.actor)
        db.commit()
        response = redirect(f"/f/{new.token}?kiosk=true")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    if how == "email":
        return redirect(f"/clients/{client_id}", notice="link_mailed")
    qr = segno.make(new.url, error="m").svg_inline(scale=5, title="Link to the questions")
    return render(
        request,
        "link.html",
        page.context(
            nav="caseload",
            url=new.url,
            qr=qr,
            link=new.link,
            client_id=client_id,
            measures=[clinic.registry.get(i, v) for i, v in new.link.steps],
        ),
    )
