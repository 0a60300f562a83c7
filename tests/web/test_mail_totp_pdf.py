"""Links by e-mail through a real SMTP server on loopback, reminders, one-time codes at login,
and the PDF report."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
import sys
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from email.utils import parsedate_to_datetime

import pyotp
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.config import Settings
from alliance.store.base import utcnow
from alliance.store.models import Organization
from alliance.store.security import ClientLink
from alliance.web.app import create_app
from tests.fixtures.database import PASSWORD, Database, World
from tests.web.busy import busy_client
from tests.web.conftest import PageClient, login, post_login


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.probe: Callable[[], object] | None = None  # run while a message arrives
        self.probed: list[object] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.probe is not None:
            self.probed.append(self.probe())
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailing(
    settings: Settings, database: Database, world: World, smtp: tuple[Inbox, int]
) -> Iterator[tuple[PageClient, Inbox, Settings]]:
    inbox, port = smtp
    mail_settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "mail_from": "clinic@example.org"}
    )
    with TestClient(
        create_app(mail_settings, engine=database.engine), follow_redirects=False
    ) as client:
        page = login(client, "c1")
        page.client.put(
            f"/api/v1/clients/{world.clients['c1']}/contact",
            json={"email": "client@example.org"},
            headers={**world["c1"].headers},
        )
        yield page, inbox, mail_settings


def _link_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"http://testserver/f/[A-Za-z0-9_-]+", body.decode())
    assert match, body
    return match.group(0)


def test_link_sent_by_email(mailing: tuple[PageClient, Inbox, Settings], world: World) -> None:
    page, inbox, _ = mailing
    response = page.post(
        f"/sessions/{world.sessions['c1']}/links",
        {"instrument": "wai-sr", "how": "email", "client_id": world.clients["c1"]},
    )
    assert response.status_code == 303
    assert "sent to the client" in page.notice(response)
    [message] = inbox.messages
    assert message["To"] == "client@example.org"
    assert message["From"] == "clinic@example.org"
    assert "a few questions about your session" in message["Subject"]
    url = _link_in(message)
    form = page.client.get(url.removeprefix("http://testserver"))
    assert form.status_code == 200
    assert "Working Alliance Inventory" in form.text


def test_the_mail_goes_out_with_no_transaction_open(
    mailing: tuple[PageClient, Inbox, Settings], world: World, database: Database
) -> None:
    """While the mail server takes the message, the link is already committed and another
    connection can write: nothing waits on the mail server."""
    page, inbox, _ = mailing

    def probe() -> tuple[int, bool]:
        with database.engine.begin() as connection:  # a writer, from another connection
            visible = connection.scalar(
                select(func.count()).select_from(ClientLink).where(ClientLink.sent_to == "email")
            )
        return int(visible or 0), True

    inbox.probe = probe
    response = page.post(
        f"/sessions/{world.sessions['c1']}/links",
        {"instrument": "wai-sr", "how": "email", "client_id": world.clients["c1"]},
    )
    assert response.status_code == 303
    assert inbox.probed == [(1, True)]


def test_a_mail_that_cannot_be_sent_withdraws_its_link(
    settings: Settings, database: Database, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    closed = _free_port()  # nothing listens there
    with TestClient(
        create_app(
            settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": closed}),
            engine=database.engine,
        ),
        follow_redirects=False,
    ) as client:
        page = login(client, "c1")
        page.client.put(
            f"/api/v1/clients/{world.clients['c1']}/contact",
            json={"email": "client@example.org"},
            headers={**world["c1"].headers},
        )
        response = page.post(
            f"/sessions/{world.sessions['c1']}/links",
            {"instrument": "wai-sr", "how": "email", "client_id": world.clients["c1"]},
        )
    notice = response.headers["location"].replace("%20", " ")
    assert "the mail could not be sent" in notice and "the link was withdrawn" in notice
    with database.session() as db:
        [link] = db.scalars(select(ClientLink).where(ClientLink.sent_to == "email"))
        assert link.expires_at <= utcnow()
    [logged] = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert logged.levelname == "WARNING"
    assert (
        logged.getMessage() == f"mail for client link {link.id} not sent: ConnectionRefusedError "
    )
    assert "client@example.org" not in caplog.text and "C1-01" not in caplog.text


def test_no_address_no_mail(
    settings: Settings, database: Database, world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with TestClient(
        create_app(
            settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port}),
            engine=database.engine,
        ),
        follow_redirects=False,
    ) as client:
        page = login(client, "c1")
        response = page.post(
            f"/sessions/{world.sessions['c1']}/links",
            {"instrument": "wai-sr", "how": "email", "client_id": world.clients["c1"]},
        )
        assert "no e-mail address" in page.notice(response)
    assert inbox.messages == []


def test_reminder_for_an_unused_link(
    mailing: tuple[PageClient, Inbox, Settings], world: World, database: Database
) -> None:
    page, inbox, mail_settings = mailing
    page.post(
        f"/sessions/{world.sessions['c1']}/links",
        {"instrument": "wai-sr", "how": "email", "client_id": world.clients["c1"]},
    )
    first = _link_in(inbox.messages[0])
    with database.session() as db:
        db.execute(
            update(ClientLink).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=50))
        )
        db.commit()
    from alembic import command

    from alliance.store.migrate import alembic_config

    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    env = {
        "ALLIANCE_SMTP_HOST": "127.0.0.1",
        "ALLIANCE_SMTP_PORT": str(mail_settings.smtp_port),
        "ALLIANCE_MAIL_FROM": "clinic@example.org",
        "ALLIANCE_BASE_URL": "http://testserver",
    }
    result = CliRunner().invoke(cli, ["remind", "--database", database.url], env=env)
    assert result.exit_code == 0, result.stderr
    assert "Sent 1 reminder." in result.stdout
    assert len(inbox.messages) == 2
    first_mail, reminder = inbox.messages
    assert "reminder" not in first_mail["Subject"]
    assert reminder["Subject"] == "Clinic A: reminder: a few questions about your session"
    text = reminder.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert text.startswith("Hello,\n\na reminder: Clinic A asked a few days ago")
    assert "replaces the one in the earlier message" in text
    for message in inbox.messages:  # RFC 5322's Date and a Message-ID in the sender's domain
        sent = parsedate_to_datetime(message["Date"])
        assert abs(sent - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
        assert message["Message-ID"].endswith("@example.org>")
    assert first_mail["Message-ID"] != reminder["Message-ID"]
    second = _link_in(inbox.messages[1])
    assert second != first
    assert page.client.get(first.removeprefix("http://testserver")).status_code == 410
    assert page.client.get(second.removeprefix("http://testserver")).status_code == 200
    again = CliRunner().invoke(cli, ["remind", "--database", database.url], env=env)
    assert "Sent 0 reminders." in again.stdout  # one reminder only
    with database.session() as db:
        assert len(list(db.scalars(select(ClientLink)))) == 2


def test_a_link_of_several_measures_says_so_in_its_mail(
    mailing: tuple[PageClient, Inbox, Settings], world: World
) -> None:
    page, inbox, _ = mailing
    page.post(
        f"/sessions/{world.sessions['c1']}/links",
        {"instrument": "srs", "instrument_2": "phq-9", "how": "email",
         "client_id": world.clients["c1"]},
    )  # fmt: skip
    [mail] = inbox.messages
    text = mail.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Please answer 2 short questionnaires (a few minutes)" in text
    assert "about a minute" not in text


def test_one_time_codes_at_login(
    admin: PageClient, settings: Settings, database: Database, world: World
) -> None:
    account = admin.get("/account")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', account.text)
    assert secret and "<svg" in account.text
    assert 'name="password"' in account.text  # turning codes on asks for the password
    code = pyotp.TOTP(secret.group(1)).now()
    no_password = admin.post("/account/second-factor", {"secret": secret.group(1), "code": code})
    assert "not your password" in admin.notice(no_password)
    wrong = admin.post(
        "/account/second-factor",
        {"secret": secret.group(1), "code": "000000", "password": PASSWORD},
    )
    assert "does not match" in admin.notice(wrong)
    on = admin.post(
        "/account/second-factor", {"secret": secret.group(1), "code": code, "password": PASSWORD}
    )
    assert "One-time codes are on" in admin.notice(on)

    with TestClient(create_app(settings, engine=database.engine), follow_redirects=False) as client:
        step = post_login(client, username="a1", password=PASSWORD, next="/admin")
        assert step.headers["location"].startswith("/login/code")
        assert client.get("/admin").headers["location"].startswith("/login/code")
        assert client.get("/api/v1/me").status_code == 401
        bad = client.post("/login/code", data={"code": "123456", "next": "/admin"})
        assert bad.status_code == 401
        # the code that turned them on does not also open a login: the next one does
        totp = pyotp.TOTP(secret.group(1))
        later = totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        good = client.post("/login/code", data={"code": later, "next": "/admin"})
        assert good.headers["location"] == "/admin"
        assert client.get("/admin").status_code == 200


def test_pdf_report_has_the_code_on_every_page(
    clinician: PageClient, api: TestClient, world: World
) -> None:
    for n in range(1, 9):
        session = (
            world.sessions["c1"]
            if n == 1
            else api.post(
                f"/api/v1/episodes/{world.episodes['c1']}/sessions",
                headers=world["c1"].headers,
                json={"date": f"2026-09-{8 + n:02d}"},
            ).json()["id"]
        )
        api.post(
            f"/api/v1/sessions/{session}/administrations",
            headers=world["c1"].headers,
            json={
                "instrument": "wai-sr",
                "idempotency_key": f"p{n}",
                "answers": {f"item_{i}": 3 + n % 3 for i in range(1, 13)},
            },
        )
        api.post(
            f"/api/v1/sessions/{session}/administrations",
            headers=world["c1"].headers,
            json={
                "instrument": "phq-9",
                "idempotency_key": f"q{n}",
                "answers": {f"item_{i}": n % 3 for i in range(1, 10)},
            },
        )
    goal = api.post(
        f"/api/v1/episodes/{world.episodes['c1']}/goals", headers=world["c1"].headers,
        json={"description": "Sleep through", "target": "Five nights", "agreed_on": "2026-09-08"},
    ).json()["goal_id"]  # fmt: skip
    api.post(
        f"/api/v1/sessions/{world.sessions['c1']}/goal-ratings", headers=world["c1"].headers,
        json={"goal_id": goal, "value": 4},
    )  # fmt: skip
    response = clinician.get(f"/clients/{world.clients['c1']}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) >= 2
    text = " ".join(pages)
    assert "Goal 1: “Sleep through” (active)" in text and "Five nights" in text
    for number, text in enumerate(pages, start=1):
        assert "Client C1-01" in text
        assert f"Page {number} of {len(pages)}" in text
    whole = " ".join(pages)
    assert "WAI-SR total" in whole and "PHQ-9 total" in whole
    assert "Sessions" in whole


def test_pdf_report_shows_the_risk_history_first(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    """Every risk answer — date, question, answer — and its follow-up, before the alerts;
    the charts' legends and captions in the organization's words."""
    c1 = world["c1"].headers
    sessions = [world.sessions["c1"]] + [
        api.post(
            f"/api/v1/episodes/{world.episodes['c1']}/sessions",
            headers=c1,
            json={"date": f"2026-09-{8 + 7 * n:02d}"},
        ).json()["id"]
        for n in (1, 2)
    ]
    for n, (session, item_9) in enumerate(zip(sessions, (2, None, 3), strict=True)):
        answers = {f"item_{i}": 1 for i in range(1, 9)} | {"item_9": item_9}
        api.post(
            f"/api/v1/sessions/{session}/administrations",
            headers=c1,
            json={"instrument": "phq-9", "idempotency_key": f"q{n}", "answers": answers},
        )
    alerts = api.get("/api/v1/alerts", headers=c1).json()
    first = next(a for a in alerts if a["session_id"] == sessions[0])
    saved = api.post(
        f"/api/v1/alerts/{first['id']}/follow-up",
        headers=c1,
        json={
            "outcome": "safety_plan",
            "note": "Plan reviewed; sister informed.",
            "attempts": 1,
            "contacted_at": "2026-09-08T16:00:00+00:00",
            "resolve": True,
        },
    )
    assert saved.status_code == 201, saved.text
    with database.session() as db:
        db.execute(update(Organization).values(terms={"client": "patient", "clinician": "nurse"}))
        db.commit()
    response = clinician.get(f"/clients/{world.clients['c1']}/report.pdf")
    assert response.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Risk history" in text
    assert "Solid: the patient's own rating; dashed: the nurse's prediction of it." in text
    assert "the client's own rating" not in text
    assert text.index("Risk history") < text.index("Open alerts")
    assert (
        "2026-09-22 E1 · 3 PHQ-9 question 9 (thoughts of death or self-harm) 3 (Almost daily) open"
        in text
    )
    assert (
        "2026-09-15 E1 · 2 PHQ-9 question 9 (thoughts of death or self-harm) left empty open"
        in text
    )
    assert (
        "2026-09-08 E1 · 1 PHQ-9 question 9 (thoughts of death or self-harm) 2 (On most days)"
        in text
    )
    assert "Safety plan made or reviewed with the client — reached 2026-09-08 16:00 UTC" in text
    assert "Plan reviewed; sister informed." in text


def test_without_weasyprint_the_report_says_why_and_the_rest_works(
    clinician: PageClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine without Pango (so WeasyPrint cannot load) still serves every page; the PDF
    report answers 503 with what to install."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it now fails
    assert clinician.get(f"/clients/{world.clients['c1']}").status_code == 200
    response = clinician.get(f"/clients/{world.clients['c1']}/report.pdf")
    assert response.status_code == 503
    assert "Pango" in response.text and "apt-get install" in response.text


def test_pdf_report_groups_alerts_per_problem_as_the_page_does(
    clinician: PageClient, api: TestClient, world: World, database: Database
) -> None:
    busy_client(api, world, database)  # a drop flagged in sessions 4, 5 and 6, and others
    response = clinician.get(f"/clients/{world.clients['c1']}/report.pdf")
    assert response.status_code == 200
    whole = " ".join(
        " ".join((p.extract_text() or "").split())
        for p in PdfReader(io.BytesIO(response.content)).pages
    )
    alerts = whole.split("Open alerts")[1].split("Status")[0]
    title = "Drop from the client's usual level"
    assert f"high · {title} · WAI-SR total · 3 times, sessions 4–6 (open)" in alerts
    assert alerts.count(title) == 1  # one group, not three alerts
    counts = re.search(r"^ \((\d+)\) Grouped by problem: (\d+) groups, one per rule", alerts)
    assert counts and int(counts.group(2)) < int(counts.group(1))  # fewer entries than alerts
    earlier = alerts.split("The 2 earlier times:")[1]
    assert earlier.index("fell in session 5") < earlier.index("was 48 in session 4")
