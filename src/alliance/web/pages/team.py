"""The supervisor's pages: the team at a glance (a caterpillar plot of each clinician's
alliance with its 95% interval, and who needs attention), and the read-only caseload of one
clinician of the team."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alliance.reports.svg import interval_plot
from alliance.services.accounts.team import TeamView, team_view
from alliance.services.monitoring.caseload_status import SHOW, caseload_with_status
from alliance.services.records.timeline import team_member
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.common import PageDep, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class TeamChart:
    svg: str
    rows: list[list[str]]  # the data table: clinician, clients rated, mean, 95% interval


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def team_chart(view: TeamView, clinician_word: str) -> TeamChart | None:
    """Clinicians' alliance means (each client's latest WAI-SR total) with 95% intervals,
    sorted by mean — a caterpillar plot — with the team's mean as the reference line."""
    rated = [c for c in view.clinicians if c.alliance.mean is not None]
    if not rated:
        return None
    rated.sort(key=lambda c: (c.alliance.mean or 0.0, c.name))
    plotted = [
        (
            c.name,
            float(c.alliance.mean or 0.0),
            math.nan if c.alliance.low is None else c.alliance.low,
            math.nan if c.alliance.high is None else c.alliance.high,
        )
        for c in rated
    ]
    svg = interval_plot(
        plotted,
        title=f"Alliance by {clinician_word}: mean and 95% interval",
        x_label="WAI-SR points (12–60); dashed: the team's mean",
        reference=view.team_alliance.mean,
    )
    rows = [
        [
            c.name,
            str(c.alliance.n),
            _f(c.alliance.mean),
            f"{_f(c.alliance.low)}–{_f(c.alliance.high)}"
            if c.alliance.low is not None
            else "too few clients for an interval",
        ]
        for c in rated
    ]
    return TeamChart(svg, rows)


@router.get("/team")
def team_page(request: Request, page: PageDep, db: DbDep) -> HTMLResponse:
    view = team_view(db, page.actor)
    db.commit()
    chart = team_chart(view, page.terms("clinician"))
    return render(request, "team.html", page.context(nav="team", view=view, chart=chart))


@router.get("/team/{clinician_id}")
def member_page(
    request: Request,
    clinician_id: str,
    page: PageDep,
    db: DbDep,
    clinic: ClinicDep,
    q: str = "",
    show: str = "all",
) -> HTMLResponse:
    """One clinician's caseload as their supervisor reads it (read-only; checked and
    audited by the caseload use case)."""
    member = team_member(db, page.actor, clinician_id)
    q = q.strip()[:100]
    view = caseload_with_status(
        db,
        page.actor,
        clinic.registry,
        scope="team",
        clinician_id=member.id,
        search=q,
        show=show,
    )
    db.commit()
    return render(
        request,
        "team_member.html",
        page.context(
            nav="team", member=member, view=view, q=q, show=show, filters=SHOW, register=False
        ),
    )
