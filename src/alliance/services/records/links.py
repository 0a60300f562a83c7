"""Single-use, expiring links with which a client fills one or more measures for one session.

A link carries its measures in order (ORS at the start and SRS at the end; WAI-SR then PHQ-9).
Each measure is stored when it is sent, with its risk alerts, and the link moves on to the
next; the last one uses the link up. The token is random and stored only as its SHA-256. Each
step is stored and counted in one transaction, and only the first of two racing submissions of
a step can count it. Unknown tokens are counted per address and rate-limited; a known link
opens whatever the count.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alliance.instruments.model import Instrument
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.accounts.access import session_for
from alliance.services.accounts.auth import token_digest
from alliance.services.accounts.organization import offered_instruments
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Gone, Invalid, NotFound, RateLimited, Unavailable
from alliance.services.mail import Mail, Mailer
from alliance.services.records.administrations import (
    Submission,
    resolve_instrument,
    submit_administration,
)
from alliance.services.records.current_ratings import CLIENT_RATER, current_rating
from alliance.store.base import utcnow
from alliance.store.models import (
    Administration,
    Client,
    ClientContact,
    Episode,
    Organization,
    User,
)
from alliance.store.models import Session as SessionRow
from alliance.store.security import ClientLink, LoginAttempt

logger = logging.getLogger(__name__)
LINK_PROBE = "(client link)"
MAX_BAD_LINKS = 30
MAX_MEASURES = 5
BAD_LINK_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NewLink:
    link: ClientLink
    token: str
    url: str


def create_link(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    session_id: str,
    instruments: Sequence[str],
    base_url: str,
    hours: float,
    version: str | None = None,
    sent_to: str | None = None,
) -> NewLink:
    """A link for the client to fill ``instruments`` in this order (``version`` only with
    one instrument)."""
    session, _, client = session_for(db, actor, session_id, write=True)
    if not 0 < hours <= 24 * 31:
        raise Invalid("a link lasts between a moment and 31 days", field="hours", value=hours)
    org = db.get(Organization, client.organization_id)
    chosen = _measures(db, registry, org=org, session=session, names=instruments, version=version)
    token = secrets.token_urlsafe(24)
    link = ClientLink(
        token_hash=token_digest(token),
        organization_id=client.organization_id,
        session_id=session.id,
        instrument=chosen[0].id,
        version=chosen[0].version,
        measures=[[inst.id, inst.version] for inst in chosen],
        created_by=actor.user_id,
        expires_at=utcnow() + dt.timedelta(hours=hours),
        sent_to=sent_to,
    )
    db.add(link)
    db.flush()
    audit.record(
        db,
        actor,
        "create",
        "client_link",
        link.id,
        session=session.id,
        measures=",".join(inst.id for inst in chosen),
    )
    return NewLink(link, token, f"{base_url.rstrip('/')}/f/{token}")


def _measures(
    db: Session,
    registry: Registry,
    *,
    org: Organization | None,
    session: SessionRow,
    names: Sequence[str],
    version: str | None,
) -> list[Instrument]:
    """The link's measures, each a client form the organization offers and the client has
    not yet rated for this session, none twice."""
    if not names:
        raise Invalid("choose at least one measure", field="instrument")
    if len(names) > MAX_MEASURES:
        raise Invalid(
            f"a link carries at most {MAX_MEASURES} measures",
            field="instrument",
            value=len(names),
        )
    offered = offered_instruments(org, registry) if org is not None else []
    chosen: list[Instrument] = []
    for name in names:
        inst = resolve_instrument(registry, name, version if len(names) == 1 else None)
        if "client" not in inst.perspectives:
            raise Invalid(f"{inst.id} has no client form", field="instrument")
        if inst.id not in offered:
            raise Invalid(
                "the organization does not offer this instrument to clients (an admin "
                "chooses them)",
                field="instrument",
                value=inst.id,
                allowed=", ".join(offered),
            )
        if any(inst.id == other.id for other in chosen):
            raise Invalid("a measure is named twice", field="instrument", value=inst.id)
        _not_rated_yet(db, session, inst)
        chosen.append(inst)
    return chosen


def _not_rated_yet(db: Session, session: SessionRow, inst: Instrument) -> None:
    """A session the client has rated on this form gets no second link: its rating is
    corrected instead (a link made earlier and answered later still corrects it)."""
    rated = current_rating(
        db, session_id=session.id, instrument=inst.id, perspective="client", stance="self",
        rater=CLIENT_RATER,
    )  # fmt: skip
    if rated is not None:
        raise Conflict(
            f"the client has already rated session {session.number} on the {inst.id} "
            f"(entered {rated.entered_at:%Y-%m-%d}); to change that rating, correct it "
            "instead of asking again",
            field="instrument",
            value=inst.id,
            allowed=f"POST /api/v1/administrations/{rated.id}/corrections, or Correct beside "
            "the rating on the client's page",
        )


@dataclass(frozen=True)
class LinkView:
    """What a client's form needs: no other client's data, nothing identifying."""

    link: ClientLink
    instrument: Instrument  # the measure to answer now
    organization: Organization
    session_date: dt.date
    language: str
    actor: Actor
    clinician_name: str
    measures: list[Instrument]  # all of the link's, in order
    step: int  # the index of ``instrument`` in ``measures``


def _link_actor(link: ClientLink, address: str | None) -> Actor:
    return Actor(kind="client_link", organization_id=link.organization_id, address=address)


def open_link(
    db: Session, registry: Registry, token: str, *, address: str, for_submission: bool = False
) -> LinkView:
    """The link's form, or :class:`Gone` (used or expired) / :class:`NotFound`.

    Only unknown tokens count towards the address's limit, and a known link opens whatever
    the count: a clinic's tablets and phones on its wifi share one address, and one person
    mistyping links must not lock the others out. (A token has 192 random bits, so the
    limit is against floods, not against guessing.)"""
    link = db.scalar(select(ClientLink).where(ClientLink.token_hash == token_digest(token)))
    if link is None:
        since = utcnow() - BAD_LINK_WINDOW
        bad = db.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == LINK_PROBE,
                LoginAttempt.address == address,
                LoginAttempt.at >= since,
            )
        )
        if (bad or 0) >= MAX_BAD_LINKS:
            raise RateLimited(
                "too many unknown links from this address; try again later",
                retry_after=int(BAD_LINK_WINDOW.total_seconds()),
            )
        db.add(LoginAttempt(username=LINK_PROBE, address=address))
        audit.record(db, Actor(kind="client_link", address=address), "link_unknown", "client_link")
        raise NotFound("this link is not known")
    actor = _link_actor(link, address)
    if link.used_at is not None and not for_submission:
        audit.record(db, actor, "link_used", "client_link", link.id)
        raise Gone("this link has already been used")
    if link.expires_at <= utcnow():
        audit.record(db, actor, "link_expired", "client_link", link.id)
        raise Gone("this link has expired")
    row = db.execute(
        select(SessionRow, Client, Organization, User.display_name)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .join(Organization, Organization.id == Client.organization_id)
        .join(User, User.id == Episode.clinician_id)
        .where(SessionRow.id == link.session_id)
    ).one()
    measures = [registry.get(instrument, version) for instrument, version in link.steps]
    step = min(link.answered, len(measures) - 1)
    audit.record(db, actor, "read", "client_link", link.id)
    return LinkView(
        link, measures[step], row[2], row[0].date, row[1].language, actor, row[3], measures, step
    )


def _step_key(link: ClientLink, step: int, idempotency_key: str) -> str:
    # the first step keeps the key of one-measure links, so a form sent before stays known
    return (
        f"link:{link.id}:{idempotency_key}"
        if step == 0
        else (f"link:{link.id}:{step}:{idempotency_key}")
    )


def submit_via_link(
    db: Session,
    registry: Registry,
    token: str,
    *,
    answers: Mapping[str, object],
    idempotency_key: str,
    address: str,
    language: str | None = None,
    licensed_wording: bool = False,
    step: int | None = None,
) -> Submission:
    """Store the client's answers to the link's measure ``step`` (by default the one due)
    and move the link on, in one transaction; the last measure uses the link up.

    A form sent again (same ``idempotency_key``) returns what was stored. A form for a
    measure already answered is :class:`Conflict` (or :class:`Gone` once the link is used
    up), one for a measure not yet due :class:`Invalid`."""
    view = open_link(db, registry, token, address=address, for_submission=True)
    link = view.link
    sent = [_step_key(link, k, idempotency_key) for k in range(link.answered)]
    done = (
        db.scalar(
            select(Administration).where(
                Administration.organization_id == link.organization_id,
                Administration.idempotency_key.in_(sent),
            )
        )
        if sent
        else None
    )
    if done is not None:
        return Submission(done, [], False)  # the same form sent twice: already stored
    if link.used_at is not None:
        raise Gone("this link has already been used")
    due = link.answered
    if step is not None and step < due:
        raise Conflict(
            f"measure {step + 1} of this link was answered already", field="step", value=step
        )
    if step is not None and step != due:
        raise Invalid(f"measure {due + 1} is the one due", field="step", value=step)
    inst = view.measures[due]
    session, episode, client = db.execute(
        select(SessionRow, Episode, Client)
        .join(Episode, Episode.id == SessionRow.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(SessionRow.id == link.session_id)
    ).one()
    submission = submit_administration(
        db,
        view.actor,
        registry,
        session_id=session.id,
        instrument=inst.id,
        version=inst.version,
        perspective="client",
        stance="self",
        answers=answers,
        idempotency_key=_step_key(link, due, idempotency_key),
        source="client_link",
        language=language,
        licensed_wording=licensed_wording,
        authorized_session=(session, episode, client),
    )
    last = due + 1 == len(view.measures)
    claimed = db.execute(
        update(ClientLink)
        .where(
            ClientLink.id == link.id,
            ClientLink.used_at.is_(None),
            ClientLink.answered == due,
        )
        .values(
            answered=due + 1,
            administration_id=submission.administration.id,
            **({"used_at": utcnow()} if last else {}),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise Gone("this link has already been used")
    return submission


def links_for_session(db: Session, actor: Actor, session_id: str) -> list[ClientLink]:
    session, _, _ = session_for(db, actor, session_id)
    audit.record(db, actor, "list", "client_link", session.id)
    return list(
        db.scalars(
            select(ClientLink)
            .where(ClientLink.session_id == session.id)
            .order_by(ClientLink.created_at)
        )
    )


def _mail_text(
    organization: str,
    session_date: dt.date,
    url: str,
    expires: dt.datetime,
    clinician: str,
    *,
    measures: int = 1,
    reminder: bool = False,
) -> str:
    """The link mail; ``measures`` is the number of questionnaires the link still asks."""
    how_long = "a minute" if measures == 1 else "a few minutes"
    asked = "a few short questions" if measures == 1 else f"{measures} short questionnaires"
    duration = "about a minute" if measures == 1 else "a few minutes"
    if reminder:
        opening = (
            f"Hello,\n\na reminder: {organization} asked a few days ago how your session with "
            f"{clinician} on {session_date:%d %B %Y} went, and the questions are still open. If "
            f"you have {how_long}, you can answer them here:\n\n{url}\n\nThis link replaces the "
            f"one in the earlier message, which no longer works; it works once, until "
            f"{expires:%d %B %Y %H:%M} UTC. This is the only reminder. "
        )
    else:
        opening = (
            f"Hello,\n\n{organization} would like to know how your session with {clinician} on "
            f"{session_date:%d %B %Y} went. Please answer {asked} ({duration}):\n\n"
            f"{url}\n\nThe link works once, until {expires:%d %B %Y %H:%M} UTC. "
        )
    return (
        f"{opening}Your answers go to {clinician} and the people who supervise their work.\n\n"
        f"If you did not expect this message, you can ignore it.\n"
    )


def send_link(
    db: Session,
    actor: Actor,
    registry: Registry,
    mailer: Mailer,
    *,
    session_id: str,
    instruments: Sequence[str],
    base_url: str,
    hours: float,
) -> NewLink:
    """Create a link and mail it to the client's address (their contact details).

    Unlike other use cases this one commits: the link is committed first, the mail goes out
    with no transaction open (so no database lock waits on the mail server), and the sending
    is recorded in a second transaction. If the mail cannot be sent, the link is withdrawn
    (it expires at once) and :class:`Unavailable` is raised."""
    new, mail = _mail_for_link(
        db,
        actor,
        registry,
        session_id=session_id,
        instruments=instruments,
        base_url=base_url,
        hours=hours,
    )
    db.commit()
    _deliver(db, actor, mailer, mail, new.link)
    audit.record(db, actor, "send", "client_link", new.link.id, channel="email")
    db.commit()
    return new


def _mail_for_link(
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    session_id: str,
    instruments: Sequence[str],
    base_url: str,
    hours: float,
    reminder: bool = False,
) -> tuple[NewLink, Mail]:
    session, episode, client = session_for(db, actor, session_id, write=True)
    contact = db.get(ClientContact, client.id)
    if contact is None or not contact.email:
        raise Invalid("this client has no e-mail address in their contact details", field="email")
    new = create_link(
        db,
        actor,
        registry,
        session_id=session_id,
        instruments=instruments,
        base_url=base_url,
        hours=hours,
        sent_to="email",
    )
    organization = db.get(Organization, client.organization_id)
    clinician = db.get(User, episode.clinician_id)
    name = organization.name if organization else "Your clinic"
    mail = Mail(
        to=contact.email,
        subject=f"{name}: {'reminder: ' if reminder else ''}a few questions about your session",
        text=_mail_text(
            name,
            session.date,
            new.url,
            new.link.expires_at,
            clinician.display_name if clinician else "your clinician",
            measures=len(instruments),
            reminder=reminder,
        ),
    )
    return new, mail


def _deliver(db: Session, actor: Actor, mailer: Mailer, mail: Mail, link: ClientLink) -> None:
    """Send ``mail`` (no transaction open); if it fails, withdraw ``link`` and commit that."""
    try:
        mailer.send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        # the link's id and the error's kind, never the address (refusals name it) or the text
        logger.warning(
            "mail for client link %s not sent: %s %s",
            link.id,
            type(exc).__name__,
            getattr(exc, "smtp_code", ""),
        )
        link.expires_at = utcnow()
        audit.record(db, actor, "withdraw", "client_link", link.id, reason="mail not sent")
        db.commit()
        raise Unavailable(
            f"the mail could not be sent ({exc.__class__.__name__}); "
            "nothing was sent and the link was withdrawn"
        ) from None


def send_reminders(
    db: Session,
    registry: Registry,
    mailer: Mailer,
    *,
    base_url: str,
    after_hours: float,
    link_hours: float,
) -> int:
    """Mail one reminder for each e-mailed link still unused after ``after_hours``: a fresh
    link replaces the old one, which stops working. Returns how many were sent."""
    now = utcnow()
    due = list(
        db.scalars(
            select(ClientLink).where(
                ClientLink.sent_to == "email",
                ClientLink.used_at.is_(None),
                ClientLink.reminded_at.is_(None),
                ClientLink.expires_at > now,
                ClientLink.created_at <= now - dt.timedelta(hours=after_hours),
            )
        )
    )
    sent = 0
    for old in due:
        creator = db.get(User, old.created_by)
        if creator is None or not creator.active:
            continue
        actor = Actor(
            kind="system", organization_id=old.organization_id, user_id=creator.id, role="clinician"
        )
        try:
            with db.begin_nested():
                new, mail = _mail_for_link(
                    db,
                    actor,  # the system, on behalf of the clinician who made the first link
                    registry,
                    session_id=old.session_id,
                    # what is left of the old link's measures
                    instruments=[i for i, _ in old.steps[old.answered :]],
                    base_url=base_url,
                    hours=link_hours,
                    reminder=True,
                )
        except (Invalid, Conflict):  # no address any more, or the session was rated since
            continue
        new.link.reminded_at = now  # a reminder is not reminded again
        old.reminded_at = now
        db.commit()  # the new link exists before its mail goes out; no lock while sending
        try:
            _deliver(db, actor, mailer, mail, new.link)
        except Unavailable:
            continue  # the old link keeps working; its reminder is not tried again
        old.expires_at = now  # the fresh link replaces it
        audit.record(db, actor, "remind", "client_link", old.id)
        db.commit()
        sent += 1
    return sent
