"""Login, logout, the current user, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from alliance.services.accounts import auth
from alliance.services.errors import ServiceError
from alliance.store.models import User
from alliance.web.api.deps import SESSION_COOKIE, ActorDep, AddressDep, ClinicDep, DbDep
from alliance.web.api.schemas import (
    LoginIn,
    LoginOut,
    TokenCreated,
    TokenIn,
    TokenPublic,
    UserPublic,
)

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=LoginOut)
def login(
    body: LoginIn, response: Response, db: DbDep, clinic: ClinicDep, address: AddressDep
) -> LoginOut:
    """Log in with a username and password; sets the session cookie. Send the returned
    ``csrf_token`` as ``X-CSRF-Token`` with every change made with the cookie."""
    settings = clinic.settings
    try:
        result = auth.login(
            db,
            body.username,
            body.password,
            address=address,
            session_hours=settings.session_hours,
            max_attempts=settings.login_attempts,
            window_minutes=settings.login_window_minutes,
        )
    except ServiceError:
        db.commit()  # keep the failed attempt: it counts towards the rate limit
        raise
    db.commit()
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
    return LoginOut(
        user=UserPublic.model_validate(result.user),
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
    )


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, db: DbDep, actor: ActorDep) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.logout(db, cookie, actor)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserPublic)
def me(db: DbDep, actor: ActorDep) -> User:
    user = db.get(User, actor.user_id)
    db.commit()
    if user is None:
        raise RuntimeError("the acting user vanished")
    return user


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(db: DbDep, actor: ActorDep) -> list[TokenPublic]:
    tokens = [TokenPublic.model_validate(t) for t in auth.list_api_tokens(db, actor)]
    db.commit()
    return tokens


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenIn, db: DbDep, actor: ActorDep) -> TokenCreated:
    """A token for an integration, acting as you. It is shown once."""
    token, raw = auth.create_api_token(db, actor, body.name)
    db.commit()
    return TokenCreated(id=token.id, name=token.name, created_at=token.created_at, token=raw)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, db: DbDep, actor: ActorDep) -> None:
    auth.revoke_api_token(db, actor, token_id)
    db.commit()
