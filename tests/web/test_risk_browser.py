"""In Debian's Chromium: an urgent risk alert cannot be resolved without its follow-up record —
neither by the browser's own form checks nor by the server when those are bypassed — and is
resolved once the record is complete."""

from __future__ import annotations

import httpx

from tests.fixtures.database import PASSWORD
from tests.web.conftest import Site


def test_an_urgent_alert_is_not_resolved_without_its_follow_up(  # type: ignore[no-untyped-def]
    chromium, shared_site: Site
) -> None:
    site, world = shared_site, shared_site.world  # c1's client; no other test touches it
    answers = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
    stored = httpx.post(
        f"{site.url}/api/v1/sessions/{world.sessions['c1']}/administrations",
        headers=world["c1"].headers,
        json={"instrument": "phq-9", "answers": answers, "idempotency_key": "risk"},
    )
    assert stored.status_code == 201
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("#username", "c1")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.url}/caseload")
    page.goto(f"{site.url}/clients/{world.clients['c1']}")
    card = page.locator("article.alert.urgent")
    assert card.get_by_role("button", name="Resolve", exact=True).count() == 0
    resolve = card.get_by_role("button", name="Save and resolve")

    resolve.click()  # nothing filled in: the browser keeps the form
    form = card.locator("form.follow-up")
    assert form.evaluate("f => f.checkValidity()") is False
    assert "Open alerts (1)" in page.locator("#alerts-h").inner_text()

    form.evaluate("f => { f.noValidate = true; }")  # past the browser: the server refuses
    card.get_by_label("Safety plan made or reviewed with the client").check()
    card.get_by_label("When the client was reached").fill("2026-09-08T15:30")
    resolve.click()
    page.wait_for_selector("text=Not saved (note)")
    assert "Open alerts (1)" in page.locator("#alerts-h").inner_text()
    assert "open" in page.locator(".risk-history tbody tr").first.inner_text()

    card = page.locator("article.alert.urgent")
    card.get_by_label("Safety plan made or reviewed with the client").check()
    card.get_by_label("When the client was reached").fill("2026-09-08T15:30")
    card.get_by_label("Attempts to reach them").fill("2")
    card.get_by_label("What was done and agreed").fill("Reached by phone; plan reviewed.")
    card.get_by_role("button", name="Save and resolve").click()
    page.wait_for_selector("text=Follow-up saved; alert resolved.")
    assert "Open alerts (0)" in page.locator("#alerts-h").inner_text()
    row = page.locator(".risk-history tbody tr").first.inner_text()
    assert "resolved" in row and "Reached by phone; plan reviewed." in row
    assert "2 attempts" in row
    context.close()
