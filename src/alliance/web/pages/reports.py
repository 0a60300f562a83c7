"""The PDF report of one client, for the clinical record: the risk history first, then the
same alerts, charts and tables as the before-the-session view (the goals and their progress
among them), with page numbers and the client code on every page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from alliance.reports.pdf import PdfUnavailableError, html_to_pdf
from alliance.services import audit
from alliance.services.errors import Unavailable
from alliance.services.monitoring import analysis
from alliance.services.monitoring.alert_groups import group_alerts
from alliance.services.monitoring.overview import overview
from alliance.services.monitoring.risk_history import risk_history
from alliance.services.monitoring.status import measure_statuses
from alliance.services.records import goals, timeline
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.charts import client_charts
from alliance.web.pages.common import TEMPLATES, PageDep
from alliance.web.pages.goal_charts import goal_charts, renegotiated_sessions

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent.parent / "static"


@router.get("/clients/{client_id}/report.pdf")
def client_report(
    request: Request, client_id: str, page: PageDep, db: DbDep, clinic: ClinicDep
) -> Response:
    t = timeline.timeline(db, page.actor, client_id)
    signals = analysis.client_signals(db, clinic.registry, t.client)
    reference = analysis.reference(db, clinic.registry, t.client.organization_id)
    latest = t.episodes[-1] if t.episodes else None
    goal_views = goals.shown_goals(db, page.actor, latest.episode.id) if latest else []
    held = [(sv.session.number, sv.session.date) for sv in latest.sessions] if latest else []
    audit.record(db, page.actor, "export", "client_report", t.client.id, format="pdf")
    db.commit()
    view = overview(t, clinic.registry)
    risk_answers = risk_history(t, clinic.registry)
    sessions = {sv.session.id: sv.session.number for ev in t.episodes for sv in ev.sessions}
    html = TEMPLATES.get_template("report.html").render(
        t=t,
        view=view,
        statuses=measure_statuses(
            view,
            reference.trajectories,
            risk_answers,
            risk_instruments={i.id for i in clinic.registry if i.risk_items},
        ),
        charts=client_charts(
            view,
            signals,
            reference.trajectories,
            renegotiated_sessions(goal_views, held),
            terms=page.terms,
        ),
        goals=goal_charts(goal_views, held),
        open_alerts=[a for a in t.alerts if a.state != "resolved"],
        groups=group_alerts(t.alerts, sessions),  # one per rule and episode, as on the page
        risk_answers=risk_answers,
        term=page.terms,
        organization=page.organization,
        made_by=page.user.display_name,
        made_at=dt.datetime.now(dt.UTC),
    )
    try:
        pdf = html_to_pdf(html, base_dir=STATIC)
    except PdfUnavailableError as exc:
        raise Unavailable(str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="alliance-{t.client.code}.pdf"'},
    )
