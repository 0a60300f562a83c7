"""The audit trail: who did what to which record, when, from where — chained by hash.

Events form ``CHAINS`` parallel hash chains. Each event stores the hash of the one before it
in its chain and its own hash over its content, so an edited, inserted or deleted event breaks
its chain at that point. Each chain has a head row holding its last sequence number and hash;
appending locks that row until the transaction ends, which orders the chain. Several chains
let several transactions commit (and wait for the disk) at the same time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from alliance.store.base import Base, JSONType, UTCDateTime

GENESIS = "0" * 64
CHAINS = 16


class AuditEvent(Base):
    __tablename__ = "audit_events"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    organization_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))  # user, token, client_link, system
    actor_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # "chain/seq" of the erasure event that redacted this one's client references (and lists
    # the digest of what it holds now); outside the hash, checked by verify against that list
    redacted_by: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """A chain's head: one row per chain, locked while events are appended to it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
