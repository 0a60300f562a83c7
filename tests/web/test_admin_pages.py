"""The admin's pages over HTTP: a page per section with a section menu; alert rules edited
with a control of each parameter's kind (choices as selects, numbers with unit and range);
every save says exactly what it saved, and a refused save names every value refused and why,
storing none of it; instruments with an unconfirmed key are off until the admin turns them on,
on the client's links and the clinician's session form alike."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.store.models import Organization
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient

SECTIONS = ("users", "teams", "words", "instruments", "alert-rules", "risk-routing", "learning")


def notice(admin: PageClient, response) -> str:  # type: ignore[no-untyped-def]
    """Where a save's redirect goes, and the notice that page shows."""
    assert response.status_code == 303, response.text
    path = response.headers["location"].split("?")[0]
    return f"{path} | {admin.notice(response)}"


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_each_section_has_its_own_page_and_the_menu_marks_it(admin: PageClient) -> None:
    overview = admin.get("/admin")
    assert overview.status_code == 200
    for section in SECTIONS:
        assert f'href="/admin/{section}"' in overview.text
        page = admin.get(f"/admin/{section}")
        assert page.status_code == 200, section
        assert f'<a href="/admin/{section}" aria-current="page">' in page.text
        assert page.text.count('aria-current="page"') == 2  # the site's menu and this one
    assert "Add a user" in admin.get("/admin/users").text
    assert "Add a user" not in admin.get("/admin/alert-rules").text  # one section a page
    assert "12 of 12 offered" not in plain(overview.text)


def test_admin_pages_are_for_admins_only(clinician: PageClient) -> None:
    for section in ("", *(f"/{s}" for s in SECTIONS)):
        assert clinician.get(f"/admin{section}").status_code == 403, section


def test_alert_rules_have_a_control_of_each_kind(admin: PageClient) -> None:
    page = admin.get("/admin/alert-rules").text
    severity = re.search(
        r'<select id="rule-drop_from_baseline-severity" name="drop_from_baseline.severity"'
        r"[^>]*>(.*?)</select>",
        page,
    )
    assert severity
    assert re.findall(r"<option[^>]*>(\w+)</option>", severity.group(1)) == [
        "high",
        "medium",
        "low",
    ]
    k = re.search(r'<input type="number" class="number" id="rule-drop_from_baseline-k"[^>]*>', page)
    assert k
    for attribute in ('step="any"', 'min="0.5"', 'max="5"', 'value="2"', "required"):
        assert attribute in k.group(0)
    assert "</span>" in page.split(k.group(0))[1][:20] and " spreads</span>" in page
    within = re.search(r'<input[^>]*id="rule-repair-within"[^>]*>', page)
    assert within and 'step="1"' in within.group(0) and 'max="20"' in within.group(0)
    assert re.search(r'<select id="rule-repair-rupture" name="repair.rupture"', page)
    assert re.search(r'<select id="rule-off_track-instrument" name="off_track.instrument"', page)
    assert "Allowed: a number from 0.5 to 5 spreads; default 2." in page
    assert "1e+06" not in page and "one of high, medium, low" not in page.split("<form")[0]
    risk = page.split('id="rule-risk_item"')[1].split("</fieldset>")[0]
    assert "Always on." in risk and "<input" not in risk


def test_saving_alert_rules_says_what_changed_and_the_notice_arrives(
    admin: PageClient, database: Database, world: World
) -> None:
    saved = admin.post(
        "/admin/alert-rules",
        {
            "drop_from_baseline.k": "2.5",
            "drop_from_baseline.severity": "medium",
            "low_early_alliance.enabled": "false",  # the hidden field of an unticked box
            "repair.within": "3",  # as it was
        },
    )
    assert notice(admin, saved) == (
        "/admin/alert-rules | Saved the alert rules: drop from baseline k 2 → 2.5; drop from "
        "baseline severity high → medium; low early alliance enabled on → off."
    )
    shown = admin.get(saved.headers["location"])  # the notice reaches the page
    assert 'id="rule-drop_from_baseline-k" name="drop_from_baseline.k" step="any"' in shown.text
    assert re.search(r'id="rule-drop_from_baseline-k"[^>]*value="2.5"', shown.text)
    with database.session() as db:
        org = db.get(Organization, world.orgs["A"])
        assert org is not None
        rules = org.feedback_config["rules"]
        assert rules["drop_from_baseline"]["k"] == 2.5
        assert rules["low_early_alliance"]["enabled"] is False
        assert rules["repair"]["within"] == 3
    again = admin.post("/admin/alert-rules", {"drop_from_baseline.k": "2.5"})
    assert notice(admin, again) == "/admin/alert-rules | Saved the alert rules: no value changed."


