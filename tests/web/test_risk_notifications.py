"""Risk alerts reach a person outside the app: e-mail through a real SMTP server on loopback
and a signed webhook to a real HTTP receiver, sent at once, escalated when left
unacknowledged, retried when they fail — and every step in the alert's history and the audit
trail, with no clinical content in the messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.config import Settings
from alliance.services.mail import SmtpMailer
from alliance.services.monitoring.dispatch import MAX_TRIES, Outbound, dispatch
from alliance.services.webhooks import HttpWebhookSender
from alliance.store.alerts import Alert, AlertEvent
from alliance.store.audit import AuditEvent
from alliance.store.base import utcnow
from alliance.store.models import User
from alliance.store.notifications import AlertNotification
from alliance.web.app import create_app
from tests.fixtures.database import Database, World
from tests.fixtures.servers import Inbox, Receiver, smtp_server, webhook_receiver

API = "/api/v1"
SECRET = "a-webhook-secret-of-some-length"
RISKY = {f"item_{i}": 0 for i in range(1, 10)} | {"item_9": 2}
CLINICAL_WORDS = ("item", "answered", "harm", "phq", "suicid", "risk item", "self")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def addresses(database: Database) -> None:
    with database.session() as db:
        for username in ("c1", "s1"):
            db.execute(
                update(User)
                .where(User.username == username)
                .values(email=f"{username}@clinic.example")
            )
        db.commit()


def route(api: TestClient, world: World, **settings: Any) -> dict[str, Any]:
    body = {"duty_email": "duty@clinic.example", "escalate_after_minutes": 30} | settings
    response = api.put(f"{API}/organization/risk-routing", headers=world["a1"].headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def mailing_api(
    settings: Settings, database: Database, smtp: tuple[Inbox, int]
) -> Iterator[TestClient]:
    _, port = smtp
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "mail_from": "alerts@clinic.example"}
    )
    with TestClient(create_app(configured, engine=database.engine)) as client:
        yield client


def submit_risk(api: TestClient, world: World, key: str = "risk") -> str:
    response = api.post(
        f"{API}/sessions/{world.sessions['c1']}/administrations",
        headers=world["c1"].headers,
        json={"instrument": "phq-9", "answers": RISKY, "idempotency_key": key},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["administration"]["id"])


def history(database: Database, alert_id: str) -> list[tuple[str, str | None]]:
    with database.session() as db:
        return [
            (e.action, e.note)
            for e in db.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
        ]


def the_alert(database: Database) -> Alert:
    with database.session() as db:
        alert = db.scalar(select(Alert).where(Alert.rule == "risk_item"))
        assert alert is not None
        return alert


def outbound(port: int) -> Outbound:
    mailer = SmtpMailer("127.0.0.1", port, "alerts@clinic.example", timeout=10)
    return Outbound(mailer, HttpWebhookSender(timeout=10), "http://testserver")


def test_an_urgent_alert_is_sent_out_of_the_app_at_once(
    mailing_api: TestClient,
    world: World,
    database: Database,
    smtp: tuple[Inbox, int],
    hook: Receiver,
) -> None:
    inbox, _ = smtp
    addresses(database)
    route(mailing_api, world, webhook_url=hook.url, webhook_secret=SECRET)
    submit_risk(mailing_api, world)  # the messages go out right after the response
    alert = the_alert(database)
    assert sorted(m["To"] for m in inbox.messages) == ["c1@clinic.example", "duty@clinic.example"]
    for message in inbox.messages:
        assert message["Subject"] == "Urgent alert for client C1-01"
        assert message["From"] == "alerts@clinic.example"
        body = message.get_payload(decode=True).decode()
        assert f"http://testserver/clients/{world.clients['c1']}" in body
        assert "client C1-01" in body
        assert not [w for w in CLINICAL_WORDS if w in body.casefold()], body
    [post] = hook.requests
    assert post.path == "/hooks/alliance"
    signature = hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Alliance-Signature"] == f"sha256={signature}"
    assert post.headers["X-Alliance-Event"] == "alert.raised"
    payload = json.loads(post.body)
    assert payload["event"] == "alert.raised"
    assert [(a["id"], a["client"], a["priority"]) for a in payload["alerts"]] == [
        (alert.id, "C1-01", "urgent")
    ]
    assert not [w for w in CLINICAL_WORDS if w in post.body.decode().casefold()]
    steps = history(database, alert.id)
    assert [a for a, _ in steps] == ["raised", "notified", "notified", "notified"]
    assert {n for _, n in steps[1:]} == {
        "E-mail to the clinician sent.",
        "E-mail to the duty address sent.",
        "Post to the webhook sent.",
    }
    with database.session() as db:
        audited = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "notify", AuditEvent.record_id == alert.id)
        )
        states = set(db.scalars(select(AlertNotification.state)))
    assert audited == 3
    assert states == {"sent"}
    page = mailing_api.get(f"{API}/alerts/{alert.id}/history", headers=world["c1"].headers)
    assert [h["action"] for h in page.json()] == ["raised", "notified", "notified", "notified"]


def test_an_unacknowledged_alert_is_escalated_after_the_set_time(
    api: TestClient, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    addresses(database)
    route(api, world, escalate_after_minutes=30)
    submit_risk(api, world)  # no mail server in this app: the messages wait in the outbox
    alert = the_alert(database)
    with database.session() as db:
        waiting = db.scalars(select(AlertNotification.state)).all()
    assert waiting == ["pending", "pending"]
    raised = alert.created_at
    with database.session() as db:
        early = dispatch(db, outbound(port), now=raised + dt.timedelta(minutes=29))
    assert (early.sent, early.escalated) == (2, 0)
    assert len(inbox.messages) == 2
    with database.session() as db:
        late = dispatch(db, outbound(port), now=raised + dt.timedelta(minutes=31))
    assert (late.escalated, late.sent) == (1, 2)
    escalations = [m for m in inbox.messages if m["Subject"].startswith("Not yet acknowledged")]
    assert sorted(m["To"] for m in escalations) == ["duty@clinic.example", "s1@clinic.example"]
    body = escalations[0].get_payload(decode=True).decode()
    assert "not been acknowledged" in body and "C1-01" in body
    steps = history(database, alert.id)
    escalated = [n for a, n in steps if a == "escalated"]
    assert escalated == [
        "Not acknowledged within 30 minutes; escalated to a supervisor, the duty address."
    ]
    assert "Escalation e-mail to a supervisor sent." in [n for _, n in steps]
    with database.session() as db:
        again = dispatch(db, outbound(port), now=raised + dt.timedelta(hours=5))
        audited = db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "escalate")
        )
    assert (again.escalated, again.sent) == (0, 0)  # escalated once
    assert audited == 1


def test_an_acknowledged_or_followed_up_alert_is_not_escalated(
    api: TestClient, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    _, port = smtp
    addresses(database)
    route(api, world)
    submit_risk(api, world, "first")
    alert = the_alert(database)
    acked = api.post(f"{API}/alerts/{alert.id}/acknowledge", headers=world["c1"].headers, json={})
    assert acked.status_code == 200
    with database.session() as db:
        done = dispatch(db, outbound(port), now=alert.created_at + dt.timedelta(days=1))
    assert done.escalated == 0
    assert "escalated" not in [a for a, _ in history(database, alert.id)]


def test_a_failed_send_is_retried_and_shown(
    api: TestClient,
    clinician: Any,
    world: World,
    database: Database,
    hook: Receiver,
) -> None:
    addresses(database)
    hook.statuses = [503]  # the webhook fails once
    route(api, world, duty_email=None, webhook_url=hook.url, webhook_secret=SECRET)
    submit_risk(api, world)  # the app posts at once: 503
    alert = the_alert(database)
    assert len(hook.requests) == 1
    with smtp_server(Inbox(refuse=1)) as (inbox, port):  # the mail server says 451 once
        now = utcnow()
        with database.session() as db:
            first = dispatch(db, outbound(port), now=now)
        assert (first.sent, first.failed) == (0, 1)
        assert inbox.messages == []
        failures = [n for a, n in history(database, alert.id) if a == "send_failed"]
        assert failures[0].startswith("Post to the webhook failed (HTTP 503); trying again at ")
        assert failures[1] == (
            "E-mail to the clinician failed (SMTPDataError); trying again at "
            f"{now + dt.timedelta(minutes=1):%Y-%m-%d %H:%M} UTC."
        )
        shown = clinician.get(f"/clients/{world.clients['c1']}").text
        assert shown.count("failed 1 time</strong>, next try") == 2
        with database.session() as db:
            too_soon = dispatch(db, outbound(port), now=now + dt.timedelta(seconds=30))
        assert too_soon.sent == 0  # retried when due, not before
        with database.session() as db:
            retried = dispatch(db, outbound(port), now=now + dt.timedelta(minutes=2))
        assert (retried.sent, retried.failed) == (2, 0)
        assert [m["To"] for m in inbox.messages] == ["c1@clinic.example"]
        assert len(hook.requests) == 2
    actions = [a for a, _ in history(database, alert.id)]
    assert actions.count("send_failed") == 2 and actions.count("notified") == 2
    with database.session() as db:
        failed_audit = db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "notify_failed")
        )
    assert failed_audit == 2
    shown = clinician.get(f"/clients/{world.clients['c1']}").text
    assert "failed 1 time" not in shown
    assert shown.count("Outside the app:") == 1 and "post to the webhook:" in shown


def test_a_message_that_keeps_failing_is_given_up_and_shown(
    api: TestClient, clinician: Any, world: World, database: Database
) -> None:
    addresses(database)
    route(api, world, duty_email=None)
    submit_risk(api, world)
    alert = the_alert(database)
    api.post(f"{API}/alerts/{alert.id}/acknowledge", headers=world["c1"].headers, json={})
    with smtp_server(Inbox(refuse=MAX_TRIES)) as (inbox, port):
        when = utcnow()
        for _ in range(MAX_TRIES):
            with database.session() as db:
                dispatch(db, outbound(port), now=when)
            when += dt.timedelta(hours=2)
        assert inbox.messages == []
    with database.session() as db:
        [row] = db.scalars(select(AlertNotification)).all()
    assert (row.state, row.attempts, row.last_error) == ("failed", MAX_TRIES, "SMTPDataError")
    last = history(database, alert.id)[-1]
    assert last == (
        "send_failed",
        f"E-mail to the clinician failed (SMTPDataError); given up after {MAX_TRIES} tries.",
    )
    assert "given up" in clinician.get(f"/clients/{world.clients['c1']}").text
    routing = api.get(f"{API}/organization/risk-routing", headers=world["a1"].headers).json()
    assert routing["failed"] == 1


def test_one_sender_claims_a_message_so_two_do_not_send_it_twice(
    api: TestClient, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    from alliance.services.monitoring.dispatch import _claim

    inbox, port = smtp
    addresses(database)
    route(api, world, duty_email=None)
    submit_risk(api, world)
    with database.session() as first:
        claimed = _claim(first, ["email"], now=utcnow())  # a sender that has not sent yet
    assert len(claimed) == 1
    with database.session() as db:
        second = dispatch(db, outbound(port))
    assert second.sent == 0 and inbox.messages == []  # the lease holds it
    with database.session() as db:
        later = dispatch(db, outbound(port), now=utcnow() + dt.timedelta(minutes=3))
    assert later.sent == 1  # a lease that was never finished runs out, and it is sent


def test_with_no_one_to_tell_the_history_says_so(
    api: TestClient, world: World, database: Database
) -> None:
    submit_risk(api, world)  # no clinician e-mail, no duty address, no webhook
    alert = the_alert(database)
    assert history(database, alert.id)[1] == (
        "not_sent",
        "Not sent out of the app: no clinician's e-mail, duty address or webhook is set.",
    )


def test_the_cron_command_sends_and_escalates(
    api: TestClient, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    addresses(database)
    route(api, world, escalate_after_minutes=30)
    submit_risk(api, world)
    with database.session() as db:  # raised an hour ago, never acknowledged
        db.execute(update(Alert).values(created_at=utcnow() - dt.timedelta(hours=1)))
        db.commit()
    from alembic import command

    from alliance.store.migrate import alembic_config

    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    result = CliRunner().invoke(
        cli,
        ["alerts", "dispatch", "--database", database.url],
        env={"ALLIANCE_SMTP_HOST": "127.0.0.1", "ALLIANCE_SMTP_PORT": str(port)},
    )
    assert result.exit_code == 0, result.output
    assert "Sent 4, failed 0" in result.output and "escalated 1" in result.output
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects == [
        "Not yet acknowledged: Urgent alert for client C1-01",
        "Not yet acknowledged: Urgent alert for client C1-01",
        "Urgent alert for client C1-01",
        "Urgent alert for client C1-01",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duty_email": "not an address"}, "duty_email"),
        ({"escalate_after_minutes": 2}, "escalate_after_minutes"),
        ({"webhook_url": "ftp://pager.example"}, "webhook_url"),
        ({"webhook_url": "https://pager.example/hook"}, "webhook_secret"),
        (
            {"webhook_url": "https://pager.example/hook", "webhook_secret": "short"},
            "webhook_secret",
        ),
    ],
)
def test_risk_routing_is_checked(
    api: TestClient, world: World, body: dict[str, Any], field: str
) -> None:
    response = api.put(
        f"{API}/organization/risk-routing",
        headers=world["a1"].headers,
        json={"escalate_after_minutes": 60} | body,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_only_an_admin_sets_risk_routing_and_the_secret_is_never_shown(
    api: TestClient, world: World
) -> None:
    for who in ("c1", "s1", "r1"):
        denied = api.get(f"{API}/organization/risk-routing", headers=world[who].headers)
        assert denied.status_code == 403
    shown = route(api, world, webhook_url="https://pager.example/hook", webhook_secret=SECRET)
    assert shown["webhook_secret_set"] is True and SECRET not in json.dumps(shown)
    kept = route(api, world, webhook_url="https://pager.example/hook")  # no secret: kept
    assert kept["webhook_secret_set"] is True
    other = api.get(f"{API}/organization/risk-routing", headers=world["ba"].headers).json()
    assert other["duty_email"] is None  # another organization's own setting


def _link_form(client: TestClient, world: World, answers: dict[str, str]) -> str:
    made = client.post(
        f"{API}/sessions/{world.sessions['c1']}/links",
        headers=world["c1"].headers,
        json={"instrument": "phq-9"},
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    form = client.get(f"/f/{token}").text
    key = re.search(r'name="form_key" value="([^"]+)"', form)
    assert key
    done = client.post(f"/f/{token}", data={**answers, "form_key": key.group(1)})
    assert done.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", done.text).split())


FORM_RISK = {f"item_{i}": "0" for i in range(1, 10)} | {"item_9": "2", "item_10": "0"}


def test_a_form_from_a_link_reaches_a_person_and_the_receipt_says_so(
    mailing_api: TestClient, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    """After hours, from a link: the clinician and the duty address get the alert at once,
    and the client reads that it was sent (not that someone will call) and whom to call."""
    inbox, _ = smtp
    addresses(database)
    route(mailing_api, world, crisis_contacts="Out-of-hours line: 0100 000 000 (example)")
    receipt = _link_form(mailing_api, world, FORM_RISK)
    assert "An alert about your answer is being sent to the team at Clinic A now" in receipt
    assert "may not see it straight away" in receipt
    assert "Out-of-hours line: 0100 000 000 (example)" in receipt
    assert "will contact you soon" not in receipt
    assert sorted(m["To"] for m in inbox.messages) == ["c1@clinic.example", "duty@clinic.example"]


def test_without_anyone_to_tell_the_receipt_says_when_it_will_be_seen(
    api: TestClient, world: World, database: Database
) -> None:
    """No mail server and no contacts set: the receipt promises nothing it cannot keep and
    shows a clear placeholder for the crisis contacts."""
    addresses(database)
    route(api, world)
    receipt = _link_form(api, world, FORM_RISK)
    assert "c1 will see your answers the next time they open this service" in receipt
    assert "which may not be today" in receipt
    assert "being sent" not in receipt
    assert "Clinic A has not added its crisis contacts here yet." in receipt
    assert "call your local emergency number" in receipt


def test_a_skipped_risk_question_gets_the_crisis_contacts_and_a_same_day_ask(
    api: TestClient, world: World, database: Database
) -> None:
    route(api, world, crisis_contacts="Crisis line: 0100 111 111 (example)")
    skipped = FORM_RISK | {"item_9": "", "send_anyway": "1"}
    receipt = _link_form(api, world, skipped)
    assert "left the question about thoughts of harming yourself unanswered" in receipt
    assert "Crisis line: 0100 111 111 (example)" in receipt
    with database.session() as db:
        alert = db.scalar(select(Alert).where(Alert.rule == "risk_unanswered"))
        assert alert is not None
    assert "the same day" in alert.next_steps[0]
    assert "next contact" not in " ".join(alert.next_steps)


def test_a_served_worker_sends_what_is_owed_on_its_own(
    api: TestClient, settings: Settings, world: World, database: Database, smtp: tuple[Inbox, int]
) -> None:
    """Messages left in the outbox (here: raised while no mail server was set up) go out at
    the worker's next tick, with no request to trigger them."""
    from alliance.web.clinic import AlertTicker, Clinic

    inbox, port = smtp
    addresses(database)
    route(api, world, duty_email=None)
    submit_risk(api, world)
    assert inbox.messages == []
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    clinic = Clinic.from_settings(configured, database.engine)
    ticker = AlertTicker(clinic, 0.05)
    ticker.start()
    try:
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ticker.stop()
    assert [m["To"] for m in inbox.messages] == ["c1@clinic.example"]
    assert ticker.ticks >= 1


