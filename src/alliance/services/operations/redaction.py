"""Redacting an erased client from the audit trail, which then still verifies.

The trail holds no client content by rule (``audit.record``: ids and counts only), but it
names the client's records by their ids, and the events a client's own link caused hold the
client's network address. An erasure rewrites every event that names one of the erased ids:
each such id becomes ``"erased"`` (in the record id and anywhere in the detail, lists of a
caseload included) and an address that was the client's is dropped. The rewritten event's
hash no longer fits its content, so it is marked ``redacted_by`` the erasure event, which is
appended in the same transaction and lists every event it redacted with the hash its present
content would have (``redacted``: ``{"chain/seq": digest}``). ``audit.verify`` checks those
events against that list and every other event as before; the chains' links and heads are
untouched, so checkpoints taken before the erasure still hold. The erasure event itself names
no client: only the reason, the policy and counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.context import Actor
from alliance.store.audit import AuditEvent

ERASED = "erased"
_BATCH = 200  # ids per statement when looking for the events that name them


def _scrubber(ids: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {_scrub(k, pattern): _scrub(v, pattern) for k, v in value.items()}
    return value


def _naming(db: Session, ids: list[str]) -> list[AuditEvent]:
    found: dict[tuple[int, int], AuditEvent] = {}
    for start in range(0, len(ids), _BATCH):
        part = ids[start : start + _BATCH]
        where = or_(
            AuditEvent.record_id.in_(part),
            *(cast(AuditEvent.detail, Text).contains(i, autoescape=True) for i in part),
        )
        for row in db.scalars(select(AuditEvent).where(where)):
            found[(row.chain, row.seq)] = row
    return [found[k] for k in sorted(found)]


def redact_and_record(
    db: Session, actor: Actor, ids: set[str], *, action: str, record_type: str, **detail: Any
) -> tuple[str, int]:
    """Rewrite the events naming any of ``ids`` and append the event of ``action`` that lists
    them; returns where that event is (``chain/seq``) and how many events were redacted."""
    pattern = _scrubber(ids)
    for waiting in audit.queued(db):  # events of this transaction, not yet written
        waiting["record_id"] = _scrub(waiting["record_id"], pattern)
        waiting["detail"] = _scrub(waiting["detail"], pattern)
    rows = _naming(db, sorted(ids)) if ids else []
    listed: dict[str, str] = {}
    for row in rows:
        row.record_id = _scrub(row.record_id, pattern)
        row.detail = _scrub(row.detail, pattern)
        if row.actor_kind == "client_link":
            row.address = None  # the client's own network address
        fields = {c: getattr(row, c) for c in audit.FIELDS}
        listed[f"{row.chain}/{row.seq}"] = audit.event_hash(fields)
    db.flush()
    where = audit.record_now(db, actor, action, record_type, None, **detail, redacted=listed)
    for row in rows:
        row.redacted_by = where
    db.flush()
    return where, len(rows)
