"""The de-identified research export from the service: nothing identifying survives, and it
is the only export a researcher may take."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select

from alliance.instruments.registry import builtin_registry
from alliance.interop.deidentify import Deidentifier
from alliance.services.exchange.tables import holdings
from alliance.store.models import Client, Organization, Study
from tests.fixtures.database import Database, World
from tests.service.records import API, fill

STUDY = "Alliance and outcome"
CONTACTS = {
    "c1": {"name": "Robin Example", "email": "robin@example.org", "phone": "+44 7700 900123"},
    "c2": {"name": "Kai Sample", "email": "kai.sample@example.net", "phone": "0161 496 0000"},
}


def add_study(
    api: TestClient, world: World, name: str = STUDY, admin: str = "a1", **settings: object
) -> str:
    response = api.post(
        f"{API}/studies", headers=world[admin].headers, json={"name": name, **settings}
    )
    assert response.status_code == 201, response.text
    assert "secret" not in response.text
    return str(response.json()["id"])


def secret_of(database: Database, study: str) -> bytes:
    """The study's secret, read from the database (the test checks what the service did)."""
    with database.session() as db:
        found = db.get(Study, study)
        assert found is not None
        return bytes.fromhex(found.secret)


def research(
    api: TestClient, world: World, who: str, study: str = STUDY, **options: object
) -> dict[str, bytes]:
    response = api.post(
        f"{API}/exports/research", headers=world[who].headers, json={"study": study, **options}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def originals(database: Database) -> pd.DataFrame:
    with database.session() as db:
        org = db.scalar(select(Organization.id).where(Organization.name == "Clinic A"))
        assert org is not None
        return holdings(
            db,
            builtin_registry(),
            organization_id=org,
            scope=Client.organization_id == org,
            params={},
        ).administrations


def test_no_code_name_contact_or_exact_date_survives(
    api: TestClient, world: World, database: Database
) -> None:
    fill(api, world)
    study = add_study(api, world, k=1)  # two clients: any k above 1 would suppress both
    reported = api.post(
        f"{API}/sessions/{world.sessions['c1']}/ruptures",
        headers=world["c1"].headers,
        json={"note": "Robin Example went quiet about work"},  # free text: never exported
    )
    assert reported.status_code == 201
    for who, contact in CONTACTS.items():
        put = api.put(
            f"{API}/clients/{world.clients[who]}/contact", headers=world[who].headers, json=contact
        )
        assert put.status_code == 200
    files = research(api, world, "r1")
    assert sorted(files) == [
        "research.codebook.csv",
        "research.csv",
        "research.events.codebook.csv",
        "research.events.csv",
        "research.scores.codebook.csv",
        "research.scores.csv",
        "research.summary.json",
    ]
    text = b"\n".join(files.values()).decode("utf-8")
    source = originals(database)
    identifying = {*source["client"], *source["administration"]}
    identifying |= {value for contact in CONTACTS.values() for value in contact.values()}
    identifying |= {"Robin", "Example", "robin", "kai.sample"}
    assert [value for value in identifying if value in text] == []

    table = pd.read_csv(io.BytesIO(files["research.csv"]), dtype=str, keep_default_na=False)
    scores = pd.read_csv(io.BytesIO(files["research.scores.csv"]), dtype=str, keep_default_na=False)
    worker = Deidentifier(study_key=secret_of(database, study)).fit(source)
    for code, real in source.groupby("client"):
        pseudonym = worker.pseudonym("client", str(code))
        # Every date moves by the client's one offset, never 0 (a shifted date may equal another
        # session's real date: weekly sessions and an offset of whole weeks).
        offset = worker.offset(str(code))
        assert offset != 0
        shifted = sorted((real["date"] + pd.Timedelta(days=offset)).dt.strftime("%Y-%m-%d"))
        assert (table["client"] == pseudonym).sum() == len(real)
        for frame in (table, scores):
            mine = frame[frame["client"] == pseudonym]
            assert len(mine) > 0
            assert set(mine["date"]) <= set(shifted)
            assert set(mine["episode"]) <= {"E1", "E2"}
        assert sorted(table.loc[table["client"] == pseudonym, "date"]) == shifted
    assert len(table) == len(source) == 9  # the whole organization's current administrations
    events = pd.read_csv(io.BytesIO(files["research.events.csv"]), dtype=str, keep_default_na=False)
    assert sorted(events["event"]) == ["episode_ended", "rupture_reported"]
    assert "note" not in events.columns
    assert set(events["client"]) == {worker.pseudonym("client", "C1-01")}
    assert sorted(events["detail"]) == ["clinician", "completed"]  # who reported; why it ended
    assert "2026-09-20" not in set(events["date"])  # the end date is shifted too
    summary = json.loads(files["research.summary.json"])
    assert summary["clients"] == 2
    assert summary["linking"]["same_records_same_export"] is True
    assert summary["small_cells"]  # two clients: every cell is small, and each is listed
    assert all(cell["clients"] < 5 for cell in summary["small_cells"])


def test_days_since_the_episode_replace_dates(api: TestClient, world: World) -> None:
    fill(api, world)
    add_study(api, world, "Days", date_mode="days", k=1)
    files = research(api, world, "r1", "Days")
    table = pd.read_csv(io.BytesIO(files["research.csv"]), dtype=str, keep_default_na=False)
    assert "date" not in table.columns
    assert sorted(set(table["day"].astype(int))) == [0, 7]  # sessions a week apart
    assert json.loads(files["research.summary.json"])["study"] == "Days"


def answer_rows(table: pd.DataFrame) -> dict[str, frozenset[tuple[str, ...]]]:
    """Each exported client's ratings without the pseudonyms: what links exports."""
    items = [c for c in table.columns if c.startswith("item_")]
    fields = ["episode", "session", "instrument", "perspective", "stance", *items]
    return {
        str(client): frozenset(tuple(map(str, row)) for row in rows[fields].itertuples(index=False))
        for client, rows in table.groupby("client")
    }


def test_a_studys_export_is_the_same_each_time_and_says_what_links(
    api: TestClient, world: World
) -> None:
    """Security review 13: the summary said exports could not be linked, yet matching answer
    vectors linked every client. A study's export is now the same each time (byte for
    byte), other studies get other pseudonyms, and the summary says that the answers link
    exports of the same records anyway — which they do."""
    fill(api, world)
    add_study(api, world, "First", k=1)
    add_study(api, world, "Second", k=1)
    first, again = (
        api.post(f"{API}/exports/research", headers=world["r1"].headers, json={"study": "First"})
        for _ in range(2)
    )
    assert first.content == again.content
    files = research(api, world, "r1", "First")
    other = research(api, world, "r1", "Second")
    linking = json.loads(files["research.summary.json"])["linking"]
    assert linking["same_records_same_export"] is True
    assert (
        linking["answers_link_exports"] is True
        and "whatever their pseudonyms" in linking["answers"]
    )
    mine, theirs = (
        answer_rows(pd.read_csv(io.BytesIO(f["research.csv"]), dtype=str, keep_default_na=False))
        for f in (files, other)
    )
    assert len(mine) == 2 and set(mine).isdisjoint(theirs)  # no pseudonym in common
    linked = {
        a: [b for b, rows in theirs.items() if rows == answers] for a, answers in mine.items()
    }
    assert all(len(match) == 1 for match in linked.values())  # yet every client links


def test_a_researcher_cannot_recover_codes_by_guessing_them(
    api: TestClient, world: World, database: Database
) -> None:
    """Security review 11: with a key the researcher chose, guessing C0001–C9999 recovered
    every client code. The key is now the study's secret: no key the researcher can name
    (the one they would have chosen, the study's name or id, none) gives a pseudonym of the
    export, and the old option is refused."""
    gad = {f"item_{i}": 1 for i in range(1, 8)}
    for who, code in (("c1", "C0042"), ("c2", "C0007"), ("c3", "C1234")):
        headers = world[who].headers
        made = api.post(
            f"{API}/clients", headers=headers, json={"code": code, "started_on": "2026-09-01"}
        ).json()
        session = api.post(
            f"{API}/episodes/{made['episode']['id']}/sessions",
            headers=headers,
            json={"date": "2026-09-08"},
        ).json()["id"]
        stored = api.post(
            f"{API}/sessions/{session}/administrations",
            headers=headers,
            json={"instrument": "gad-7", "answers": gad, "idempotency_key": code},
        )
        assert stored.status_code == 201
    study = add_study(api, world, k=2)
    chosen = "a study secret of some length"
    refused = api.post(
        f"{API}/exports/research",
        headers=world["r1"].headers,
        json={"study": STUDY, "study_key": chosen},
    )
    assert refused.status_code == 422
    table = pd.read_csv(io.BytesIO(research(api, world, "r1")["research.csv"]), dtype=str)
    exported = set(table["client"])
    assert len(exported) == 3
    for key in (chosen, STUDY, study, None):
        guesser = Deidentifier(study_key=key)
        guesser.key_ = key.encode() if key else b""
        guesses = {guesser.pseudonym("client", f"C{n:04d}") for n in range(1, 10_000)}
        assert exported.isdisjoint(guesses), key
    # the service's own secret does give them back: the test is not vacuous
    keeper = Deidentifier(study_key=secret_of(database, study))
    keeper.key_ = secret_of(database, study)
    assert {keeper.pseudonym("client", c) for c in ("C0042", "C0007", "C1234")} == exported


def test_the_studys_k_protects_a_clinic_too_small_for_it(api: TestClient, world: World) -> None:
    """Two clients with nothing in common cannot be hidden among others: with the default
    k = 5 both are suppressed, and the summary says so."""
    fill(api, world)
    add_study(api, world)
    files = research(api, world, "r1")
    assert pd.read_csv(io.BytesIO(files["research.csv"]), dtype=str).empty
    done = json.loads(files["research.summary.json"])["k_anonymity"]
    assert (done["k"], done["clients_suppressed"]) == (5, 2)


def test_who_takes_which_export(api: TestClient, world: World) -> None:
    fill(api, world)
    add_study(api, world, k=1)
    add_study(api, world, admin="ba", k=1)
    client = world.clients["c1"]
    for who in ("r1", "a1", "ba"):
        bundle = api.get(f"{API}/clients/{client}/fhir", headers=world[who].headers)
        tables = api.get(f"{API}/exports/tables", headers=world[who].headers)
        assert (bundle.status_code, tables.status_code) == (403, 403), who
    for who in ("a1", "ba"):
        refused = api.post(
            f"{API}/exports/research", headers=world[who].headers, json={"study": STUDY}
        )
        assert refused.status_code == 403
    # the researcher: every client of organization A, none of B
    assert (
        len(set(pd.read_csv(io.BytesIO(research(api, world, "r1")["research.csv"]))["client"])) == 2
    )
    # a clinician of organization B: B's clients only (none rated yet), and no FHIR of A's
    empty = pd.read_csv(io.BytesIO(research(api, world, "b1")["research.csv"]))
    assert empty.empty
    assert api.get(f"{API}/clients/{client}/fhir", headers=world["b1"].headers).status_code == 404
    # c2 (same team) sees nothing of c1's client; the supervisor sees the team
    for who, clients in (("c2", 1), ("s1", 2), ("c3", 0)):
        found = pd.read_csv(io.BytesIO(research(api, world, who)["research.csv"]))
        assert found["client"].nunique() == clients, who


def test_contact_in_a_bundle_only_for_the_clients_own_clinician(
    api: TestClient, world: World
) -> None:
    fill(api, world)
    client = world.clients["c1"]
    api.put(f"{API}/clients/{client}/contact", headers=world["c1"].headers, json=CONTACTS["c1"])
    plain = api.get(f"{API}/clients/{client}/fhir", headers=world["c1"].headers).json()
    patient = plain["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient" and "name" not in patient
    assert "Robin" not in json.dumps(plain)
    full = api.get(
        f"{API}/clients/{client}/fhir", params={"contact": "true"}, headers=world["c1"].headers
    ).json()["entry"][0]["resource"]
    assert full["name"] == [{"text": "Robin Example"}]
    assert {t["value"] for t in full["telecom"]} == {"robin@example.org", "+44 7700 900123"}
    supervisor = api.get(
        f"{API}/clients/{client}/fhir", params={"contact": "true"}, headers=world["s1"].headers
    )
    assert supervisor.status_code == 404  # the team's supervisor reads the record, not contact
    assert api.get(f"{API}/clients/{client}/fhir", headers=world["s1"].headers).status_code == 200


def test_every_export_is_audited(api: TestClient, world: World, database: Database) -> None:
    from alliance.store.audit import AuditEvent

    fill(api, world)
    add_study(api, world, k=1)
    api.get(f"{API}/clients/{world.clients['c1']}/fhir", headers=world["c1"].headers)
    api.get(f"{API}/exports/tables", headers=world["s1"].headers)
    research(api, world, "r1")
    with database.session() as db:
        events = db.execute(
            select(AuditEvent.actor_id, AuditEvent.record_type, AuditEvent.detail).where(
                AuditEvent.action == "export"
            )
        ).all()
    got = {(actor, kind, detail["format"]) for actor, kind, detail in events}
    assert got == {
        (world["c1"].id, "client", "fhir"),
        (world["s1"].id, "administrations", "tables"),
        (world["r1"].id, "administrations", "research"),
    }
