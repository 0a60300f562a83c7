"""The learning pages over HTTP (no browser): the clinician's calibration with the figures of
a known history, the self-check taken through its forms, and the supervisor's view only when
the organization allows it."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.instruments.registry import Registry
from alliance.learning.bank import builtin_bank
from alliance.learning.quiz import draw
from alliance.store.models import User
from tests.fixtures.database import Database, World, password_hash
from tests.service.learning_data import calibration_history
from tests.web.conftest import PageClient, login


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def figure(page: str, name: str) -> str:
    match = re.search(rf'<dd id="fig-{name}">(.*?)</dd>', page, re.S)
    assert match, name
    return text_of(match.group(1))


def test_calibration_page_shows_the_known_figures(
    clinician: PageClient, world: World, database: Database, registry: Registry
) -> None:
    calibration_history(database, world, registry)
    learn = clinician.get("/learn")
    assert learn.status_code == 200
    assert '<a href="/learn" aria-current="page">Learning</a>' in learn.text
    page = clinician.get("/learn/calibration").text
    assert figure(page, "sessions") == "10 sessions of 3 clients"
    # cluster sums of residuals 6.5, −1.3, −5.2: V = 3/2 · 70.98/100, half-width t(2)·√V = 4.44
    assert figure(page, "mean-error") == "+2.1 points (95% interval -2.3 to +6.5)"
    assert figure(page, "direction") == "No clear direction: the interval includes 0."
    assert figure(page, "clearly-lower") == (
        "1 of 10 sessions (10%) — at least 7.2 points below the prediction"
    )
    assert "only you can see it" in page
    months = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td class=\"num\">([^<]+)</td>", page)
    assert months[:3] == [("All sessions", "+2.1"), ("2026-09", "+1.6"), ("2026-10", "+3.3")]
    assert "<svg" in page and "<title>Mean error by month, 95% intervals</title>" in page
    gaps = page[page.index('id="gaps"') : page.index("</table>", page.index('id="gaps"'))]
    assert f'<a href="/clients/{world.clients["c1"]}">C1-01</a>' in gaps.split("<tr>")[2]
    noticed = re.search(r'<p id="fig-noticed">(.*?)</p>', page, re.S)
    assert noticed
    assert text_of(noticed.group(1)) == (
        "1 of 1 drop in clients' own ratings was noticed in the same session: 1 by a rupture "
        "report, 0 by a prediction that fell."
    )
    assert "no published threshold exists" in page
    assert "ranking" in page and "Rank" not in page


def test_the_self_check_through_its_forms(clinician: PageClient, world: World) -> None:
    start = clinician.get("/learn/quiz?n=3&topic=ruptures&topic=bordin")
    assert start.status_code == 303
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["n"] == ["3"] and query["topic"] == ["ruptures", "bordin"]
    seed = int(query["seed"][0])
    form = clinician.get(start.headers["location"])
    quiz = draw(builtin_bank(), 3, seed=seed, topics=["ruptures", "bordin"])
    ids = re.findall(r'data-question="([^"]+)"', form.text)
    assert ids == [d.question.id for d in quiz.questions]  # reloading shows the same questions
    key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert key
    answers = {
        "csrf_token": clinician.csrf,
        "bank_version": builtin_bank().version,
        "seed": str(seed),
        "n": "3",
        "topic": ["ruptures", "bordin"],  # both go back, for the same draw
        "form_key": key.group(1),
        # answers are the places the options were shown in
        "q1": str(quiz.questions[0].correct_position),
        "q2": str((quiz.questions[1].correct_position + 1) % len(quiz.questions[1].order)),
    }
    sent = clinician.client.post("/learn/quiz", data=answers)
    assert sent.status_code == 303
    result = clinician.get(sent.headers["location"])
    assert "1 of 3 right (2 answered)." in text_of(result.text)
    assert "✓ Right." in result.text and "✗ Not quite." in result.text
    assert "Not answered." in result.text
    first = quiz.questions[0].question
    assert " ".join(first.explanation.split()) in text_of(result.text)
    assert "Source: " in result.text
    listed = clinician.get("/learn").text
    assert sent.headers["location"] in listed
    assert "1 of 3" in text_of(listed)


def test_the_self_check_form_needs_its_csrf_token(clinician: PageClient) -> None:
    refused = clinician.post("/learn/quiz", {"n": "3", "seed": "1"}, csrf=False)
    assert refused.status_code == 403


def test_a_bad_draw_goes_back_with_a_notice(clinician: PageClient) -> None:
    for query in ("n=3&topic=astrology", "n=500", f"n=3&seed={2**64}"):
        response = clinician.get(f"/learn/quiz?{query}")
        assert response.status_code == 303, query
        assert "No self-check drawn" in clinician.notice(response), query


def test_supervisor_sees_the_team_only_when_allowed(
    pages: TestClient,
    admin: PageClient,
    world: World,
    database: Database,
    registry: Registry,
) -> None:
    calibration_history(database, world, registry)
    with database.session() as db:
        supervisor = db.scalar(select(User).where(User.username == "s1"))
        assert supervisor is not None
        supervisor.password_hash = password_hash()
        db.commit()
    s1 = login(pages, "s1")
    assert "Your team" not in s1.get("/learn").text
    assert s1.get(f"/learn/calibration/{world['c1'].id}").status_code == 403

    switched = admin.post("/admin/learning", {"supervisors_see_calibration": "true"})
    assert "supervisors can now" in admin.notice(switched)
    assert (
        'name="supervisors_see_calibration" value="true" checked'
        in admin.get("/admin/learning").text
    )
    hub = s1.get("/learn").text
    team = re.findall(r'<li><a href="/learn/calibration/([^"]+)">([^<]+)</a></li>', hub)
    assert team == [(world["c1"].id, "c1"), (world["c2"].id, "c2")]  # by name; not c3, not s1
    page = s1.get(f"/learn/calibration/{world['c1'].id}")
    assert page.status_code == 200
    assert "Calibration · c1" in page.text
    assert figure(page.text, "sessions") == "10 sessions of 3 clients"
    assert s1.get(f"/learn/calibration/{world['c3'].id}").status_code == 404
    assert admin.post("/admin/learning", {}).status_code == 303  # unticked: off again
    assert s1.get(f"/learn/calibration/{world['c1'].id}").status_code == 403


def test_learning_pages_are_for_clinicians(admin: PageClient) -> None:
    assert admin.get("/learn").status_code == 403
    assert 'href="/learn"' not in admin.get("/admin").text
