"""What every request shares: settings, the database, the instrument registry and wording."""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alliance.config import Settings
from alliance.instruments.registry import Registry, default_registry
from alliance.instruments.wording import WordingPack, load_pack_directory
from alliance.services import audit
from alliance.services.analysis import refresh_alerts
from alliance.services.mail import Mailer, SmtpMailer
from alliance.store.engine import make_engine, session_factory
from alliance.store.security import SiteSecret

logger = logging.getLogger("alliance.web")


@dataclass(eq=False)
class Clinic:
    """Built once per process by :func:`alliance.web.app.create_app`; holds no per-user state."""

    settings: Settings
    engine: Engine

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> Clinic:
        return cls(settings, engine or make_engine(settings.database_url))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        factory = session_factory(self.engine)
        audit.install(factory)
        return factory

    @cached_property
    def registry(self) -> Registry:
        return default_registry(self.settings.instruments_dir)

    @cached_property
    def wording_packs(self) -> list[WordingPack]:
        if self.settings.wording_dir is None:
            return []
        return load_pack_directory(self.settings.wording_dir, self.registry)

    @cached_property
    def mailer(self) -> Mailer | None:
        """The mail server's sender, or None when no mail server is configured."""
        s = self.settings
        if not s.smtp_host:
            return None
        return SmtpMailer(
            s.smtp_host, s.smtp_port, s.mail_from, s.smtp_user, s.smtp_password, s.smtp_starttls
        )

    @cached_property
    def secret_key(self) -> str:
        """The configured key, or one generated once and kept in the database, so that every
        worker of the installation signs with the same key."""
        if self.settings.secret_key:
            return self.settings.secret_key
        with self.sessions() as db:
            row = db.scalar(select(SiteSecret).where(SiteSecret.name == "secret_key"))
            if row is not None:
                return row.value
            db.add(SiteSecret(name="secret_key", value=secrets.token_urlsafe(48)))
            try:
                db.commit()
            except IntegrityError:  # another worker created it first
                db.rollback()
            value = db.scalar(select(SiteSecret.value).where(SiteSecret.name == "secret_key"))
            if value is None:
                raise RuntimeError("could not create the site secret")
            return value


_analysing: set[str] = set()
_again: set[str] = set()
_analysis_lock = threading.Lock()


def analyse(clinic: Clinic, client_id: str) -> None:
    """Run the analytics for a client and open alerts for new signals (after a response has
    been sent; a failure here never loses a submission, and risk alerts do not depend on it).

    Submissions for a client that arrive while its analysis runs are coalesced into one more
    run, so a burst costs at most two analyses per worker, and the last sees every answer."""
    if not client_id:
        return
    with _analysis_lock:
        if client_id in _analysing:
            _again.add(client_id)
            return
        _analysing.add(client_id)
    try:
        while True:
            try:
                with clinic.sessions() as db:
                    refresh_alerts(db, clinic.registry, client_id)
                    db.commit()
            except Exception:  # keep serving; the log holds no client data
                logger.exception("the analysis after a submission failed")
            with _analysis_lock:
                if client_id not in _again:
                    break
                _again.discard(client_id)
    finally:
        with _analysis_lock:
            _analysing.discard(client_id)
