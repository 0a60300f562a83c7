"""The demo clinic shows each clinician the prediction gaps the simulator gave them, and goals."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from alliance.cli import app as cli
from alliance.cli.clinic import lan_address, phone_hint, public_address
from alliance.config import Settings
from alliance.demo import PASSWORD, seed
from alliance.instruments.registry import Registry
from alliance.services.context import Actor
from alliance.services.monitoring.calibration import calibration_for
from alliance.simulate import simulate_clinic
from alliance.store.alerts import Alert as AlertRow
from alliance.store.engine import make_engine, session_factory
from alliance.store.models import Administration, Goal, GoalRating, User
from alliance.store.models import Session as SessionRow
from alliance.store.security import ClientLink
from alliance.web.app import create_app
from tests.fixtures.database import Database
from tests.web.conftest import post_login

TODAY = dt.date(2026, 11, 20)


@pytest.mark.slow
def test_demo_calibration_shows_the_simulated_prediction_bias(
    database: Database, registry: Registry, settings: Settings
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the demo runs on SQLite; the service tests cover PostgreSQL")
    seed(database.session, registry, base_url="http://demo.test", today=TODAY)
    defaults = inspect.signature(seed).parameters
    sim = simulate_clinic(
        seed=defaults["seed_value"].default,
        n_clinicians=defaults["n_clinicians"].default,
        n_clients=defaults["n_clients"].default,
    )
    sessions = sim.sessions[sim.sessions["client_rated"] & sim.sessions["clinician_rated"]]
    covered = {}
    with database.session() as db:
        for j, clinician in enumerate(sim.clinicians.itertuples(), start=1):
            user = db.scalar(select(User).where(User.username == f"clinician{j}"))
            assert user is not None
            view = calibration_for(
                db, Actor.system(user.organization_id), registry, user_id=user.id
            )
            c = view.calibration
            assert c is not None
            # exactly the gaps the simulator generated for this clinician's clients …
            truth = sessions[sessions["clinician"] == clinician.clinician]
            assert c.n == len(truth)
            assert c.error.clusters == truth["client"].nunique()
            gap = truth["prediction"] - truth["alliance"]
            assert c.error.mean == pytest.approx(gap.mean())
            assert c.direction == "over"
            # … which sit close to the bias it was given; the ceiling of 60 caps the largest
            # overestimates and unnoticed ruptures add to them, so they are not equal
            assert abs(c.error.mean - clinician.prediction_bias) < 1.5
            assert c.error.low is not None and c.error.high is not None
            covered[j] = c.error.low <= clinician.prediction_bias <= c.error.high
        db.rollback()
    assert covered[1] and covered[2]  # the two clinicians the README shows
    with database.session() as db:  # issue 17: goals agreed, one renegotiated, goal alerts
        changes = dict(db.execute(select(Goal.change, func.count()).group_by(Goal.change)).all())
        assert changes["agreed"] >= 50 and changes["revised"] == 1
        assert db.scalar(select(func.count()).select_from(GoalRating)) > 500
        open_rules = set(db.scalars(select(AlertRow.rule).where(AlertRow.state == "open")))
        assert {"goal_disagreement", "goal_stall"} <= open_rules

    app = create_app(settings, engine=database.engine)
    with TestClient(app, follow_redirects=False) as client:
        post_login(client, username="clinician1", password=PASSWORD)
        page = client.get("/learn/calibration").text
    first = sessions[sessions["clinician"] == sim.clinicians["clinician"].iloc[0]]
    shown = re.search(r'<dd id="fig-mean-error">([^<]+)</dd>', page)
    assert shown
    mean = (first["prediction"] - first["alliance"]).mean()
    assert shown.group(1).startswith(f"{mean:+.1f} points (95% interval +")


@pytest.mark.slow
def test_demo_command_prints_its_logins_and_a_whole_form_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`alliance demo --no-serve`, as the README's first command runs it (without serving):
    a fresh database file, every login, and a client's form link on one line even when the
    output is not a terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--port", "8123"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "alliance-demo.sqlite3").exists()
    for login in ("clinician1", "clinician6", "supervisor1", "admin", "researcher"):
        assert re.search(rf"^  {login} ", result.stdout, re.MULTILINE), login
    assert "(database sqlite:///alliance-demo.sqlite3)" in result.stdout
    # not served: nothing to open yet, but how to serve it and what a phone needs
    assert "alliance demo — open" not in result.stdout
    assert "alliance serve --database sqlite:///alliance-demo.sqlite3" in result.stdout
    assert "--host 0.0.0.0" in result.stdout
    assert f"http://{lan_address()}:8123/" in result.stdout
    link = re.search(
        r"as a phone would open it: (http://127\.0\.0\.1:8123/f/\S+)$", result.stdout, re.MULTILINE
    )
    assert link is not None, result.stdout
    # the link asks about a new session of today, which nobody has rated yet
    engine = make_engine(f"sqlite:///{tmp_path / 'alliance-demo.sqlite3'}")
    with session_factory(engine)() as db:
        link_row = db.scalar(select(ClientLink).where(ClientLink.sent_to == "qr"))
        assert link_row is not None
        session = db.get(SessionRow, link_row.session_id)
        assert session is not None and session.date == dt.date.today()
        rated = db.scalars(select(Administration).where(Administration.session_id == session.id))
        assert list(rated) == []
    engine.dispose()


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("::1", 80, "http://[::1]:80"),
        ("clinic.local", 8000, "http://clinic.local:8000"),
    ],
)
def test_links_carry_the_address_served_on(host: str, port: int, expected: str) -> None:
    assert public_address(host, port) == expected


def test_a_wildcard_address_becomes_the_machines_name() -> None:
    """Links printed or mailed for a server on 0.0.0.0 must open on a phone."""
    address = public_address("0.0.0.0", 8000)
    assert "0.0.0.0" not in address and address.endswith(":8000")


def test_a_phone_hint_only_for_links_to_this_machines_loopback() -> None:
    """Issue 16: links to 127.0.0.1 open nothing on a phone; the hint says what does."""
    hint = phone_hint("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert hint is not None
    assert "--host 0.0.0.0" in hint and f"http://{lan_address()}:8000/" in hint
    assert phone_hint("0.0.0.0", 8000, public_address("0.0.0.0", 8000)) is None
    assert phone_hint("127.0.0.1", 8000, "https://clinic.example.org") is None
