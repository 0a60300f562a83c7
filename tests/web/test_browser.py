"""End to end in Debian's Chromium (Playwright): a client fills a form from a link on a phone
by touch and by keyboard, a clinician sees the rating and the alert and works it, a used link
is refused, and the client form passes an accessibility check."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.fixtures.database import PASSWORD, Database, World
from tests.service.live import Server, live_server

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


@pytest.fixture
def site(database: Database, world: World) -> Iterator[Server]:
    if database.backend != "sqlite":
        pytest.skip("browser tests run on SQLite; the API tests cover PostgreSQL")
    with live_server(database) as server:
        yield server


def link(server: Server, world: World, instrument: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instrument": instrument},
    )
    assert response.status_code == 201
    url = str(response.json()["url"])
    assert url.startswith(server.url)
    return url


def test_client_fills_a_form_by_touch_on_a_phone(chromium, site: Server, world: World) -> None:  # type: ignore[no-untyped-def]
    url = link(site, world, "phq-9")
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(url)
    assert page.locator("h1").inner_text() == "Patient Health Questionnaire-9"
    for i in range(1, 11):
        value = "1" if i == 9 else "0"
        page.locator(f"input[name=item_{i}][value='{value}']").tap()
    assert page.locator("input[name=item_9][value='1']").is_checked()
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_selector("text=your answers were received")
    assert page.locator("[role=alert]").inner_text().startswith("You told us about thoughts")
    context.close()

    desk = chromium.new_context()
    clinician = desk.new_page()
    clinician.goto(f"{site.url}/login")
    clinician.fill("#username", "c1")
    clinician.fill("#password", PASSWORD)
    clinician.get_by_role("button", name="Log in").click()
    clinician.wait_for_url(f"{site.url}/caseload")
    banner = clinician.locator(".banner-urgent")
    assert "C1-01" in banner.inner_text()
    assert clinician.locator("h1 + .banner-urgent").count() == 1  # at the top of the caseload
    clinician.get_by_role("link", name="C1-01").first.click()
    first_alert = clinician.locator("article.alert").first
    assert "urgent" in first_alert.inner_text()
    assert "PHQ-9 question 9 (thoughts of death or self-harm)" in first_alert.inner_text()
    chart = clinician.locator("figure", has_text="PHQ-9 total")
    assert chart.locator("svg").count() == 1
    chart.locator("summary").click()  # the chart's data table: the client's new total is there
    assert chart.locator("tbody tr").first.inner_text().split() == ["1", "1", "—"]
    first_alert.get_by_role("button", name="Acknowledge").click()
    clinician.wait_for_selector("text=Alert acknowledged.")
    assert "acknowledged" in clinician.locator("article.alert").first.inner_text()
    # urgent risk alerts stay on top until resolved
    assert clinician.locator(".banner-urgent").count() == 1
    desk.close()


def test_client_fills_a_form_by_keyboard(chromium, site: Server, world: World) -> None:  # type: ignore[no-untyped-def]
    url = link(site, world, "wai-sr")
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(url)
    page.locator("input[name=item_1]").first.focus()
    for _ in range(12):
        page.keyboard.press("Space")  # choose the first answer of the group
        page.keyboard.press("ArrowRight")  # … then the next one: 2
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Send my answers" in focused
    page.keyboard.press("Enter")
    page.wait_for_selector("text=your answers were received")
    context.close()
    timeline = httpx.get(
        f"{site.url}/api/v1/clients/{world.clients['c1']}/timeline", headers=world["c1"].headers
    ).json()
    [admin] = timeline["episodes"][0]["sessions"][0]["administrations"]
    assert admin["administration"]["answers"] == {f"item_{i}": 2 for i in range(1, 13)}
    assert {s["scale"]: s["value"] for s in admin["scores"]}["total"] == 24


def test_visual_analogue_lines_by_touch_and_without_javascript(  # type: ignore[no-untyped-def]
    chromium, site: Server, world: World
) -> None:
    url = link(site, world, "srs")
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.goto(url)
    slider = page.locator("[data-line] input[type=range]").first
    assert slider.is_visible()  # the script shows the slider
    box = slider.bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    number = page.locator("input[name=item_1]")
    value = float(number.input_value())
    assert 8.0 <= value <= 10.0
    assert "not marked yet" not in page.locator("[data-line] .value").first.inner_text()
    context.close()

    plain = chromium.new_context(**PHONE, java_script_enabled=False)
    page = plain.new_page()
    page.goto(url)
    assert not page.locator("[data-line] input[type=range]").first.is_visible()
    for i, mark in enumerate(("7.5", "8", "9.2", "10"), start=1):
        page.fill(f"input[name=item_{i}]", mark)
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_selector("text=your answers were received")
    again = plain.new_page()
    again.goto(url)
    assert "already been answered" in again.locator("h1").inner_text()  # a used link is refused
    plain.close()


def test_client_form_has_no_serious_accessibility_violations(  # type: ignore[no-untyped-def]
    chromium, site: Server, world: World
) -> None:
    for instrument in ("wai-sr", "srs"):
        context = chromium.new_context(**PHONE)
        page = context.new_page()
        page.goto(link(site, world, instrument))
        results = Axe().run(page)
        serious = [
            v for v in results.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], [(v["id"], v["help"]) for v in serious]
        context.close()
