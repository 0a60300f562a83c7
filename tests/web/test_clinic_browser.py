"""In Debian's Chromium: the clinician's and supervisor's daily pages on a 1366×900 laptop
and a 390×844 phone. The before-the-session view of a client with six open alerts shows its
status and chart in the first screen; the caseload is a card per client on the phone; a
supervisor lands on the team's chart and opens a clinician's caseload; no page scrolls
sideways on the phone; every page passes axe with no violation at all."""

from __future__ import annotations

import httpx
from axe_playwright_python.sync_playwright import Axe

from tests.fixtures.database import PASSWORD
from tests.web.busy import busy_client
from tests.web.conftest import Site

LAPTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def log_in(context, site: Site, username: str):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def violations(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(v["id"], v["help"]) for v in Axe().run(page).response["violations"]]


def sideways(page) -> int:  # type: ignore[no-untyped-def]
    """How far the page scrolls sideways (0 when it fits the screen's width)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_the_daily_pages_on_a_laptop_and_a_phone(  # type: ignore[no-untyped-def]
    chromium, shared_site: Site
) -> None:
    site, world = shared_site, shared_site.world  # c2's client; no other test touches it
    with httpx.Client(base_url=site.url) as http:
        busy_client(http, world, site.database, "c2")
        alerts = http.get("/api/v1/alerts", headers=world["c2"].headers).json()
    assert len(alerts) >= 5
    view = f"{site.url}/clients/{world.clients['c2']}"

    laptop = chromium.new_context(**LAPTOP)
    page = log_in(laptop, site, "c2")
    assert page.url == f"{site.url}/caseload"
    assert violations(page) == []
    page.goto(view)
    chart = page.locator("figure svg").first.bounding_box()
    assert chart is not None and chart["y"] < 900, chart  # with no scrolling
    status = page.locator("#status-h").bounding_box()
    assert status is not None and status["y"] < chart["y"]
    assert page.locator("article.alert").count() < len(alerts)  # grouped per problem
    assert violations(page) == []
    laptop.close()

    phone = chromium.new_context(**PHONE)
    page = log_in(phone, site, "c2")
    for path in ("/caseload", f"/clients/{world.clients['c2']}"):
        page.goto(f"{site.url}{path}")
        assert sideways(page) == 0, path
    page.goto(f"{site.url}/caseload")
    row = page.locator("table.caseload tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"  # a card per client
    phone.close()

    laptop = chromium.new_context(**LAPTOP)
    page = log_in(laptop, site, "s1")
    assert page.url == f"{site.url}/team"  # a supervisor lands on the team
    assert page.locator(".team-chart svg").count() == 1
    assert violations(page) == []
    page.get_by_role("link", name="c2", exact=True).click()  # the clinician's read-only caseload
    page.wait_for_url(f"{site.url}/team/{world['c2'].id}")
    assert "C2-01" in page.locator("table.caseload").inner_text()
    assert violations(page) == []
    laptop.close()
    phone = chromium.new_context(**PHONE)
    page = log_in(phone, site, "s1")
    assert sideways(page) == 0, "/team"
    phone.close()