def test_refused_alert_rules_name_every_value_and_store_none(
    admin: PageClient, database: Database, world: World
) -> None:
    refused = admin.post(
        "/admin/alert-rules",
        {
            "drop_from_baseline.k": "banana",
            "reliable_drop.z": "99",
            "repair.within": "2.5",
            "drop_from_previous.severity": "urgent",
            "drop_from_baseline.min_baseline": "",
            "drop_from_baseline.floor": "",  # empty is allowed: the sample's spread
            "reliable_drop.severity": "low",  # good, but nothing of a refused form is kept
        },
    )
    assert refused.status_code == 422
    summary = plain(refused.text.split('class="error-summary"')[1].split("</div>")[0])
    for said in (
        "drop from baseline · k: 'banana' is not a number; allowed: a number from 0.5 to 5 "
        "spreads.",
        "reliable drop · z: 99 is out of range; allowed: a number from 1 to 4.",
        "repair · within: '2.5' is not a whole number; allowed: a whole number from 1 to 20 "
        "sessions.",
        "drop from previous · severity: 'urgent' is not one of the choices; allowed: one of "
        "high, medium, low.",
        "drop from baseline · min_baseline: a value is needed; allowed: a whole number from 2 "
        "to 50 ratings.",
    ):
        assert said in summary
    assert summary.count("allowed:") == 5
    assert 'href="#rule-reliable_drop-z"' in refused.text
    assert re.search(r'id="rule-drop_from_baseline-k"[^>]*value="banana"', refused.text)
    with database.session() as db:
        org = db.get(Organization, world.orgs["A"])
        assert org is not None and not org.feedback_config  # nothing stored


def test_user_team_and_word_saves_say_what_was_saved(admin: PageClient, world: World) -> None:
    added = admin.post(
        "/admin/users",
        {"username": "n.nurse", "role": "clinician", "team_id": world.teams["North"],
         "password": "long enough password"},
    )  # fmt: skip
    assert notice(admin, added) == (
        "/admin/users | Added n.nurse (n.nurse): clinician, North, with a password."
    )
    refused = admin.post("/admin/users", {"username": "w.wiz", "role": "wizard"})
    assert refused.status_code == 422
    assert (
        "User not added — unknown role 'wizard'; the roles are clinician, supervisor, "
        "researcher, admin" in plain(refused.text)
    )
    assert 'value="w.wiz"' in refused.text  # kept for the next try
    c3 = world["c3"].id
    changed = admin.post(
        f"/admin/users/{c3}", {"role": "clinician", "team_id": world.teams["North"], "active": "1"}
    )
    assert notice(admin, changed) == "/admin/users | Saved c3: team South → North."
    unchanged = admin.post(
        f"/admin/users/{c3}", {"role": "clinician", "team_id": world.teams["North"], "active": "1"}
    )
    assert notice(admin, unchanged) == "/admin/users | Saved c3: nothing changed."
    team = admin.post("/admin/teams", {"name": "West"})
    assert notice(admin, team) == "/admin/teams | Added the team West."
    words = admin.post("/admin/terms", {"client": "patient", "clinician": "clinician"})
    assert notice(admin, words) == (
        "/admin/words | Saved the words your pages use: a person in care is a patient "
        "(changed); the person giving care is a clinician (unchanged)."
    )


def test_unscored_instruments_are_off_until_the_admin_turns_them_on(
    admin: PageClient, clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    page = admin.get("/admin/instruments").text
    boxes = dict(
        re.findall(r'<input type="checkbox" name="instrument" value="([^"]+)"( checked)?', page)
    )
    unscored = {"haq-ii", "sai", "wai", "wai-s"}
    assert {i for i, on in boxes.items() if not on} == unscored
    assert len(boxes) == 12
    # a new organization's clients are offered no unscored form, its clinicians no own form
    refused = api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instrument": "sai"},
    )
    assert refused.status_code == 422
    form = clinician.get(f"/sessions/{world.sessions['c1']}/rate").text
    assert 'name="own_instrument"' not in form
    view = clinician.get(f"/clients/{world.clients['c1']}").text
    assert not {f'value="{i}"' for i in unscored} & set(re.findall(r'value="[^"]+"', view))

    on = [i for i, checked in boxes.items() if checked] + ["wai-s"]
    saved = admin.client.post(
        "/admin/instruments", data={"csrf_token": admin.csrf, "instrument": on}
    )
    assert notice(admin, saved).startswith(
        "/admin/instruments | Saved the instruments offered: turned on wai-s. Now offered: "
    )
    form = clinician.get(f"/sessions/{world.sessions['c1']}/rate").text
    assert 'name="own_instrument" value="wai-s"' in form
    assert "?own=haq-ii" not in form  # still off
    nothing = admin.client.post("/admin/instruments", data={"csrf_token": admin.csrf})
    assert nothing.status_code == 422
    assert "Not saved — choose at least one instrument" in nothing.text
    with database.session() as db:
        org = db.scalar(select(Organization).where(Organization.id == world.orgs["A"]))
        assert org is not None and "wai-s" in org.enabled_instruments
