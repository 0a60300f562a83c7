"""Make the databases ``tests/service/test_upgrades.py`` upgrades: one per schema revision
main has been at, made and filled by the code of that revision.

For each commit below the script checks the commit out in a temporary git worktree and runs
*that* code (``PYTHONPATH=<worktree>/src``, this project's virtual environment) to create a
SQLite database with ``alliance init``, add an organization and users with ``alliance org add``
/ ``user add``, and fill it through the JSON API of the time (``create_app`` and a test
client): two clients, one with contact details, sessions, ratings, a correction, a risk answer,
a rupture note and a closed episode. Only the command line and ``/api/v1`` are used, which all
revisions share. The database is written as SQL text (``iterdump``), gzipped, to
``tests/data/upgrades/<name>.sql.gz``, and ``index.json`` records the commit, the revision the
code reported and the rows per table.

Each runs in one process per revision (the old command line through typer's test runner).
Run from the repository root (needs git and the history)::

    python scripts/upgrade_fixtures.py [NAME ...]
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "upgrades"

# name: the commit whose code made it (the last commit of main at that schema revision, or the
# side branch whose migration was also numbered 0002)
COMMITS = {
    # 0001 was edited in place on its first day (one audit chain, then sixteen): a database
    # made before 2159eef is refused by `alliance init`, the test checks that it says so
    "0001-first-day": "5fc0cbd7286ae4e8b2c1e4a92f7b98430a877f20",
    "0001": "6529bb7d38825f069f778a7da0ac260ea3e0f020",
    "0002": "261484a1964035eb9e8a487f5cc9e8bee3b564ba",
    "0002-side-branch": "2b3e2be6cf88b2ee3678c2a338a608cfe2b887ec",
    "0003": "daba0413ba77e49522d6bb7b191c20c50de12245",
    "0004": "9640a309c9707604eab0887bd090c390b9b3d487",
    "0005": "207d1d3f420ed18719e88315a4fcb4a04947f443",
    "0006": "bb76e1ebc5d81268ba8e7ebfcc15e060ef594497",
    "0008": "b985f037a8d456c289f45873d26c6cbcf7494dba",
    "0010": "a99b2825ae12188fe3846603cf3bde6c349cafa5",
    "0013": "3e27e023233b50a4a667f18f673a115b17a2f38a",
    "0007-renumbered": "fae9978adb06c42cc9fda857b123b62df1a7394c",
    "0014": "961e06cef0bd103a33ff00d1236c383c68d19a00",
    "0015": "6b12af3a8fee0bf6abe9b7c7a153883fccdf34b4",
    "0016": "76f855d74c8bf360c7b6454fac26ab98093ea554",
    "0017": "3a1329826ac3f370f12b62d16dac7b08f9fdecb1",
    "0018": "72d20191eefbc2934b622f61d4e6a0ad4a9b1330",
}

# Runs under the old code: only the JSON API every revision has.
FILL = r"""
import json, sys
from fastapi.testclient import TestClient
from alliance.config import Settings
from alliance.web.app import create_app

from typer.testing import CliRunner
from alliance.cli import app as commands

url, password, password_file = sys.argv[1], sys.argv[2], sys.argv[3]

def cli(*args):
    done = CliRunner().invoke(commands, list(args), env={"ALLIANCE_DATABASE_URL": url})
    assert done.exit_code == 0, done.output
    return done.output

said = cli("init")
cli("org", "add", "Fixture Clinic")
for user, role in (("c1", "clinician"), ("s1", "supervisor")):
    cli("user", "add", user, "--org", "Fixture Clinic", "--role", role, "--team", "North",
        "--password-file", password_file)
app = create_app(Settings(database_url=url, base_url="http://testserver"))
PHQ = {f"item_{i}": 1 for i in range(1, 10)}
GAD = {f"item_{i}": 2 for i in range(1, 8)}

