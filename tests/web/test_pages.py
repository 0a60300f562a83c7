"""The clinician's and admin's pages, over HTTP (no browser): what each page shows, the forms
and their CSRF protection, and the organization's words."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.alerts import Alert
from alliance.store.audit import AuditEvent
from alliance.store.models import Administration, RuptureReport
from alliance.web.pages.common import Terms
from tests.fixtures.database import Database, World
from tests.web.busy import busy_client
from tests.web.conftest import PageClient, offer, post_login

GAD = {f"item_{i}": "1" for i in range(1, 8)}


def risky(api: TestClient, world: World, who: str = "c1") -> None:
    answers = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
    response = api.post(
        f"/api/v1/sessions/{world.sessions[who]}/administrations",
        headers=world[who].headers,
        json={"instrument": "phq-9", "answers": answers, "idempotency_key": "r"},
    )
    assert response.status_code == 201


def test_pages_need_a_login(pages: TestClient, world: World) -> None:
    response = pages.get(f"/clients/{world.clients['c1']}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/clients/{world.clients['c1']}"


def test_a_login_posted_from_elsewhere_is_refused(pages: TestClient, world: World) -> None:
    """Login CSRF: a form on another site cannot log this browser into someone's account;
    it has neither the page's token nor its strict same-site cookie."""
    data = {"username": "c1", "password": "correct horse battery", "next": "/"}
    blind = pages.post("/login", data=data)
    assert blind.status_code == 403 and "please log in again" in blind.text
    assert "alliance_session" not in pages.cookies
    pages.get("/login")  # the cookie alone, with a token guessed or copied from elsewhere
    forged = pages.post("/login", data=data | {"login_token": "guessed"})
    assert forged.status_code == 403
    assert post_login(pages, username="c1", password="correct horse battery").status_code == 303


def test_login_page_and_errors(pages: TestClient, world: World) -> None:
    assert pages.get("/login").status_code == 200
    wrong = post_login(pages, username="c1", password="nope")
    assert wrong.status_code == 401
    assert "wrong username or password" in wrong.text
    assert 'value="c1"' in wrong.text
    evil = post_login(
        pages, username="c1", password="correct horse battery", next="//evil.example/"
    )
    assert evil.headers["location"] == "/"  # never redirected to another site


def test_caseload_puts_urgent_risk_first(
    clinician: PageClient, api: TestClient, world: World
) -> None:
    clinician.post("/clients", {"code": "Z-NEW", "started_on": "2026-09-01"})
    risky(api, world)
    page = clinician.get("/caseload")
    assert page.status_code == 200
    assert "banner-urgent" in page.text
    codes = re.findall(r'<th scope="row"><a href="/clients/[^"]+">([^<]+)</a>', page.text)
    assert codes == ["C1-01", "Z-NEW"]
    assert "1 urgent" in page.text


