"""What every request shares: settings, the database, the instrument registry and wording."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alliance.config import Settings
from alliance.instruments.registry import Registry, default_registry
from alliance.instruments.wording import WordingPack, load_pack_directory
from alliance.services import audit
from alliance.store.engine import make_engine, session_factory
from alliance.store.security import SiteSecret


@dataclass
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
