"""Alembic is the only source of DDL: upgrade from empty to head, back down, and no drift
between the migrations and the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, insert, inspect, select, table, text
from sqlalchemy.exc import IntegrityError

from alliance.store import migrate
from alliance.store.audit import CHAINS, GENESIS, AuditHead
from alliance.store.base import Base, utcnow
from tests.fixtures.database import Database

TABLES = {
    "organizations",
    "teams",
    "users",
    "clients",
    "client_contacts",
    "episodes",
    "sessions",
    "administrations",
    "scores",
    "rupture_reports",
    "alerts",
    "alert_events",
    "audit_events",
    "audit_head",
    "login_sessions",
    "api_tokens",
    "login_attempts",
    "client_links",
    "quiz_results",
    "risk_follow_ups",
    "risk_routing",
    "alert_notifications",
    "studies",
}


def test_upgrade_to_head_and_back_down(empty_database: Database) -> None:
    engine = empty_database.engine
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        heads = connection.execute(select(AuditHead.__table__).order_by("id")).all()
    assert [(h.id, h.last_seq, h.last_hash) for h in heads] == [
        (chain, 0, GENESIS) for chain in range(CHAINS)
    ]

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())

    migrate.upgrade(engine)  # and up again
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_models_and_migrations_agree(empty_database: Database) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_0002_adds_quiz_results_and_the_supervisor_setting_and_removes_them(
    empty_database: Database,
) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine, "0001")
    organizations = Base.metadata.tables["organizations"]
    as_in_0001 = table(
        "organizations", *(column(c.name, c.type) for c in organizations.columns
                           if c.name != "supervisors_see_calibration")
    )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            insert(as_in_0001).values(
                id="org-1", name="Before 0002", terms={}, feedback_config={},
                enabled_instruments=[], created_at=utcnow(),
            )
        )  # fmt: skip
    assert "quiz_results" not in inspect(engine).get_table_names()

    migrate.upgrade(engine, "0002")
    assert "quiz_results" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        flag = connection.execute(
            select(organizations.c.supervisors_see_calibration).where(organizations.c.id == "org-1")
        ).scalar_one()
    assert flag is False  # existing organizations keep calibration private to each clinician

    migrate.downgrade(engine, "0001")
    assert "quiz_results" not in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("organizations")}
    assert "supervisors_see_calibration" not in columns
    with engine.connect() as connection:
        names = connection.execute(select(organizations.c.name)).scalars().all()
    assert names == ["Before 0002"]  # the downgrade kept the organization


def test_0003_stores_long_alert_provenance_and_downgrades(empty_database: Database) -> None:
    """An alert's sources may run past 200 characters (the CORE-10 risk item's do); before
    0003 PostgreSQL refused such an alert, so the risk answer could not be stored."""
    engine = empty_database.engine
    migrate.upgrade(engine, "0003")
    long = "published: " + "a source, " * 40
    rows = {
        "organizations": "INSERT INTO organizations (id, name, terms, feedback_config, "
        "enabled_instruments, created_at) VALUES ('o', 'O', '{}', '{}', '[]', '2026-01-01')",
        "users": "INSERT INTO users (id, organization_id, username, display_name, role, active, "
        "created_at) VALUES ('u', 'o', 'u', 'U', 'clinician', true, '2026-01-01')",
        "clients": "INSERT INTO clients (id, organization_id, code, clinician_id, language, "
        "created_at) VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "alerts": "INSERT INTO alerts (id, organization_id, client_id, key, rule, priority, "
        "reason, next_steps, numbers, provenance, state, created_at, updated_at) VALUES "
        "('a', 'o', 'c', 'k', 'risk_item', 'urgent', 'r', '[]', '{}', :long, 'open', "
        "'2026-01-01', '2026-01-01')",
    }
    with engine.begin() as connection:
        for statement in rows.values():
            connection.execute(text(statement), {"long": long})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT provenance FROM alerts")).scalar() == long
    migrate.downgrade(engine, "0002")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT provenance FROM alerts")).scalar()
    expected = long if empty_database.backend == "sqlite" else long[:200]
    assert kept == expected
    migrate.upgrade(engine, "0003")
    assert migrate.current_revision(engine) == "0003"


def test_0004_adds_risk_follow_ups_and_removes_them(empty_database: Database) -> None:
    """An alert raised before 0004 can be followed up after it; a downgrade drops the
    follow-ups and keeps the alert."""
    engine = empty_database.engine
    migrate.upgrade(engine, "0003")
    statements = [
        "INSERT INTO organizations (id, name, terms, feedback_config, enabled_instruments, "
        "supervisors_see_calibration, created_at) VALUES ('o', 'O', '{}', '{}', '[]', false, "
        "'2026-01-01')",
        "INSERT INTO users (id, organization_id, username, display_name, role, active, "
        "created_at) VALUES ('u', 'o', 'u', 'U', 'clinician', true, '2026-01-01')",
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "INSERT INTO alerts (id, organization_id, client_id, key, rule, priority, reason, "
        "next_steps, numbers, provenance, state, created_at, updated_at) VALUES ('a', 'o', "
        "'c', 'k', 'risk_item', 'urgent', 'r', '[]', '{}', 'p', 'open', '2026-01-01', "
        "'2026-01-01')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    migrate.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO risk_follow_ups (id, alert_id, user_id, contacted_at, attempts, "
                "outcome, note, created_at) VALUES ('f', 'a', 'u', '2026-01-01', 2, "
                "'safety_plan', 'n', '2026-01-01')"
            )
        )
    with engine.connect() as connection:
        outcome = connection.execute(text("SELECT outcome FROM risk_follow_ups")).scalar()
    assert outcome == "safety_plan"
    migrate.downgrade(engine, "0003")
    assert "risk_follow_ups" not in set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM alerts")).scalars().all() == ["a"]


def test_0005_remembers_the_last_one_time_code_and_downgrades_keeping_users(
    empty_database: Database,
) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, terms, feedback_config, "
                "enabled_instruments, created_at) VALUES ('o', 'O', '{}', '{}', '[]', "
                "'2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, organization_id, username, display_name, role, active, "
                "created_at, totp_last_step) VALUES ('u', 'o', 'u', 'U', 'clinician', true, "
                "'2026-01-01', 59000000)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clients (id, organization_id, code, clinician_id, language, "
                "created_at) VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')"
            )
        )
    migrate.downgrade(engine, "0004")
    columns = {c["name"] for c in inspect(engine).get_columns("users")}
    assert "totp_last_step" not in columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM users")).scalars().all() == ["u"]
    migrate.upgrade(engine, "0005")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT totp_last_step FROM users")).scalar() is None


def test_0006_adds_risk_routing_and_the_outbox_and_removes_them(empty_database: Database) -> None:
    engine = empty_database.engine
    migrate.upgrade(engine, "0005")
    statements = [
        "INSERT INTO organizations (id, name, terms, feedback_config, enabled_instruments, "
        "supervisors_see_calibration, created_at) VALUES ('o', 'O', '{}', '{}', '[]', false, "
        "'2026-01-01')",
        "INSERT INTO users (id, organization_id, username, display_name, role, active, "
        "created_at) VALUES ('u', 'o', 'u', 'U', 'clinician', true, '2026-01-01')",
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "INSERT INTO alerts (id, organization_id, client_id, key, rule, priority, reason, "
        "next_steps, numbers, provenance, state, created_at, updated_at) VALUES ('a', 'o', "
        "'c', 'k', 'risk_item', 'urgent', 'r', '[]', '{}', 'p', 'open', '2026-01-01', "
        "'2026-01-01')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    migrate.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alerts SET escalated_at = '2026-01-02' WHERE id = 'a'"))
        connection.execute(
            text(
                "INSERT INTO risk_routing (organization_id, duty_email, escalate_after_minutes, "
                "updated_at) VALUES ('o', 'duty@example.org', 30, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO alert_notifications (alert_id, kind, channel, role, recipient, "
                "state, attempts, next_attempt_at, created_at) VALUES ('a', 'raised', 'email', "
                "'duty', 'duty@example.org', 'pending', 0, '2026-01-01', '2026-01-01')"
            )
        )
    with engine.connect() as connection:
        state = connection.execute(text("SELECT state FROM alert_notifications")).scalar()
    assert state == "pending"
    migrate.downgrade(engine, "0005")
    tables = set(inspect(engine).get_table_names())
    assert not {"risk_routing", "alert_notifications"} & tables
    assert "escalated_at" not in {c["name"] for c in inspect(engine).get_columns("alerts")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM alerts")).scalars().all() == ["a"]


def test_0008_lets_two_clinicians_use_one_client_code_and_downgrades_when_none_do(
    empty_database: Database,
) -> None:
    """0008 rebuilds ``clients`` on SQLite while episodes point at its rows: the rows and the
    foreign keys survive; a second clinician may then use a code, and the downgrade refuses
    until no code is shared."""
    engine = empty_database.engine
    migrate.upgrade(engine, "0006")
    statements = [
        "INSERT INTO organizations (id, name, terms, feedback_config, enabled_instruments, "
        "supervisors_see_calibration, created_at) VALUES ('o', 'O', '{}', '{}', '[]', false, "
        "'2026-01-01')",
        "INSERT INTO users (id, organization_id, username, display_name, role, active, "
        "created_at) VALUES ('u', 'o', 'u', 'U', 'clinician', true, '2026-01-01'), "
        "('v', 'o', 'v', 'V', 'clinician', true, '2026-01-01')",
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "INSERT INTO episodes (id, client_id, clinician_id, started_on, created_at) VALUES "
        "('e', 'c', 'u', '2026-01-01', '2026-01-01')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    migrate.upgrade(engine, "0008")
    second = (
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('d', 'o', 'C', 'v', 'en', '2026-01-01')"
    )
    with engine.begin() as connection:
        connection.execute(text(second))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT client_id FROM episodes")).scalar() == "c"
    with pytest.raises(RuntimeError, match="share the code 'C'"):
        migrate.downgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM clients WHERE id = 'd'"))
    migrate.downgrade(engine, "0006")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(second))
    migrate.upgrade(engine)
    if empty_database.backend == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


BEFORE_0014 = "0013"


def _rating(
    name: str, form: tuple[str, str, str], by: str | None, at: str, supersedes: str | None = None
) -> str:
    instrument, perspective, stance = form
    who = f"'{by}'" if by else "NULL"
    replaced = f"'{supersedes}'" if supersedes else "NULL"
    return (
        "INSERT INTO administrations (id, organization_id, session_id, instrument, version, "
        "perspective, stance, answers, licensed_wording, source, entered_by, entered_at, "
        f"idempotency_key, supersedes_id) VALUES ('{name}', 'o', 's', '{instrument}', '1.0', "
        f"'{perspective}', '{stance}', '{{}}', false, 'api', {who}, '{at}', 'k-{name}', "
        f"{replaced})"
    )


def test_0014_resolves_duplicate_ratings_keeping_the_latest_and_indexes_current_ones(
    empty_database: Database,
) -> None:
    """A database from before 0014 holding two and three current ratings of one session and
    form: the latest entered stays current, the earlier ones are marked superseded and
    linked into the history (nothing is deleted), the count is reported, and the unique
    index then refuses a second current rating."""
    engine = empty_database.engine
    migrate.upgrade(engine, BEFORE_0014)
    statements = [
        "INSERT INTO organizations (id, name, terms, feedback_config, enabled_instruments, "
        "supervisors_see_calibration, created_at) VALUES ('o', 'O', '{}', '{}', '[]', false, "
        "'2026-01-01')",
        *(
            "INSERT INTO users (id, organization_id, username, display_name, role, active, "
            f"created_at) VALUES ('{u}', 'o', '{u}', 'U', 'clinician', true, '2026-01-01')"
            for u in ("u", "v")
        ),
        "INSERT INTO clients (id, organization_id, code, clinician_id, language, created_at) "
        "VALUES ('c', 'o', 'C', 'u', 'en', '2026-01-01')",
        "INSERT INTO episodes (id, client_id, clinician_id, started_on, created_at) VALUES "
        "('e', 'c', 'u', '2026-01-01', '2026-01-01')",
        "INSERT INTO sessions (id, episode_id, number, date, attended, created_at) VALUES "
        "('s', 'e', 1, '2026-01-01', true, '2026-01-01')",
        # the client's rating three times (by link, then entered twice): a3 stays
        _rating("a3", ("wai-sr", "client", "self"), "u", "2026-01-03 10:00:00"),
        _rating("a1", ("wai-sr", "client", "self"), None, "2026-01-01 10:00:00"),
        _rating("a2", ("wai-sr", "client", "self"), "u", "2026-01-02 10:00:00"),
        # the clinician's prediction saved twice: p2 stays
        _rating("p1", ("wai-sr", "clinician", "prediction"), "u", "2026-01-01 11:00:00"),
        _rating("p2", ("wai-sr", "clinician", "prediction"), "u", "2026-01-02 11:00:00"),
        # two clinicians' own ratings: two raters, both stay
        _rating("x1", ("wai-sr", "clinician", "self"), "u", "2026-01-01 12:00:00"),
        _rating("x2", ("wai-sr", "clinician", "self"), "v", "2026-01-01 12:00:00"),
        # entered in the same instant: the larger id stays, every time
        _rating("t2", ("srs", "client", "self"), "u", "2026-01-01 13:00:00"),
        _rating("t1", ("srs", "client", "self"), "u", "2026-01-01 13:00:00"),
        # a correction made before 0014: no duplicate, the original is marked superseded
        _rating("o1", ("gad-7", "client", "self"), "u", "2026-01-01 14:00:00"),
        _rating("o2", ("gad-7", "client", "self"), "u", "2026-01-02 14:00:00", supersedes="o1"),
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    reports = migrate.upgrade(engine, "0014")
    assert reports == [
        "0014: 4 earlier rating(s) in 3 group(s) (session, instrument, perspective, stance, "
        "rater) marked superseded; the latest entered of each group stays current"
    ]
    with engine.connect() as connection:
        rows = {
            r.id: r
            for r in connection.execute(
                text("SELECT id, rater, superseded_at, supersedes_id FROM administrations")
            )
        }
    current = sorted(i for i, r in rows.items() if r.superseded_at is None)
    assert current == ["a3", "o2", "p2", "t2", "x1", "x2"]
    assert {i: rows[i].supersedes_id for i in ("a2", "a3", "p2", "t2", "o2")} == {
        "a2": "a1",
        "a3": "a2",
        "p2": "p1",
        "t2": "t1",
        "o2": "o1",
    }
    assert (rows["a1"].rater, rows["p1"].rater, rows["x2"].rater) == ("client", "u", "v")
    [index] = [
        i for i in inspect(engine).get_indexes("administrations")
        if i["name"] == "uq_administrations_current"
    ]  # fmt: skip
    assert index["unique"] and index["column_names"] == [
        "session_id", "instrument", "perspective", "stance", "rater"
    ]  # fmt: skip
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO administrations (id, organization_id, session_id, instrument, "
                "version, perspective, stance, answers, licensed_wording, source, entered_at, "
                "idempotency_key, rater) VALUES ('a4', 'o', 's', 'wai-sr', '1.0', 'client', "
                "'self', '{}', false, 'api', '2026-01-04', 'k-a4', 'client')"
            )
        )
    assert migrate.upgrade(engine) == []  # nothing left to do
    migrate.downgrade(engine, BEFORE_0014)
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM administrations")).scalar()
    assert kept == 11  # the downgrade keeps every rating


def test_0015_drops_the_unused_site_secret_and_downgrades_to_an_empty_table(
    empty_database: Database,
) -> None:
    """The generated "secret_key" signed nothing but travelled in every dump."""
    engine = empty_database.engine
    migrate.upgrade(engine, "0014")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO site_secrets (name, value, created_at) VALUES ('secret_key', "
                "'generated', '2026-01-01')"
            )
        )
    migrate.upgrade(engine, "0015")
    assert "site_secrets" not in inspect(engine).get_table_names()
    migrate.downgrade(engine, "0014")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM site_secrets")).scalar() == 0
