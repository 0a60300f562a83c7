"""What every page shares: templates, the logged-in person, the organization's words, CSRF."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from alliance.services.accounts.auth import session_actor
from alliance.services.context import Actor
from alliance.services.errors import Forbidden
from alliance.store.engine import READ_ONLY
from alliance.store.models import Organization, User
from alliance.web.api.deps import SESSION_COOKIE, AddressDep, DbDep
from alliance.web.pages import notices
from alliance.web.security import same_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))

ROLE_WORDS = ("therapist", "counsellor", "nurse", "physiotherapist", "clinician")
CLIENT_WORDS = ("client", "patient")
_PLURALS = {
    "therapist": "therapists",
    "counsellor": "counsellors",
    "nurse": "nurses",
    "physiotherapist": "physiotherapists",
    "clinician": "clinicians",
    "client": "clients",
    "patient": "patients",
}


@dataclass(frozen=True)
class Terms:
    """The words an organization uses: ``client`` or ``patient``; ``therapist``,
    ``counsellor``, ``nurse``, ``physiotherapist`` or ``clinician``."""

    client: str = "client"
    clinician: str = "clinician"

    @classmethod
    def of(cls, organization: Organization | None) -> Terms:
        chosen = (organization.terms if organization else None) or {}
        client = chosen.get("client", "client")
        clinician = chosen.get("clinician", "clinician")
        return cls(
            client if client in CLIENT_WORDS else "client",
            clinician if clinician in ROLE_WORDS else "clinician",
        )

    def __call__(self, key: str, *, plural: bool = False, capital: bool = False) -> str:
        word = {"client": self.client, "clinician": self.clinician}[key]
        if plural:
            word = _PLURALS[word]
        return word[:1].upper() + word[1:] if capital else word

    def text(self, sentence: str | None) -> str:
        """``sentence`` (an alert's reason, a next step, a chart caption) in these words:
        client(s) and clinician(s), in any capitalisation, become the organization's."""
        if not sentence or (self.client, self.clinician) == ("client", "clinician"):
            return sentence or ""

        def swap(match: re.Match[str]) -> str:
            word = match.group(0)
            key = "client" if word.lower().startswith("client") else "clinician"
            return self(key, plural=word.lower().endswith("s"), capital=word[0].isupper())

        return _TERM_WORDS.sub(swap, sentence)


_TERM_WORDS = re.compile(r"\b(?:[Cc]lients?|[Cc]linicians?)\b")


class LoginRequired(Exception):  # noqa: N818 - a redirect, not an error
    def __init__(self, next_path: str, *, code_needed: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.code_needed = code_needed


@dataclass(frozen=True)
class Page:
    """The logged-in person on a page."""

    actor: Actor
    user: User
    organization: Organization
    csrf_token: str
    terms: Terms

    def context(self, **values: Any) -> dict[str, Any]:
        return {
            "me": self.user,
            "actor": self.actor,
            "organization": self.organization,
            "csrf_token": self.csrf_token,
            "term": self.terms,
            **values,
        }


def current_page(request: Request, db: DbDep, address: AddressDep) -> Page:
    """The logged-in person, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    db.connection(execution_options={READ_ONLY: True})
    try:
        info = session_actor(db, token, address=address, partial=True)
        if info is None:
            raise LoginRequired(target)
        if not info.second_factor_done:
            raise LoginRequired(target, code_needed=True)
        organization = db.get(Organization, info.user.organization_id)
        if organization is None:
            raise LoginRequired(target)
        return Page(info.actor, info.user, organization, info.csrf_token, Terms.of(organization))
    finally:
        db.rollback()


PageDep = Annotated[Page, Depends(current_page)]


async def form_data(request: Request) -> dict[str, str]:
    """A posted form as text fields (the last value of a repeated name wins)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def check_csrf(page: Page, form: dict[str, Any]) -> None:
    if not same_token(form.get("csrf_token"), page.csrf_token):
        raise Forbidden("this form has expired; go back, reload the page and send it again")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` with ``context``. The notice shown is the context's own ``notice`` (text
    the handler wrote, never the query's), else the one the query's key names
    (:mod:`notices`); either in the organization's words."""
    shown = context.get("notice") or notices.text(request.query_params, context.get("csrf_token"))
    term = context.get("term")
    context["notice"] = term.text(shown) if shown and isinstance(term, Terms) else shown
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def redirect(
    path: str,
    *,
    notice: str | None = None,
    detail: str | None = None,
    n: int | None = None,
    page: Page | None = None,
) -> RedirectResponse:
    """A redirect after a form; ``notice`` is a key of :data:`notices.NOTICES`, its
    ``detail`` signed for ``page``'s login."""
    if notice:
        path, hash_, fragment = path.partition("#")  # the query goes before a #fragment
        joiner = "&" if "?" in path else "?"
        secret = page.csrf_token if page is not None else ""
        path = f"{path}{joiner}{notices.query(notice, detail=detail, n=n, secret=secret)}"
        path += hash_ + fragment
    return RedirectResponse(path, status_code=303)


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    target = "/login/code" if exc.code_needed else "/login"
    return RedirectResponse(f"{target}?next={quote(exc.next_path)}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only paths on this site (never another host) after logging in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@dataclass
class FormErrors:
    """Problems with a submitted form, by field, for the page and its error summary."""

    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.fields)


def organization_for(db: Session, actor: Actor) -> Organization | None:
    return db.get(Organization, actor.organization_id) if actor.organization_id else None
