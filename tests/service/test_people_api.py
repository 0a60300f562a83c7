"""Teams and users: admins manage their own organization only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.database import World


def test_admin_creates_teams_and_users(api: TestClient, world: World) -> None:
    admin = world["a1"].headers
    team = api.post("/api/v1/teams", json={"name": "West"}, headers=admin)
    assert team.status_code == 201
    user = api.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "n.nurse",
            "role": "clinician",
            "team_id": team.json()["id"],
            "password": "long enough password",
            "display_name": "N. Nurse",
        },
    )
    assert user.status_code == 201
    assert user.json()["team_id"] == team.json()["id"]
    assert (
        api.post(
            "/api/v1/auth/login", json={"username": "n.nurse", "password": "long enough password"}
        ).status_code
        == 200
    )
    listed = api.get("/api/v1/users", headers=admin).json()
    assert "n.nurse" in [u["username"] for u in listed["data"]]
    assert "b1" not in [u["username"] for u in listed["data"]]


def test_user_validation(api: TestClient, world: World) -> None:
    admin = world["a1"].headers
    taken = api.post("/api/v1/users", json={"username": "c1", "role": "clinician"}, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["error"]["field"] == "username"
    short = api.post(
        "/api/v1/users",
        json={"username": "x1", "role": "clinician", "password": "short"},
        headers=admin,
    )
    assert short.status_code == 422
    assert short.json()["error"]["field"] == "password"
    role = api.post("/api/v1/users", json={"username": "x2", "role": "boss"}, headers=admin)
    assert role.status_code == 422
    assert role.json()["error"]["field"] == "role"
    assert "clinician" in role.json()["error"]["allowed"]
    supervisor = api.post(
        "/api/v1/users", json={"username": "x3", "role": "supervisor"}, headers=admin
    )
    assert supervisor.status_code == 422
    assert supervisor.json()["error"]["field"] == "team_id"


def test_admin_of_another_organization_sees_nothing(api: TestClient, world: World) -> None:
    other_admin = world["ba"].headers
    response = api.patch(
        f"/api/v1/users/{world['c1'].id}", json={"active": False}, headers=other_admin
    )
    assert response.status_code == 404
    foreign_team = api.post(
        "/api/v1/users",
        headers=other_admin,
        json={"username": "x4", "role": "clinician", "team_id": world.teams["North"]},
    )
    assert foreign_team.status_code == 404


def test_non_admins_cannot_manage_users(api: TestClient, world: World) -> None:
    for name in ("c1", "s1", "r1"):
        response = api.post("/api/v1/teams", json={"name": "T"}, headers=world[name].headers)
        assert response.status_code == 403


def test_supervisor_lists_their_team(api: TestClient, world: World) -> None:
    listed = api.get("/api/v1/users", headers=world["s1"].headers).json()
    assert sorted(u["username"] for u in listed["data"]) == ["c1", "c2", "s1"]


def test_admin_cannot_lock_themselves_out(api: TestClient, world: World) -> None:
    admin = world["a1"]
    response = api.patch(f"/api/v1/users/{admin.id}", json={"active": False}, headers=admin.headers)
    assert response.status_code == 422
