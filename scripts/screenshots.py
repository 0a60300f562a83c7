"""Save screenshots of the main pages of the demo under docs/screenshots/.

    alliance demo --no-serve && python scripts/screenshots.py

It serves the demo database on a free port, logs in as demo users in Debian's Chromium and
saves one PNG per page (a phone-sized one for the client's form).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).parents[1]
OUT = ROOT / "docs" / "screenshots"
DATABASE = os.environ.get("ALLIANCE_DATABASE_URL", "sqlite:///alliance-demo.sqlite3")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ALLIANCE_DATABASE_URL": DATABASE, "ALLIANCE_BASE_URL": base}
    server = subprocess.Popen(
        [sys.executable, "-m", "alliance", "serve", "--port", str(port)],
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        shoot(base)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()


def login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "try-the-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shoot(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        desk = browser.new_page(viewport={"width": 1366, "height": 900})
        busiest = "clinician3"
        login(desk, base, busiest)
        desk.goto(f"{base}/caseload")
        desk.screenshot(path=str(OUT / "caseload.png"), full_page=True)
        client = desk.locator("table.caseload tbody th a").first.get_attribute("href")
        desk.goto(f"{base}{client}")
        # the first screen of a laptop: what a clinician sees without scrolling
        desk.screenshot(path=str(OUT / "client.png"))
        session = re.search(r'href="(/sessions/[^"]+/rate)"', desk.content())
        if session:
            desk.goto(f"{base}{session.group(1)}")
            desk.screenshot(path=str(OUT / "session-form.png"), full_page=True)
        desk.goto(f"{base}{client}")
        # one link, two measures in order: the alliance form, then the PHQ-9 (or another)
        first = desk.locator("#instrument").input_value()
        then = [
            value
            for value in desk.locator("#instrument_2 option").evaluate_all(
                "options => options.map(o => o.value)"
            )
            if value and value != first
        ]
        if then:
            desk.select_option("#instrument_2", "phq-9" if "phq-9" in then else then[0])
        desk.get_by_role("button", name="Make the link").click()
        desk.screenshot(path=str(OUT / "link-qr.png"))
        link = desk.locator("a[href*='/f/']").first.get_attribute("href")
        desk.goto(f"{base}/learn/calibration")
        desk.screenshot(path=str(OUT / "calibration.png"), full_page=True)
        desk.goto(f"{base}/learn")
        desk.select_option("#quiz-n", "5")
        desk.get_by_role("button", name="Start the self-check").click()
        desk.wait_for_selector("fieldset[data-question]")
        for question in desk.locator("fieldset[data-question]").all():
            question.locator("input[type=radio]").first.check()
        desk.get_by_role("button", name="Check my answers").click()
        desk.wait_for_url(f"{base}/learn/quiz/results/*")
        desk.screenshot(path=str(OUT / "self-check-result.png"), full_page=True)
        phone = browser.new_page(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        phone.goto(str(link))
        phone.screenshot(path=str(OUT / "client-form-phone.png"), full_page=True)
        # sent with most questions empty: the summary at the top links to each of them
        phone.locator("fieldset input[type=radio]").first.tap()
        phone.locator("button[type=submit]").first.tap()
        phone.wait_for_selector("#problems")
        phone.screenshot(path=str(OUT / "client-form-unanswered-phone.png"))
        phone.close()
        phone = browser.new_page(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        login(phone, base, busiest)
        phone.screenshot(path=str(OUT / "caseload-phone.png"))
        team = browser.new_page(viewport={"width": 1366, "height": 900})
        login(team, base, "supervisor1")  # a supervisor lands on the team page
        team.screenshot(path=str(OUT / "team.png"), full_page=True)
        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        login(admin, base, "admin")
        admin.goto(f"{base}/admin")  # the overview, with the section menu
        admin.screenshot(path=str(OUT / "admin.png"), full_page=True)
        admin.goto(f"{base}/admin/alert-rules")  # the first screen of the alert rules
        admin.screenshot(path=str(OUT / "admin-alert-rules.png"))
        browser.close()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