def test_caseload_columns_search_and_filter(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    clinician.post("/clients", {"code": "Z-NEW", "started_on": "2026-09-01"})
    busy_client(api, world, database)  # WAI-SR 60 … 36, 24; a risk answer; a high alert
    page = clinician.get("/caseload").text
    row = page.split('<th scope="row"><a href="/clients/' + world.clients["c1"])[1]
    row = row.split("</tr>")[0]
    pills = re.findall(r'class="pill (\w+)"', row)
    assert pills[0] == "urgent" and pills.index("urgent") < pills.index("high")
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    assert "24 ▼ down from 36 (worse) WAI-SR" in cells
    assert "not enough data PHQ-9" in cells  # one PHQ-9 rating: no track yet
    assert "next session" in cells  # session 6 is rated
    assert "6 · last 2026-09-13 · 100% rated" in cells

    def codes(path: str) -> list[str]:
        html = clinician.get(path).text
        return re.findall(r'<th scope="row"><a href="/clients/[^"]+">([^<]+)</a>', html)

    assert codes("/caseload?q=z-n") == ["Z-NEW"]
    assert codes("/caseload?show=alerts") == ["C1-01"]
    assert codes("/caseload?show=off") == []
    assert "No clients match" in clinician.get("/caseload?q=nobody").text
    assert "1 client with “Z” in the code" in clinician.get("/caseload?q=Z").text
    assert "1 of 2 clients (with open alerts)" in clinician.get("/caseload?show=alerts").text
    assert clinician.get("/caseload?show=everything").status_code == 422


def test_before_the_session_view(clinician: PageClient, api: TestClient, world: World) -> None:
    session = world.sessions["c1"]
    for n, level in enumerate((5, 5, 3), start=1):
        if n > 1:
            response = api.post(
                f"/api/v1/episodes/{world.episodes['c1']}/sessions",
                headers=world["c1"].headers,
                json={"date": f"2026-09-{8 + 7 * n}"},
            )
            session = response.json()["id"]
        api.post(
            f"/api/v1/sessions/{session}/administrations",
            headers=world["c1"].headers,
            json={
                "instrument": "wai-sr",
                "idempotency_key": f"w{n}",
                "answers": {f"item_{i}": level for i in range(1, 13)},
            },
        )
    risky(api, world)
    page = clinician.get(f"/clients/{world.clients['c1']}")
    assert page.status_code == 200
    text = page.text
    assert "C1-01" in text
    assert text.index("Urgent:") < text.index("Open alerts")
    assert "Risk answer" in text and "Risk item answered in session 1" in text
    assert "WAI-SR total" in text
    assert "<svg" in text and "Data table" in text
    # the client's subscales in a chart of their own, with its data table
    subscales = text.split("WAI-SR subscales, the client&#39;s own rating (4–20", 1)[1]
    head = re.search(r"<thead>(.*?)</thead>", subscales, re.S)
    assert head and re.findall(r"<th[^>]*>([^<]+)</th>", head.group(1)) == [
        "Session",
        "bond",
        "goal",
        "task",
    ]
    last = re.findall(r"<tr>(.*?)</tr>", subscales.split("</thead>")[1], re.S)[2]
    assert re.findall(r"<t[dh][^>]*>([^<]+)</t[dh]>", last) == ["3", "12", "12", "12"]
    status = text.split('id="status-h"')[1].split("</section>")[0]
    line = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", status)).strip()
    assert "WAI-SR total (alliance, 12–60) 36 in session 3 down 24 since session 2 (worse)" in line
    assert "expected track: not enough data" in line  # no clinic history to compare with
    assert "Record a session" in text


def test_the_view_leads_with_status_and_chart_then_grouped_alerts(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    busy_client(api, world, database)
    text = clinician.get(f"/clients/{world.clients['c1']}").text
    order = ["Urgent:", 'id="status-h"', "<svg", 'id="risk-history-h"', 'id="alerts-h"']
    assert [text.index(mark) for mark in order] == sorted(text.index(mark) for mark in order)
    status = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text.split('id="status-h"')[1]))
    assert "PHQ-9 depression severity (outcome, 0–27) 9 mild in session 6" in status
    assert "risk: 1 risk answer to follow up (latest: answered 1 (On some days) in session 6" in (
        status
    )
    with database.session() as db:
        open_alerts = db.scalars(select(Alert).where(Alert.state == "open")).all()
    assert len(open_alerts) >= 6
    assert f"Open alerts ({len(open_alerts)})" in text
    cards = text.split('id="alerts-h"')[1].split('class="resolved-alerts"')[0].split("<article")[1:]
    titles = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c.split("</h3>")[0])) for c in cards]
    assert "urgent Risk answer · session 6" in titles[0]  # urgent risk first, on its own
    drops = [t for t in titles if "Drop from the client" in t]
    assert len(drops) == 1 and "3 times, sessions 4–6" in drops[0]
    card = next(c for c in cards if "Drop from the client" in c)
    assert card.startswith(' class="card alert high"')  # the group's most urgent
    assert '<details class="steps">' in card and "The 2 earlier times" in card
    assert "a fall of 6 × the rule's limit" in card
    ids = re.search(r'name="alerts" value="([^"]+)"', card)
    assert ids and len(ids.group(1).split()) == 3  # one button acts on the whole group
    done = clinician.post(
        "/alert-groups/acknowledge", {"alerts": ids.group(1), "back": "/caseload"}
    )
    assert clinician.notice(done) == "Acknowledged 3 alerts."
    with database.session() as db:
        states = {
            a.state for a in db.scalars(select(Alert).where(Alert.rule == "drop_from_baseline"))
        }
    assert states == {"acknowledged"}


