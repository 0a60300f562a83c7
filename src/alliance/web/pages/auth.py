"""Login (with an optional one-time code), logout and the person's own account page."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alliance.services import auth
from alliance.services.errors import RateLimited, ServiceError
from alliance.web.api.deps import SESSION_COOKIE, AddressDep, ClinicDep, DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = clinic.settings
    try:
        result = auth.login(
            db,
            username,
            password,
            address=address,
            session_hours=settings.session_hours,
            max_attempts=settings.login_attempts,
            window_minutes=settings.login_window_minutes,
        )
    except ServiceError as exc:
        db.commit()  # the failed attempt counts towards the limit
        status = 429 if isinstance(exc, RateLimited) else 401
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": exc.message, "username": username},
            status_code=status,
        )
    db.commit()
    target = f"/login/code?next={safe_next(next)}" if result.needs_code else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
    return response


@router.get("/login/code")
def code_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login_code.html", {"next": safe_next(next)})


@router.post("/login/code")
def code(
    request: Request,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        auth.complete_second_factor(
            db,
            token,
            code,
            address=address,
            max_attempts=clinic.settings.login_attempts,
            window_minutes=clinic.settings.login_window_minutes,
        )
    except ServiceError as exc:
        db.commit()
        return render(
            request,
            "login_code.html",
            {"next": safe_next(next), "error": exc.message},
            status_code=401,
        )
    db.commit()
    return redirect(safe_next(next))


@router.post("/logout")
def logout(request: Request, page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    auth.logout(db, request.cookies.get(SESSION_COOKIE, ""), page.actor)
    db.commit()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(request: Request, page: PageDep, notice: str | None = None) -> HTMLResponse:
    context = page.context(nav="account", notice=notice)
    if page.user.totp_secret is None:
        secret = auth.new_totp_secret()
        uri = auth.totp_uri(
            secret, page.user.username, issuer=f"alliance ({page.organization.name})"
        )
        context.update(secret=secret, qr=segno.make(uri).svg_inline(scale=4, title="Set-up code"))
    return render(request, "account.html", context)


@router.post("/account/second-factor")
def second_factor(page: PageDep, db: DbDep, form: FormDep) -> Response:
    check_csrf(page, form)
    try:
        if form.get("action") == "disable":
            auth.disable_totp(db, page.actor, str(form.get("code", "")))
            notice = "One-time codes are off."
        else:
            auth.enable_totp(db, page.actor, str(form.get("secret", "")), str(form.get("code", "")))
            notice = "One-time codes are on: you will be asked for one at every login."
    except ServiceError as exc:
        return redirect("/account", notice=exc.message)
    db.commit()
    return redirect("/account", notice=notice)
