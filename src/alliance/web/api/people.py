"""Teams and users of the organization (admins; supervisors may list their team)."""

from __future__ import annotations

from fastapi import APIRouter

from alliance.services.accounts import people
from alliance.store.models import Team, User
from alliance.web.api.deps import ActorDep, DbDep
from alliance.web.api.schemas import TeamIn, TeamPublic, UserIn, UserPublic, UsersPublic, UserUpdate

router = APIRouter(tags=["people"])


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(db: DbDep, actor: ActorDep) -> list[Team]:
    teams = people.list_teams(db, actor)
    db.commit()
    return teams


@router.post("/teams", response_model=TeamPublic, status_code=201)
def create_team(body: TeamIn, db: DbDep, actor: ActorDep) -> Team:
    team = people.create_team(db, actor, body.name)
    db.commit()
    return team


@router.get("/users", response_model=UsersPublic)
def list_users(db: DbDep, actor: ActorDep) -> UsersPublic:
    result = people.list_users(db, actor)
    db.commit()
    return UsersPublic(
        data=[UserPublic.model_validate(u) for u in result.users], count=result.count
    )


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserIn, db: DbDep, actor: ActorDep) -> User:
    user = people.create_user(db, actor, **body.model_dump())
    db.commit()
    return user


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: str, body: UserUpdate, db: DbDep, actor: ActorDep) -> User:
    user = people.update_user(db, actor, user_id, **body.model_dump())
    db.commit()
    return user
