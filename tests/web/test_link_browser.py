"""In Debian's Chromium on a 390×844 phone: one link with several measures filled by touch and
by keyboard, the summary of unanswered questions on a partial send (focus moved to it, each
question linked and flagged), the organization's words on the client's form, no sideways
scrolling and no axe violation at all (issue 16, items 5 and 6).

Works on b1's client in Clinic B (no other browser test touches them); Clinic B says
"patient" and "nurse"."""

from __future__ import annotations

import httpx
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import update

from alliance.store.models import Organization
from tests.web.conftest import Site

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def new_link(http: httpx.Client, site: Site, *instruments: str) -> str:
    """A link on a new session of b1's client (each session is asked each measure once)."""
    headers = site.world["b1"].headers
    session = http.post(
        f"/api/v1/episodes/{site.world.episodes['b1']}/sessions",
        headers=headers,
        json={"date": "2026-09-15"},
    ).json()["id"]
    made = http.post(
        f"/api/v1/sessions/{session}/links",
        headers=headers,
        json={"instruments": list(instruments)},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["url"])


def checked(page) -> None:  # type: ignore[no-untyped-def]
    """The page fits the phone's width and has no accessibility violation."""
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, width
    found = Axe().run(page).response["violations"]
    assert found == [], [(v["id"], v["help"]) for v in found]


def test_a_link_of_several_measures_by_touch_and_by_keyboard(  # type: ignore[no-untyped-def]
    chromium, shared_site: Site
) -> None:
    site = shared_site
    with site.database.session() as db:
        db.execute(
            update(Organization)
            .where(Organization.id == site.world.orgs["B"])
            .values(terms={"client": "patient", "clinician": "nurse"})
        )
        db.commit()
    with httpx.Client(base_url=site.url) as http:
        by_touch = new_link(http, site, "wai-sr", "phq-9")
        by_keys = new_link(http, site, "phq-9", "srs")

    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(by_touch)
    assert page.locator("h1").inner_text() == (
        "Working Alliance Inventory – Short Revised (patient)"
    )
    text = page.locator("main").inner_text()
    assert "Questionnaire 1 of 2" in text and "Feeling liked by the nurse" in text
    assert "clinician" not in text.lower() and "(client)" not in text
    checked(page)
    # a partial send: a summary at the top takes the focus and links to each empty question
    for i in range(1, 11):
        page.locator(f"input[name=item_{i}][value='4']").tap()
    page.get_by_role("button", name="Send and go on to questionnaire 2").tap()
    page.wait_for_selector("#problems")
    assert page.evaluate("document.activeElement.id") == "problems"
    summary = page.locator("#problems")
    assert summary.get_attribute("role") == "alert"
    assert "2 questions not answered yet" in summary.inner_text()
    assert page.locator("fieldset.unanswered").count() == 2
    checked(page)
    summary.get_by_role("link", name="Question 11").tap()
    assert page.evaluate("document.activeElement.id") == "item_11-first"
    page.locator("input[name=item_11][value='4']").tap()
    page.locator("input[name=item_12][value='4']").tap()
    page.get_by_role("button", name="Send and go on to questionnaire 2").tap()
    page.wait_for_selector("text=Questionnaire 2 of 2")
    assert "your answers to the Working Alliance Inventory" in page.locator("main").inner_text()
    checked(page)
    for i in range(1, 11):
        page.locator(f"input[name=item_{i}][value='0']").tap()
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_selector("text=your answers were received")
    context.close()

    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(by_keys)
    page.locator("input[name=item_1]").first.focus()
    for _ in range(10):  # PHQ-9's nine questions and the tenth: the first answer, then on
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
    assert "Send and go on" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Questionnaire 2 of 2")
    page.locator("input[name=item_1]").focus()  # the SRS: four marks typed
    for n, mark in enumerate(("7.5", "8", "9", "10"), start=1):
        page.keyboard.type(mark)
        page.keyboard.press("Tab")
        if n < 4:
            page.keyboard.press("Tab")  # past the next line's slider to its number box
    assert "Send my answers" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=your answers were received")
    context.close()

    with httpx.Client(base_url=site.url) as http:
        timeline = http.get(
            f"/api/v1/clients/{site.world.clients['b1']}/timeline",
            headers=site.world["b1"].headers,
        ).json()
    rated = [
        (a["administration"]["instrument"], a["administration"]["answers"]["item_1"])
        for s in timeline["episodes"][0]["sessions"]
        for a in s["administrations"]
    ]
    assert sorted(rated) == [("phq-9", 0), ("phq-9", 0), ("srs", 7.5), ("wai-sr", 4)]
