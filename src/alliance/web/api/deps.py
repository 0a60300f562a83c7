"""Request dependencies: the database session, the acting person, the client's address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from alliance.services.accounts.auth import session_actor, token_actor
from alliance.services.context import Actor
from alliance.services.errors import Forbidden, Unauthenticated
from alliance.store.engine import READ_ONLY
from alliance.web.clinic import Clinic

SESSION_COOKIE = "alliance_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_clinic(request: Request) -> Clinic:
    clinic: Clinic = request.app.state.clinic
    return clinic


ClinicDep = Annotated[Clinic, Depends(get_clinic)]


def get_db(clinic: ClinicDep) -> Iterator[Session]:
    db = clinic.sessions()
    try:
        yield db
    finally:
        db.rollback()  # anything not committed by the route is undone
        db.close()


DbDep = Annotated[Session, Depends(get_db)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


AddressDep = Annotated[str, Depends(client_address)]


def current_actor(request: Request, db: DbDep, address: AddressDep) -> Actor:
    """A Bearer API token, or a session cookie (with the CSRF header on changes).

    The look-up runs in its own read-only transaction, ended before the route starts: the
    route's own transaction then begins and commits within one thread, so no database lock
    is ever held while a request waits for a free thread.
    """
    db.connection(execution_options={READ_ONLY: True})
    try:
        return _authenticate(request, db, address)
    finally:
        db.rollback()


def _authenticate(request: Request, db: Session, address: str) -> Actor:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = token_actor(db, header[7:].strip(), address=address)
        if actor is None:
            raise Unauthenticated("the API token is unknown or revoked")
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        info = session_actor(db, cookie, address=address)
        if info is None:
            raise Unauthenticated("the login session has expired; log in again")
        if (
            request.method not in SAFE_METHODS
            and request.headers.get(CSRF_HEADER) != info.csrf_token
        ):
            raise Forbidden(
                "missing or wrong X-CSRF-Token header for a change made with a login cookie"
            )
        return info.actor
    raise Unauthenticated("log in, or send an API token as 'Authorization: Bearer …'")


ActorDep = Annotated[Actor, Depends(current_actor)]