def test_session_form_saves_prediction_and_rupture(
    clinician: PageClient, world: World, database: Database
) -> None:
    session = world.sessions["c1"]
    form = clinician.get(f"/sessions/{session}/rate")
    assert form.status_code == 200
    key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert key
    data = {f"item_{i}": "4" for i in range(1, 13)} | {
        "rupture": "1",
        "note": "went quiet when we talked about work",
        "form_key": key.group(1),
    }
    saved = clinician.post(f"/sessions/{session}/rate", data)
    assert saved.status_code == 303
    assert "Saved your prediction and the rupture you noticed" in clinician.notice(saved)
    with database.session() as db:
        admin = db.scalar(select(Administration))
        assert admin is not None
        assert (admin.perspective, admin.stance) == ("clinician", "prediction")
        assert db.scalar(select(RuptureReport.note)) == "went quiet when we talked about work"
    again = clinician.post(f"/sessions/{session}/rate", data)  # a double click stores nothing new
    assert again.status_code == 303
    with database.session() as db:
        assert len(list(db.scalars(select(Administration)))) == 1


def test_forms_need_their_csrf_token(clinician: PageClient, world: World) -> None:
    refused = clinician.post("/clients", {"code": "X-1", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert "this form has expired" in refused.text
    missing = clinician.client.post("/clients", data={"code": "X-2"})
    assert missing.status_code == 403


def test_link_with_qr_code_and_kiosk(clinician: PageClient, world: World) -> None:
    session = world.sessions["c1"]
    shown = clinician.post(
        f"/sessions/{session}/links",
        {"instrument": "srs", "how": "show", "client_id": world.clients["c1"]},
    )
    assert shown.status_code == 200
    assert "<svg" in shown.text
    url = re.search(r'<a href="(http://testserver/f/[^"]+)">', shown.text)
    assert url
    login = clinician.client.cookies.get("alliance_session")
    assert login
    kiosk = clinician.post(
        f"/sessions/{session}/links",
        {"instrument": "wai-sr", "how": "kiosk", "client_id": world.clients["c1"]},
    )
    assert kiosk.status_code == 303
    assert re.fullmatch(r"/f/[A-Za-z0-9_-]+\?kiosk=true", kiosk.headers["location"])
    # the tablet is the client's now: the clinician's login has ended, cookie and all
    assert "alliance_session=" in kiosk.headers["set-cookie"]
    back = clinician.client.get("/caseload", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith("/login")
    form = clinician.client.get(kiosk.headers["location"])
    assert form.status_code == 200 and 'class="kiosk"' in form.text
    clinician.client.cookies.set("alliance_session", login)
    replayed = clinician.client.get("/caseload", follow_redirects=False)
    assert replayed.status_code == 303  # the old cookie no longer logs anyone in


def test_alert_workflow_on_the_page(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    risky(api, world)
    with database.session() as db:
        alert_id = db.scalar(select(Alert.id))
    back = f"/clients/{world.clients['c1']}"
    shown = clinician.get(back)
    card = shown.text.split('class="card alert urgent"')[1].split("</article>")[0]
    assert f'action="/alerts/{alert_id}/resolve"' not in card  # no one-click resolve
    assert f'action="/alerts/{alert_id}/follow-up"' in card
    for action, extra in (("acknowledge", {}), ("note", {"note": "called; safe"})):
        response = clinician.post(f"/alerts/{alert_id}/{action}", {"back": back, **extra})
        assert response.status_code == 303
        assert response.headers["location"].startswith(back)
    one_click = clinician.post(f"/alerts/{alert_id}/resolve", {"back": back})
    assert "Not done: " in clinician.notice(one_click)
    no_note = clinician.post(
        f"/alerts/{alert_id}/follow-up",
        {"back": back, "outcome": "safety_plan", "contacted_at": "2026-09-08T15:30",
         "attempts": "1", "note": "", "resolve": "1"},
    )  # fmt: skip
    assert clinician.notice(no_note).startswith("Not saved (note): ")
    assert "Open alerts (1)" in clinician.get(back).text
    done = clinician.post(
        f"/alerts/{alert_id}/follow-up",
        {"back": back, "outcome": "safety_plan", "contacted_at": "2026-09-08T15:30",
         "attempts": "2", "note": "Safety plan reviewed by phone.", "resolve": "1"},
    )  # fmt: skip
    assert "alert resolved" in clinician.notice(done)
    page = clinician.get(back)
    assert "Open alerts (0)" in page.text
    # the resolved alert and its history stay readable on the page
    resolved = page.text.split("Resolved alerts (1)")[1]
    steps = re.findall(r"</time> ([a-z ]+?)(?: by ([^:<]+))?(?:: “([^”]*)”)?</li>", resolved)
    assert [(action, by.strip()) for action, by, _ in steps] == [
        ("raised", ""),
        ("not sent", ""),  # no address is set in this world: the history says so
        ("acknowledge", "c1"),
        ("note", "c1"),
        ("follow up", "c1"),
        ("resolve", "c1"),
    ]
    assert steps[4][2].startswith("Safety plan made or reviewed with the client — reached ")
    assert "2026-09-08 15:30 UTC, 2 attempts. Safety plan reviewed by phone." in steps[4][2]
    history = api.get(f"/api/v1/alerts/{alert_id}/history", headers=world["c1"].headers).json()
    assert [h["action"] for h in history] == [
        "raised", "not_sent", "acknowledge", "note", "follow_up", "resolve"
    ]  # fmt: skip


def test_risk_history_comes_first_with_its_follow_up(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    risky(api, world)
    page = clinician.get(f"/clients/{world.clients['c1']}").text
    assert page.index("Risk history") < page.index("Open alerts")
    history = page.split('id="risk-history-h"')[1].split("</section>")[0]
    row = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", history.split("<tbody>")[1]))
    assert (
        "2026-09-08 E1 · 1 PHQ-9 question 9 (thoughts of death or self-harm) 2 (On most days) open"
        in row
    )


def test_words_that_fit_the_setting(
    admin: PageClient, clinician: PageClient, api: TestClient, world: World
) -> None:
    saved = admin.post("/admin/terms", {"client": "patient", "clinician": "nurse"})
    assert saved.status_code == 303
    page = clinician.get("/caseload")
    assert "My patients" in page.text
    assert "Register a patient" in page.text
    assert "My clients" not in page.text
    # alert reasons, next steps, charts and their tables speak the same words
    risky(api, world)
    view = clinician.get(f"/clients/{world.clients['c1']}").text
    assert "contact the patient and assess risk" in view
    assert "contact the client" not in view
    assert "Patients rated" in Terms("patient", "nurse").text("Clients rated")
    assert Terms("patient", "nurse").text("the clinician's prediction of it") == (
        "the nurse's prediction of it"
    )
    refused = admin.post("/admin/terms", {"client": "customer", "clinician": "nurse"})
    assert refused.status_code == 422
    assert "Not saved — unknown word for a person in care; allowed: client, patient" in (
        refused.text
    )


def test_admin_pages_are_for_admins(clinician: PageClient) -> None:
    assert clinician.get("/admin").status_code == 403
    assert clinician.post("/admin/teams", {"name": "T"}).status_code == 403


def test_security_headers_and_no_other_hosts(clinician: PageClient, world: World) -> None:
    page = clinician.get(f"/clients/{world.clients['c1']}")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert external == []
    static = clinician.get("/static/alliance.css")
    assert static.status_code == 200
    assert static.headers["cache-control"] != "no-store"


def test_team_view_shows_uncertainty_not_a_ranking(
    api: TestClient,
    world: World,
    database: Database,
    settings,
    pages: TestClient,  # type: ignore[no-untyped-def]
) -> None:
    from alliance.store.models import User
    from tests.fixtures.database import password_hash
    from tests.web.conftest import login

    with database.session() as db:
        supervisor = db.scalar(select(User).where(User.username == "s1"))
        assert supervisor is not None
        supervisor.password_hash = password_hash()
        db.commit()
    for who, level in (("c1", 5), ("c2", 3)):
        api.post(
            f"/api/v1/sessions/{world.sessions[who]}/administrations",
            headers=world[who].headers,
            json={
                "instrument": "wai-sr",
                "idempotency_key": f"t-{who}",
                "answers": {f"item_{i}": level for i in range(1, 13)},
            },
        )
    browser = login(pages, "s1")
    landing = browser.get("/")  # a supervisor lands on the team, not an empty caseload
    assert landing.headers["location"] == "/team"
    page = browser.get("/team")
    assert page.status_code == 200
    assert "It is not a ranking" in page.text
    names = re.findall(r'<h2 id="c-([^"]+)"><a href="/team/([^"]+)">([^<]+)</a></h2>', page.text)
    assert [n for _, _, n in names] == sorted(n for _, _, n in names)
    assert {i for i, _, _ in names} == {world["c1"].id, world["c2"].id}  # not s1: no clients
    assert all(i == link for i, link, _ in names)
    assert "alliance: 60.0 (n = 1)" in page.text
    assert "alliance: 36.0 (n = 1)" in page.text
    assert "Whole team: 48.0 (95% interval" in page.text
    # the caterpillar plot: sorted by mean, with its data table
    chart = page.text.split('class="chart-block card team-chart"')[1].split("</figure>")[0]
    assert chart.count("<circle") == 2 and "<svg" in chart
    rows = re.findall(r'<tr><th scope="row">[^<]+</th><td class="num">1</td>'
                      r'<td class="num">([\d.]+)</td>', chart)  # fmt: skip
    assert rows == ["36.0", "60.0"]
    assert "too few clients for an interval" in chart
    # a name opens that clinician's caseload, read-only
    member = browser.get(f"/team/{world['c1'].id}")
    assert member.status_code == 200
    assert "C1-01" in member.text and "C2-01" not in member.text
    assert "Read-only" in member.text and 'action="/clients"' not in member.text
    assert browser.get(f"/team/{world['c3'].id}").status_code == 404  # another team


def test_session_form_saves_the_clinicians_own_rating(
    clinician: PageClient, world: World, database: Database
) -> None:
    """The clinician rates the session themselves on a clinician form the admin turned on
    (the shortest offered first, another on request); an unconfirmed key is said, and the
    answers are kept."""
    offer(database, world, "wai-sr", "wai-s", "haq-ii")
    session = world.sessions["c1"]
    form = clinician.get(f"/sessions/{session}/rate")
    assert 'name="own_instrument" value="wai-s"' in form.text
    assert "scoring key is not confirmed" in form.text
    assert f'href="/sessions/{session}/rate?own=haq-ii"' in form.text
    other = clinician.get(f"/sessions/{session}/rate?own=haq-ii")
    assert 'name="own_instrument" value="haq-ii"' in other.text
    key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert key
    data = {f"own_item_{i}": "6" for i in range(1, 13)} | {
        "own_instrument": "wai-s",
        "form_key": key.group(1),
    }
    data["own_item_3"] = "9"  # out of range: the form comes back with the problem
    refused = clinician.post(f"/sessions/{session}/rate", data)
    assert refused.status_code == 422
    assert 'href="#own_item_3"' in refused.text
    assert 'name="own_item_1" value="6" checked' in refused.text
    data["own_item_3"] = "2"
    saved = clinician.post(f"/sessions/{session}/rate", data)
    assert saved.status_code == 303
    assert "Saved your own rating" in clinician.notice(saved)
    with database.session() as db:
        [admin] = db.scalars(select(Administration))
        assert (admin.instrument, admin.perspective, admin.stance) == (
            "wai-s",
            "clinician",
            "self",
        )
        assert admin.answers["item_3"] == 2 and admin.answers["item_12"] == 6


def test_contact_details_are_added_after_registration_and_audited(
    clinician: PageClient, world: World, database: Database
) -> None:
    client = world.clients["c1"]
    view = clinician.get(f"/clients/{client}").text
    assert '(no e-mail address: <a href="#contact">add one</a>; no mail server set up)' in view
    assert 'action="/clients/' + client + '/contact"' in view
    refused = clinician.post(f"/clients/{client}/contact", {"email": "not-an-address"})
    assert clinician.notice(refused) == (
        "Contact details not saved: not an e-mail address 'not-an-address'."
    )
    saved = clinician.post(
        f"/clients/{client}/contact", {"name": "", "email": " robin@example.org ", "phone": ""}
    )
    assert saved.headers["location"].startswith(f"/clients/{client}?notice=saved")
    assert clinician.notice(saved) == "Saved the contact details: e-mail address added."
    view = clinician.get(f"/clients/{client}").text
    assert 'value="robin@example.org"' in view and "(no e-mail address" not in view
    with database.session() as db:
        events = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "update", AuditEvent.record_type == "client_contact"
            )
        ).all()
        assert len(events) == 1  # the refused one stored nothing
        assert "robin" not in str(events[0].detail)
        assert events[0].detail["changed"] == ["email"]
    # a colleague who may not change the client gets no form and cannot post one
    other = clinician.post(f"/clients/{world.clients['c2']}/contact", {"email": "x@y.org"})
    assert other.status_code in (403, 404)
