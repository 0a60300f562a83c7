"""The organization's words on every surface (the client's form, chart legends, errors),
notices only from a fixed set of keys, and languages from the site's list (issue 16, item 6)."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from alliance.config import Settings
from alliance.languages import name, offered, parse_list, standard_tag
from alliance.services.monitoring.overview import Overview, Point, Series
from alliance.store.models import Client
from alliance.web.pages import notices
from alliance.web.pages.charts import client_charts
from alliance.web.pages.common import Terms, redirect
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient, login, make_app
from tests.web.test_client_form import new_link

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])  # pages: one backend is enough


def notice_on(page: PageClient, path: str) -> str:
    shown = re.search(r'<p class="notice" role="status">(.*?)</p>', page.get(path).text, re.S)
    return html.unescape(shown.group(1)) if shown else ""


@SQLITE
def test_a_notice_is_shown_only_from_its_key(
    clinician: PageClient, admin: PageClient, world: World
) -> None:
    forged = quote("Your account is suspended. Call IT on 0100 000 000.")
    for who, path in (
        (clinician, "/caseload"),
        (clinician, f"/clients/{world.clients['c1']}"),
        (clinician, f"/sessions/{world.sessions['c1']}/rate"),
        (clinician, "/account"),
        (clinician, "/learn"),
        (admin, "/admin"),
    ):
        shown = who.get(f"{path}?notice={forged}")
        assert shown.status_code == 200, path
        assert "suspended" not in shown.text, path
    assert notice_on(clinician, "/caseload?notice=suspended") == ""
    assert notice_on(clinician, "/caseload?notice=link_mailed") == (
        "The link was sent to the client's e-mail address."
    )
    assert notice_on(clinician, "/caseload?notice=session_recorded&n=3") == (
        "Session 3 recorded. Add your rating below."
    )
    assert notice_on(clinician, "/caseload?notice=session_recorded&n=3%20Call%20IT") == ""
    # a detail shows only when signed for this login: not unsigned, nor signed for another
    assert notice_on(clinician, f"/caseload?notice=saved&detail={forged}") == ""
    other = notices.query("saved", detail="Call IT", secret=admin.csrf)
    assert notice_on(clinician, f"/caseload?{other}") == ""
    own = notices.query("saved", detail="Call IT", secret=clinician.csrf)
    assert notice_on(clinician, f"/caseload?{own}") == "Call IT"


def test_a_notice_goes_before_the_fragment() -> None:
    location = redirect("/admin#rules", notice="codes_off").headers["location"]
    assert location == "/admin?notice=codes_off#rules"
    with pytest.raises(KeyError):
        redirect("/admin", notice="Saved the alert rules.")  # text is not a key


@SQLITE
def test_the_client_form_speaks_the_organizations_words(
    admin: PageClient, clinician: PageClient, pages: TestClient, api: TestClient, world: World
) -> None:
    assert admin.post("/admin/terms", {"client": "patient", "clinician": "nurse"}).status_code == (
        303
    )
    form = pages.get(f"/f/{new_link(api, world)}").text
    assert "Feeling liked by the nurse" in form
    assert "the work with this nurse so far" in form
    assert "Short Revised (patient)" in form
    assert "your patient record" in form
    assert not re.search(r"[Cc]linician|\(client\)", form)
    # errors in the same words
    refused = clinician.post("/clients", {"code": "no spaces please"})
    assert "a patient code is 1–64 letters" in clinician.notice(refused)


def test_chart_legends_speak_the_organizations_words() -> None:
    def series(stance: str) -> Series:
        return Series(
            "wai-sr", "total", "client", stance, "WAI-SR", "alliance", "better", 12, 60,
            [Point(1, None, 40.0), Point(2, None, 44.0)],
        )  # fmt: skip

    view = Overview(None, [series("self"), series("prediction")], None, 2)  # type: ignore[arg-type]
    [chart] = client_charts(view, terms=Terms("patient", "nurse"))
    assert chart.headers[:3] == ["Session", "patient", "nurse's prediction"]
    assert ">nurse" in chart.svg and "clinician" not in chart.svg  # the legend
    assert "the patient's own rating; dashed: the nurse's prediction" in chart.caption
    [plain] = client_charts(view)
    assert plain.headers[:3] == ["Session", "client", "clinician's prediction"]


def test_language_tags_from_the_sites_list() -> None:
    assert standard_tag("EN-gb") == "en-GB"
    for bad in ("klingon", "", "en_GB!"):
        with pytest.raises(ValueError, match="is not a BCP 47 language tag"):
            standard_tag(bad)
    assert parse_list("en, NL ,en,pt-br") == ("en", "nl", "pt-BR")
    assert offered(["en", "nl"], ["de", "nl"]) == ("en", "nl", "de")
    assert name("nl-BE") == "Nederlands (nl-BE)" and name("tlh") == "tlh"
    with pytest.raises(ValidationError, match="klingon"):
        Settings(languages="en,klingon")


@SQLITE
def test_a_client_language_is_one_the_site_offers(
    settings: Settings, database: Database, world: World, api: TestClient
) -> None:
    with TestClient(
        make_app(settings.model_copy(update={"languages": "en,nl"}), database),
        follow_redirects=False,
    ) as client:
        page = login(client, "c1")
        caseload = page.get("/caseload").text
        assert '<select id="language" name="language">' in caseload
        assert '<option value="nl" lang="nl">Nederlands (nl)</option>' in caseload
        refused = page.post("/clients", {"code": "L1", "language": "klingon"})
        assert "'klingon' is not a BCP 47 language tag" in page.notice(refused)
        not_offered = page.post("/clients", {"code": "L1", "language": "de"})
        assert "de is not one of the languages this site offers" in page.notice(not_offered)
        assert page.post("/clients", {"code": "L1", "language": "NL"}).status_code == 303
        by_api = client.post(
            "/api/v1/clients",
            headers=world["c1"].headers,
            json={"code": "L2", "language": "klingon"},
        )
        assert by_api.status_code == 422 and "klingon" in by_api.text
    with database.session() as db:
        assert db.scalar(select(Client.language).where(Client.code == "L1")) == "nl"
        assert db.scalar(select(Client.id).where(Client.code == "L2")) is None
