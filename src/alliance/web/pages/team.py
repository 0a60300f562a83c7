"""The supervisor's team page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alliance.services.accounts.team import team_view
from alliance.web.api.deps import DbDep
from alliance.web.pages.common import PageDep, render

router = APIRouter(include_in_schema=False)


@router.get("/team")
def team_page(request: Request, page: PageDep, db: DbDep) -> HTMLResponse:
    view = team_view(db, page.actor)
    db.commit()
    return render(request, "team.html", page.context(nav="team", view=view))
