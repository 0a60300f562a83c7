"""The clinician's learning pages: their calibration (and, where the organization allows it,
a team member's for their supervisor), and the self-check with its private results."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alliance.analytics.calibration import Calibration
from alliance.learning.bank import LETTERS, Bank, builtin_bank
from alliance.learning.quiz import DEFAULT_QUESTIONS
from alliance.reports.svg import interval_plot
from alliance.services.accounts.organization import organization
from alliance.services.errors import ServiceError
from alliance.services.monitoring import calibration, learning
from alliance.web.api.deps import ClinicDep, DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)

QUIZ_SIZES = (5, DEFAULT_QUESTIONS, 12)
DERIVED_NOTE = "This answer is the project's reading of the evidence, not a published finding."


@dataclass
class IntervalChart:
    """The mean error overall and per month, as an interval plot with its data table."""

    svg: str
    rows: list[list[str]] = field(default_factory=list)


def _f(value: float | None, digits: int = 1, *, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def calibration_chart(c: Calibration) -> IntervalChart:
    rows = [("All sessions", c.error.mean, c.error.low, c.error.high, c.n, c.error.clusters)]
    for r in c.by_period.to_dict("records"):
        rows.append((str(r["period"]), r["bias"], r["low"], r["high"], r["n"], r["clients"]))
    plotted = [(label, _nan(mean), _nan(low), _nan(high)) for label, mean, low, high, _, _ in rows]
    svg = interval_plot(
        plotted,
        title="Mean error by month, 95% intervals",
        x_label="WAI-SR points; above 0 the client rated lower than predicted",
        reference=0.0,
    )
    table = [
        [label, _f(mean, signed=True), f"{_f(low, signed=True)} to {_f(high, signed=True)}"
         if low is not None and not math.isnan(low) else "too few clients", str(n), str(k)]
        for label, mean, low, high, n, k in rows
    ]  # fmt: skip
    return IntervalChart(svg, table)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _calibration_page(
    request: Request, page: PageDep, db: DbDep, clinic: ClinicDep, user_id: str | None
) -> HTMLResponse:
    view = calibration.calibration_for(db, page.actor, clinic.registry, user_id=user_id)
    shared = page.organization.supervisors_see_calibration
    db.commit()
    c = view.calibration
    return render(
        request,
        "calibration.html",
        page.context(
            nav="learn",
            view=view,
            c=c,
            chart=calibration_chart(c) if c is not None and c.n else None,
            definitions=calibration.definitions(view),
            rule_words=calibration.RULE_WORDS,
            shared=shared,
            f=_f,
        ),
    )


@router.get("/learn")
def learn_page(request: Request, page: PageDep, db: DbDep) -> HTMLResponse:
    bank = builtin_bank()
    topics = learning.topics(page.actor, bank)
    results = learning.my_results(db, page.actor)
    members = calibration.team_members(db, page.actor)
    db.commit()
    return render(
        request,
        "learn.html",
        page.context(
            nav="learn",
            bank=bank,
            topics=topics,
            sizes=QUIZ_SIZES,
            default_size=DEFAULT_QUESTIONS,
            results=results,
            members=members,
        ),
    )


@router.get("/learn/calibration")
def my_calibration(request: Request, page: PageDep, db: DbDep, clinic: ClinicDep) -> HTMLResponse:
    return _calibration_page(request, page, db, clinic, None)


@router.get("/learn/calibration/{user_id}")
def member_calibration(
    request: Request, user_id: str, page: PageDep, db: DbDep, clinic: ClinicDep
) -> HTMLResponse:
    return _calibration_page(request, page, db, clinic, user_id)


@router.get("/learn/quiz", response_model=None)
def quiz_page(
    request: Request,
    page: PageDep,
    n: int = DEFAULT_QUESTIONS,
    seed: int | None = None,
) -> HTMLResponse | RedirectResponse:
    """A self-check; without a seed, one is drawn and the page is reached again with it, so
    that reloading shows the same questions."""
    bank = builtin_bank()
    topics = request.query_params.getlist("topic")
    try:
        quiz = learning.draw_quiz(page.actor, bank, questions=n, topics=topics, seed=seed)
    except ServiceError as exc:
        return redirect("/learn", notice="no_self_check", detail=exc.message, page=page)
    if seed is None:
        query = "&".join([f"n={n}", f"seed={quiz.seed}", *(f"topic={t}" for t in topics)])
        return RedirectResponse(f"/learn/quiz?{query}", status_code=303)
    return render(
        request,
        "quiz.html",
        page.context(
            nav="learn",
            quiz=quiz,
            bank=bank,
            letters=LETTERS,
            topics=topics,
            form_key=uuid.uuid4().hex,
        ),
    )


@router.post("/learn/quiz")
async def send_answers(request: Request, page: PageDep, db: DbDep) -> Response:
    form = await request.form()
    check_csrf(page, {"csrf_token": form.get("csrf_token")})
    bank = builtin_bank()
    try:
        questions = int(str(form.get("n", "")))
        seed = int(str(form.get("seed", "")))
    except ValueError:
        return redirect("/learn", notice="self_check_unreadable")
    topics = [str(t) for t in form.getlist("topic")]
    positions: list[int | None] = []
    for number in range(1, questions + 1):
        raw = str(form.get(f"q{number}", "")).strip()
        positions.append(int(raw) if raw.isdigit() else None)
    try:
        row, _ = learning.record_result(
            db,
            page.actor,
            bank,
            bank_version=str(form.get("bank_version", "")),
            seed=seed,
            questions=questions,
            topics=topics,
            positions=positions,
            source="web",
            idempotency_key=str(form.get("form_key", "")) or None,
        )
    except ServiceError as exc:
        db.rollback()
        return redirect("/learn", notice="self_check_not_saved", detail=exc.message, page=page)
    db.commit()
    return redirect(f"/learn/quiz/results/{row.id}")


@router.get("/learn/quiz/results/{result_id}")
def result_page(request: Request, result_id: str, page: PageDep, db: DbDep) -> HTMLResponse:
    bank: Bank = builtin_bank()
    row = learning.my_result(db, page.actor, result_id)
    db.commit()
    return render(
        request,
        "quiz_result.html",
        page.context(
            nav="learn",
            row=row,
            bank=bank,
            answered=learning.answered_questions(row, bank),
            letters=LETTERS,
            derived_note=DERIVED_NOTE,
        ),
    )


@router.post("/admin/learning")
def set_learning(page: PageDep, db: DbDep, form: FormDep) -> Response:
    """The admin's switch: may supervisors see their team members' calibration?"""
    check_csrf(page, form)
    calibration.set_supervisors_see_calibration(
        db, page.actor, form.get("supervisors_see_calibration") == "true"
    )
    org = organization(db, page.actor)
    db.commit()
    state = "can now" if org.supervisors_see_calibration else "can no longer"
    return redirect(
        "/admin/learning",
        notice="saved",
        detail=f"Saved: supervisors {state} see their team's calibration.",
        page=page,
    )