def ok(answer):
    assert answer.status_code in (200, 201), answer.text
    return answer.json()

with TestClient(app) as api:
    login = ok(api.post("/api/v1/auth/login", json={"username": "c1", "password": password}))
    csrf = {"X-CSRF-Token": login["csrf_token"]}
    token = ok(api.post("/api/v1/tokens", headers=csrf, json={"name": "fixture"}))["token"]
    api.cookies.clear()
    h = {"Authorization": f"Bearer {token}"}
    made = ok(api.post("/api/v1/clients", headers=h, json={
        "code": "FX-01", "started_on": "2026-01-05",
        "contact": {"name": "Fixture Person", "email": "fx@example.org", "phone": "+100"}}))
    episode = made["episode"]["id"]
    sessions = [ok(api.post(f"/api/v1/episodes/{episode}/sessions", headers=h,
                            json={"date": f"2026-01-{d:02d}"}))["id"] for d in (12, 19, 26)]
    first = ok(api.post(f"/api/v1/sessions/{sessions[0]}/administrations", headers=h,
                        json={"instrument": "phq-9", "answers": PHQ, "idempotency_key": "fx-1"}))
    ok(api.post(f"/api/v1/administrations/{first['administration']['id']}/corrections",
                headers=h, json={"answers": {**PHQ, "item_2": 3}, "reason": "typed wrong",
                                 "idempotency_key": "fx-1c"}))
    ok(api.post(f"/api/v1/sessions/{sessions[1]}/administrations", headers=h,
                json={"instrument": "gad-7", "answers": GAD, "idempotency_key": "fx-2"}))
    ok(api.post(f"/api/v1/sessions/{sessions[2]}/administrations", headers=h,
                json={"instrument": "phq-9", "answers": {**PHQ, "item_9": 0},
                      "idempotency_key": "fx-3"}))
    ok(api.post(f"/api/v1/sessions/{sessions[1]}/ruptures", headers=h,
                json={"note": "went quiet"}))
    other = ok(api.post("/api/v1/clients", headers=h,
                        json={"code": "FX-02", "started_on": "2026-02-01"}))
    second = ok(api.post(f"/api/v1/episodes/{other['episode']['id']}/sessions", headers=h,
                         json={"date": "2026-02-02"}))["id"]
    ok(api.post(f"/api/v1/sessions/{second}/administrations", headers=h,
                json={"instrument": "gad-7", "answers": GAD, "idempotency_key": "fx-4"}))
    ok(api.post(f"/api/v1/episodes/{other['episode']['id']}/close", headers=h,
                json={"ended_on": "2026-03-01", "end_reason": "completed"}))
print(json.dumps({"init": " ".join(said.split())}))
"""


def _run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make(name: str, commit: str, work: Path) -> dict[str, object]:
    tree = work / f"tree-{name}"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), commit],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    try:
        database = work / f"{name}.sqlite3"
        url = f"sqlite:///{database}"
        env = {**os.environ, "PYTHONPATH": str(tree / "src"), "ALLIANCE_DATABASE_URL": url}
        python = sys.executable
        password_file = work / "password"
        password = "fixture password 42 wombat"
        password_file.write_text(password + "\n")
        said = json.loads(
            _run([python, "-c", FILL, url, password, str(password_file)], env, work)
            .strip()
            .splitlines()[-1]
        )["init"].replace(str(database), f"{name}.sqlite3")
        with sqlite3.connect(database) as connection:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            tables = [
                r[0]
                for r in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            counts = {
                t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
            }
            text = "\n".join(connection.iterdump()) + "\n"
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{name}.sql.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
        return {"commit": commit, "revision": revision, "init": said, "counts": counts}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def main(names: list[str]) -> None:
    index_path = OUT / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names or list(COMMITS):
            index[name] = make(name, COMMITS[name], Path(folder))
            print(name, index[name]["revision"], sum(index[name]["counts"].values()), "rows")
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