def test_the_admin_sets_who_is_told_on_the_admin_page(admin: Any, world: World) -> None:
    page = admin.get("/admin/risk-routing").text
    assert "No mail server is set up" in page  # said plainly: nobody outside is told
    saved = admin.post(
        "/admin/risk-routing",
        {
            "duty_email": "duty@clinic.example",
            "escalate_after_minutes": "45",
            "webhook_url": "https://pager.example/hook",
            "webhook_secret": SECRET,
            "crisis_contacts": "Crisis line: 0100 111 111 (example)",
        },
    )
    assert saved.headers["location"].startswith("/admin/risk-routing?notice=saved")
    assert admin.notice(saved) == (
        "Saved who is told about risk alerts: duty address duty@clinic.example; escalation "
        "after 45 minutes; webhook https://pager.example/hook (new secret); crisis contacts: "
        "1 line."
    )
    page = admin.get("/admin/risk-routing").text
    assert 'value="duty@clinic.example"' in page and 'value="45"' in page
    assert "one is set: leave empty to keep it" in page and SECRET not in page
    assert "Crisis line: 0100 111 111 (example)" in page
    refused = admin.post(
        "/admin/risk-routing", {"escalate_after_minutes": "soon", "duty_email": ""}
    )
    assert refused.status_code == 422  # the section again, with the refusal at its field
    assert (
        '<a href="#escalate-after">Not saved — escalate_after_minutes: not a whole number of '
        "minutes; allowed: 5 … 1440</a>" in refused.text
    )
    assert 'value="soon"' in refused.text  # what was sent stays in the form
