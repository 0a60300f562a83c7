"""Login (with an optional one-time code), logout and the person's own account page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alliance.services.accounts import auth
from alliance.services.errors import RateLimited, ServiceError
from alliance.web.api.deps import SESSION_COOKIE, AddressDep, ClinicDep, DbDep
from alliance.web.pages.common import FormDep, PageDep, check_csrf, redirect, render, safe_next

router = APIRouter(include_in_schema=False)


LOGIN_FORM_COOKIE = "alliance_login_form"


def _login_form(
    request: Request, clinic: Any, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """The login page with a fresh form token, also set as a strict same-site cookie: a
    login posted from another site carries no cookie, so nobody can log a browser into an
    account that is not its user's (login CSRF)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {**context, "login_token": token}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_FORM_COOKIE,
        token,
        max_age=2 * 3600,
        httponly=True,
        secure=clinic.settings.cookies_secure,
        samesite="strict",
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, clinic: ClinicDep, next: str = "/") -> HTMLResponse:
    return _login_form(request, clinic, {"next": safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    clinic: ClinicDep,
    address: AddressDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    settings = clinic.settings
    expected = request.cookies.get(LOGIN_FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        return _login_form(
            request,
            clinic,
            {
                "next": safe_next(next),
                "error": "This form has expired or came from elsewhere; please log in again.",
                "username": username,
            },
            status_code=403,
        )
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
        return _login_form(
            request,
            clinic,
            {"next": safe_next(next), "error": exc.message, "username": username},
            status_code=status,
        )
    db.commit()
    target = f"/login/code?next={safe_next(next)}" if result.needs_code else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(LOGIN_FORM_COOKIE, path="/login")
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
def account(request: Request, page: PageDep) -> HTMLResponse:
    context = page.context(nav="account")
    if page.user.totp_secret is None:
        secret = auth.new_totp_secret()
        uri = auth.totp_uri(
            secret, page.user.username, issuer=f"alliance ({page.organization.name})"
        )
        context.update(secret=secret, qr=segno.make(uri).svg_inline(scale=4, title="Set-up code"))
    return render(request, "account.html", context)


@router.post("/account/second-factor")
def second_factor(page: PageDep, db: DbDep, clinic: ClinicDep, form: FormDep) -> Response:
    check_csrf(page, form)
    try:
        if form.get("action") == "disable":
            auth.disable_totp(db, page.actor, str(form.get("code", "")))
            notice = "codes_off"
        else:
            auth.enable_totp(
                db,
                page.actor,
                str(form.get("secret", "")),
                str(form.get("code", "")),
                password=str(form.get("password", "")),
                max_attempts=clinic.settings.login_attempts,
                window_minutes=clinic.settings.login_window_minutes,
            )
            notice = "codes_on"
    except ServiceError as exc:
        db.commit()  # a wrong password counts towards the login limit
        return redirect("/account", notice="account_not_saved", detail=exc.message, page=page)
    db.commit()
    return redirect("/account", notice=notice)
