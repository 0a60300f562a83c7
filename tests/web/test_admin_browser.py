"""In Debian's Chromium: every section of the administration, and the clinician's import and
export page, passes axe with no violation on a laptop, none scrolls sideways on a 390×844
phone, and the alert rules' controls are wide enough for their values (a severity reads
"medium", not "mediur")."""

from __future__ import annotations

from tests.web.conftest import Site
from tests.web.test_clinic_browser import LAPTOP, PHONE, log_in, sideways, violations

SECTIONS = ("users", "teams", "words", "instruments", "alert-rules", "risk-routing", "learning")


def test_the_admin_sections_on_a_laptop_and_a_phone(chromium, shared_site: Site) -> None:  # type: ignore[no-untyped-def]
    site = shared_site
    laptop = chromium.new_context(**LAPTOP)
    page = log_in(laptop, site, "a1")
    for path in ("/admin", *(f"/admin/{s}" for s in SECTIONS)):
        page.goto(f"{site.url}{path}")
        assert violations(page) == [], path
    page.goto(f"{site.url}/admin/alert-rules")
    severity = page.locator("#rule-drop_from_baseline-severity")
    severity.select_option("medium")
    assert severity.evaluate("s => s.scrollWidth <= s.clientWidth")  # the word fits
    k = page.locator("#rule-drop_from_baseline-k")
    box = k.bounding_box()
    assert box is not None and box["width"] >= 120
    assert k.get_attribute("type") == "number"
    laptop.close()

    phone = chromium.new_context(**PHONE)
    page = log_in(phone, site, "a1")
    for path in ("/admin", *(f"/admin/{s}" for s in SECTIONS)):
        page.goto(f"{site.url}{path}")
        assert sideways(page) == 0, path
    phone.close()


def test_the_import_and_export_page_on_a_laptop_and_a_phone(chromium, shared_site: Site) -> None:  # type: ignore[no-untyped-def]
    site = shared_site
    laptop = chromium.new_context(**LAPTOP)
    page = log_in(laptop, site, "c3")  # no other browser test uses c3
    page.get_by_role("link", name="Import and export").click()
    page.wait_for_url(f"{site.url}/exchange")
    assert violations(page) == []
    laptop.close()
    phone = chromium.new_context(**PHONE)
    page = log_in(phone, site, "c3")
    page.goto(f"{site.url}/exchange")
    assert sideways(page) == 0
    phone.close()
