"""The import and export page (the README says the web app offers both): a clinician
downloads the tables of their clients and imports a file, all of it or none with every
problem listed; other roles get neither."""

from __future__ import annotations

import io
import zipfile
from html import unescape

from sqlalchemy import func, select

from alliance.store.models import Administration
from tests.fixtures.database import Database, World
from tests.web.conftest import PageClient

HEADER = "client,episode,session,date,instrument,version,perspective,stance,clinician"
GAD = "1,1,1,1,1,1,1"


def upload(page: PageClient, content: str, name: str = "visits.csv"):  # type: ignore[no-untyped-def]
    if not page.csrf:
        page.get("/exchange")
    return page.client.post(
        "/exchange/import",
        data={"csrf_token": page.csrf, "format": "auto", "clinician": ""},
        files={"file": (name, content.encode())},
    )


def stored(database: Database) -> int:
    with database.session() as db:
        return int(db.scalar(select(func.count()).select_from(Administration)) or 0)


def test_a_clinician_imports_a_file_and_downloads_the_tables(
    clinician: PageClient, database: Database, world: World
) -> None:
    page = clinician.get("/exchange")
    assert page.status_code == 200
    assert 'href="/exchange" aria-current="page"' in page.text
    items = ",".join(f"item_{i}" for i in range(1, 8))
    good = "\n".join([
        f"{HEADER},{items}",
        f"N-1,E1,1,2026-09-01,gad-7,1.0,client,self,,{GAD}",
        f"N-1,E1,2,2026-09-08,gad-7,1.0,client,self,,{GAD}",
    ])  # fmt: skip
    done = upload(clinician, good)
    assert done.status_code == 200
    assert (
        "visits.csv: 2 of 2 administrations stored; 1 new client, 1 new episode, 2 new "
        "sessions." in unescape(done.text)
    )
    assert stored(database) == 2
    bad = good.replace("2026-09-08", "2026-13-08").replace("N-1,E1,1", "N-2,E3,1")
    refused = upload(clinician, bad)
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert "visits.csv: nothing imported; 1 problem in 1 row of 2" in text
    assert "line 3, column date: not a date '2026-13-08'" in text
    assert stored(database) == 2
    download = clinician.get("/exchange/tables?format=csv")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = archive.namelist()
        table = next(n for n in names if n.endswith(".csv") and "codebook" not in n
                     and "scores" not in n and "events" not in n)  # fmt: skip
        rows = archive.read(table).decode().splitlines()
    assert len(rows) == 3 and "N-1" in rows[1]  # the header and the two imported ratings


def test_only_clinicians_and_supervisors_import_and_export(admin: PageClient) -> None:
    assert admin.get("/exchange").status_code == 403
    assert admin.get("/exchange/tables").status_code == 403
    assert upload(admin, "x").status_code == 403
