"""In Debian's Chromium: a clinician opens Learning from the navigation, takes a self-check
to the end, sees the explanations and finds the result kept for them; the learning pages
pass an accessibility check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe

from alliance.instruments.registry import Registry
from alliance.learning.bank import builtin_bank
from tests.fixtures.database import PASSWORD, Database, World
from tests.service.learning_data import calibration_history
from tests.service.live import Server, live_server


@pytest.fixture
def site(database: Database, world: World, registry: Registry) -> Iterator[Server]:
    if database.backend != "sqlite":
        pytest.skip("browser tests run on SQLite; the API tests cover PostgreSQL")
    calibration_history(database, world, registry)
    with live_server(database) as server:
        yield server


def serious(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    return [
        (v["id"], v["help"])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_clinician_takes_the_self_check_to_the_end(chromium, site: Server) -> None:  # type: ignore[no-untyped-def]
    bank = builtin_bank()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("#username", "c1")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.url}/caseload")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Learning").click()
    page.wait_for_url(f"{site.url}/learn")
    assert serious(page) == []
    page.select_option("#quiz-n", "5")
    page.get_by_role("button", name="Start the self-check").click()
    page.wait_for_selector("fieldset[data-question]")
    assert "seed=" in page.url  # a reload shows the same questions
    assert serious(page) == []

    questions = page.locator("fieldset[data-question]")
    assert questions.count() == 5
    for i in range(5):
        question = bank.get(questions.nth(i).get_attribute("data-question") or "")
        right = question.options[question.answer].text
        labels = questions.nth(i).locator("label.option")
        shown = [labels.nth(k).inner_text().split(". ", 1)[1] for k in range(labels.count())]
        chosen = shown.index(right) if i != 1 else (shown.index(right) + 1) % len(shown)
        labels.nth(chosen).locator("input").check()
    page.get_by_role("button", name="Check my answers").click()
    page.wait_for_url(f"{site.url}/learn/quiz/results/*")

    assert page.locator("#score").inner_text() == "4 of 5 right."
    answers = page.locator("article.quiz-answer")
    assert answers.count() == 5
    assert "✗ Not quite." in answers.nth(1).inner_text()
    assert "your choice" in answers.nth(1).inner_text()
    assert page.get_by_text("Source: ").count() == 5
    assert serious(page) == []

    page.get_by_role("link", name="Back to learning").click()
    page.wait_for_url(f"{site.url}/learn")
    rows = page.locator("#results-h ~ .table-wrap tbody tr")
    assert rows.count() == 1
    assert "4 of 5" in rows.first.inner_text()

    page.get_by_role("link", name="See my calibration").click()
    page.wait_for_url(f"{site.url}/learn/calibration")
    assert page.locator("#fig-sessions").inner_text() == "10 sessions of 3 clients"
    assert page.locator("figure svg").is_visible()
    assert serious(page) == []
    context.close()
