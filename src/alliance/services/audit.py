"""The audit trail: every read and write of client data writes an event, chained by hash.

Use cases call :func:`record`; the events wait on the database session and are appended at
commit (:func:`install`), in the same transaction as the change they describe, to one of the
parallel chains (chosen at random), holding that chain's head row only for the last moments of
the transaction. An event's hash is ``sha256(prev_hash + canonical JSON of its fields)``;
:func:`verify` recomputes every chain and names the first event that does not fit (edited,
inserted, reordered or deleted), as ``chain/seq``.

The chains alone cannot show that their last events were deleted *and* the heads rolled back
to match: the database then holds a shorter, consistent trail. A :class:`Checkpoint` closes
that gap from outside the database: :func:`checkpoint` records every chain's length and a
digest of the events at those lengths, signed with HMAC-SHA256 under a key kept outside the
database (or unsigned, for the operator to keep where the database's users cannot write);
:func:`verify` with ``checkpoints`` then also requires each chain to still reach every
checkpoint's length with the same events.

An erasure (``services/redaction.py``) rewrites the events that named the erased client: the
client's ids become ``"erased"`` and a client's own address is dropped. Such an event's hash
no longer fits its content, so it is marked ``redacted_by`` the erasure event, which lists it
with the hash its present content would have; :func:`verify` checks every other event as
before, the links of all, and each redacted event against that list (the erasure event being
itself verified in its chain). What was removed is in no row; the chain heads do not change,
so checkpoints taken before the erasure still hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from alliance.services.context import Actor
from alliance.store.audit import CHAINS, GENESIS, AuditEvent, AuditHead
from alliance.store.base import utcnow

_PENDING = "alliance.audit.pending"


def record(
    db: Session,
    actor: Actor,
    action: str,
    record_type: str,
    record_id: str | None = None,
    **detail: Any,
) -> None:
    """Queue an audit event; it is written when ``db`` commits. ``detail`` must hold no
    client data (ids and counts only). A record id or address longer than its column (an id
    someone made up) is cut to fit, marked with ``…``: a refused request is still recorded."""
    db.info.setdefault(_PENDING, []).append(_event(actor, action, record_type, record_id, detail))


def queued(db: Session) -> list[dict[str, Any]]:
    """The events waiting for ``db``'s commit (to redact them before they are written)."""
    events: list[dict[str, Any]] = db.info.setdefault(_PENDING, [])
    return events


def _event(
    actor: Actor, action: str, record_type: str, record_id: str | None, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "organization_id": actor.organization_id,
        "actor_kind": actor.kind,
        "actor_id": actor.user_id,
        "action": action,
        "record_type": record_type,
        "record_id": _fit(record_id),
        "address": _fit(actor.address),
        "detail": detail,
    }


def record_now(
    db: Session,
    actor: Actor,
    action: str,
    record_type: str,
    record_id: str | None = None,
    **detail: Any,
) -> str:
    """Append one event at once (in ``db``'s transaction, which holds its chain's head until
    it ends) and return where it is, ``chain/seq``: for an event other rows must name. Events
    queued before it go first, to the same chain (a transaction holds one chain's head)."""
    queued: list[dict[str, Any]] = db.info.pop(_PENDING, [])
    return _append(db, [*queued, _event(actor, action, record_type, record_id, detail)])


FIELD_LENGTH = 64  # audit_events.record_id and .address


def _fit(value: str | None) -> str | None:
    if value is None or len(value) <= FIELD_LENGTH:
        return value
    return value[: FIELD_LENGTH - 1] + "…"


def install(session_class: Any) -> None:
    """Write queued events at every commit of sessions of ``session_class`` (installing twice
    is harmless: the second listener finds the queue empty)."""
    event.listen(session_class, "before_commit", _flush_events)
    event.listen(session_class, "after_rollback", _drop_events)


def _drop_events(db: Session) -> None:
    db.info.pop(_PENDING, None)


def _flush_events(db: Session) -> None:
    if db.in_nested_transaction():
        return  # a savepoint ends, not the transaction: the events wait for the real commit
    pending: list[dict[str, Any]] = db.info.pop(_PENDING, [])
    if pending:
        _append(db, pending)


def _append(db: Session, pending: list[dict[str, Any]]) -> str:
    """Append ``pending`` to a chain chosen at random; where the last of them is."""
    chain = random.randrange(CHAINS)
    head = db.execute(select(AuditHead).where(AuditHead.id == chain).with_for_update()).scalar_one()
    seq, prev = head.last_seq, head.last_hash
    rows = []
    for queued in pending:
        seq += 1
        fields = {**queued, "chain": chain, "seq": seq, "prev_hash": prev}
        digest = event_hash(fields)
        rows.append({**fields, "hash": digest})
        prev = digest
    db.execute(insert(AuditEvent), rows)  # one batched statement (an import writes thousands)
    db.execute(update(AuditHead).where(AuditHead.id == chain).values(last_seq=seq, last_hash=prev))
    db.flush()
    return f"{chain}/{seq}"


def _canonical(fields: dict[str, Any]) -> bytes:
    at = fields["at"]
    if isinstance(at, dt.datetime):
        at = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    payload = {
        "chain": fields["chain"],
        "seq": fields["seq"],
        "at": at,
        "organization_id": fields["organization_id"],
        "actor_kind": fields["actor_kind"],
        "actor_id": fields["actor_id"],
        "action": fields["action"],
        "record_type": fields["record_type"],
        "record_id": fields["record_id"],
        "address": fields["address"],
        "detail": fields["detail"],
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(fields["prev_hash"].encode() + _canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken: str | None = None
    problem: str | None = None
    scope: str = "installation"
    checkpoints: int = 0

    def describe(self) -> str:
        if self.ok:
            if self.scope == "organization":
                return (
                    f"audit trail intact: {self.checked:,} events of this organization, "
                    "every chain verified"
                )
            held = (
                f", and it still holds the events of {self.checkpoints} checkpoint(s)"
                if self.checkpoints
                else ""
            )
            return f"audit trail intact: {self.checked:,} events, every chain verified{held}"
        where = f" at event {self.first_broken}" if self.first_broken else ""
        return f"audit trail BROKEN{where}: {self.problem} ({self.checked:,} events checked)"


FIELDS = (
    "chain",
    "seq",
    "at",
    "organization_id",
    "actor_kind",
    "actor_id",
    "action",
    "record_type",
    "record_id",
    "address",
    "detail",
    "prev_hash",
)
ELSEWHERE = (
    "the installation's audit trail does not verify at an event that is not this "
    "organization's; the operator of the installation should run `alliance audit verify`"
)


def verify(
    db: Session,
    *,
    batch: int = 5000,
    organization_id: str | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    key: bytes | None = None,
) -> Verification:
    """Recompute every chain from its first event to its head, and (installation only)
    check that the trail still holds what each of ``checkpoints`` saw; a signed checkpoint
    needs the ``key`` it was signed with.

    With ``organization_id`` (an organization's admin asking) every chain is still checked —
    the chains interleave the organizations' events — but only that organization's events are
    counted, and a broken event is named only when it is one of them."""
    result = _verify(db, batch=batch, organization_id=organization_id)
    if organization_id is None:
        if not result.ok or not checkpoints:
            return result
        for point in checkpoints:
            found = _against(db, point, key)
            if found is not None:
                return replace(result, ok=False, first_broken=found[0], problem=found[1])
        return replace(result, checkpoints=len(checkpoints))
    if result.ok:
        return Verification(True, result.checked, scope="organization")
    if result.first_broken is not None and result.problem is not None:
        chain, _, seq = result.first_broken.partition("/")
        owner = (
            db.scalar(
                select(AuditEvent.organization_id).where(
                    AuditEvent.chain == int(chain), AuditEvent.seq == int(seq)
                )
            )
            if seq.isdigit()
            else None
        )
        if owner == organization_id:
            return Verification(
                False, result.checked, result.first_broken, result.problem, "organization"
            )
    return Verification(False, result.checked, None, ELSEWHERE, "organization")


def _verify(db: Session, *, batch: int, organization_id: str | None) -> Verification:
    heads = {h.id: h for h in db.scalars(select(AuditHead))}
    checked = 0
    redacted: list[tuple[str, str, str]] = []  # (event, its erasure event, digest now)

    def counts(row: AuditEvent) -> int:
        return 1 if organization_id is None or row.organization_id == organization_id else 0

    for chain in range(CHAINS):
        head = heads.get(chain)
        if head is None:
            return Verification(False, checked, f"{chain}/-", "the chain's head row is missing")
        prev, expected, last_seen = GENESIS, 1, 0
        while True:
            rows = db.scalars(
                select(AuditEvent)
                .where(AuditEvent.chain == chain, AuditEvent.seq > last_seen)
                .order_by(AuditEvent.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                last_seen = row.seq
                where = f"{chain}/{expected}"
                if row.seq != expected:
                    return Verification(
                        False,
                        checked,
                        where,
                        f"the event is missing (the next is {chain}/{row.seq})",
                    )
                if row.prev_hash != prev:
                    return Verification(
                        False, checked, where, "its link to the previous event does not match"
                    )
                fields = {c: getattr(row, c) for c in FIELDS}
                if row.redacted_by is not None:
                    redacted.append((where, row.redacted_by, event_hash(fields)))
                elif event_hash(fields) != row.hash:
                    return Verification(
                        False, checked, where, "its content does not match its hash (edited)"
                    )
                prev = row.hash
                expected += 1
                checked += counts(row)
        if head.last_seq != expected - 1 or head.last_hash != prev:
            return Verification(
                False,
                checked,
                f"{chain}/{expected}",
                f"the chain's head records {head.last_seq} events but {expected - 1} were found "
                "(events were deleted from the end)",
            )
    for where, by, digest in redacted:
        if not _listed(db, by, where, digest):
            return Verification(
                False,
                checked,
                where,
                f"it is marked redacted by {by}, but that event does not list it with its "
                "present content (edited)",
            )
    return Verification(True, checked)


def _listed(db: Session, by: str, where: str, digest: str) -> bool:
    """Whether the event at ``by`` (verified with its chain) lists the event at ``where``
    with ``digest``, the hash its present content would have (see services/redaction.py)."""
    chain, _, seq = by.partition("/")
    if not (chain.isdigit() and seq.isdigit()):
        return False
    detail = db.scalar(
        select(AuditEvent.detail).where(AuditEvent.chain == int(chain), AuditEvent.seq == int(seq))
    )
    listed = detail.get("redacted") if isinstance(detail, dict) else None
    return isinstance(listed, dict) and listed.get(where) == digest


CHECKPOINT_FORMAT = "alliance-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """Every chain's length at one moment and a digest of the events at those lengths, as
    one line of JSON to keep outside the database; ``signature`` is the HMAC-SHA256 of the
    rest under the operator's key (None: unsigned)."""

    at: str
    lengths: tuple[int, ...]
    digest: str
    signature: str | None = None

    def payload(self) -> bytes:
        fields = {
            "format": CHECKPOINT_FORMAT,
            "at": self.at,
            "lengths": list(self.lengths),
            "digest": self.digest,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def text(self) -> str:
        fields = json.loads(self.payload())
        if self.signature is not None:
            fields["hmac_sha256"] = self.signature
        return json.dumps(fields, separators=(",", ":"))

    def signed(self, key: bytes) -> Checkpoint:
        return replace(self, signature=_sign(key, self.payload()))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint from its line; ValueError naming what is wrong."""
        try:
            fields = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("not a checkpoint line (not JSON)") from None
        if not isinstance(fields, dict) or fields.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a checkpoint line (format {CHECKPOINT_FORMAT} expected)")
        lengths, digest, at = fields.get("lengths"), fields.get("digest"), fields.get("at")
        signature = fields.get("hmac_sha256")
        if (
            not isinstance(lengths, list)
            or len(lengths) != CHAINS
            or not all(isinstance(n, int) and n >= 0 for n in lengths)
            or not isinstance(digest, str)
            or not isinstance(at, str)
            or not (signature is None or isinstance(signature, str))
        ):
            raise ValueError(f"a checkpoint line holds at, {CHAINS} lengths and a digest")
        return cls(at, tuple(lengths), digest, signature)


def _sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _digest(ends: Sequence[tuple[int, int, str]]) -> str:
    """sha256 over ``chain:length:hash`` lines, the hash being that of the chain's last
    event (GENESIS for an empty chain)."""
    text = "".join(f"{chain}:{length}:{last}\n" for chain, length, last in ends)
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint(db: Session, *, key: bytes | None = None) -> Checkpoint:
    """The trail's current heads as a checkpoint, signed with ``key`` when given. The heads
    are read in one statement, so the checkpoint is of one committed state."""
    heads = db.execute(
        select(AuditHead.id, AuditHead.last_seq, AuditHead.last_hash).order_by(AuditHead.id)
    ).all()
    if [h.id for h in heads] != list(range(CHAINS)):
        raise RuntimeError("the audit trail's head rows are missing; run `alliance audit verify`")
    point = Checkpoint(
        at=utcnow().isoformat(timespec="seconds"),
        lengths=tuple(h.last_seq for h in heads),
        digest=_digest([(h.id, h.last_seq, h.last_hash) for h in heads]),
    )
    return point.signed(key) if key is not None else point


def _against(db: Session, point: Checkpoint, key: bytes | None) -> tuple[str | None, str] | None:
    """Where and how the trail no longer holds what ``point`` saw (None: it does)."""
    if point.signature is not None:
        if key is None:
            return None, f"the checkpoint of {point.at} is signed; give the key it was signed with"
        if not hmac.compare_digest(point.signature, _sign(key, point.payload())):
            return None, (
                f"the checkpoint of {point.at} does not match its signature (edited, or "
                "signed with another key)"
            )
    heads = {h.id: h.last_seq for h in db.scalars(select(AuditHead))}
    ends = []
    for chain, length in enumerate(point.lengths):
        held = heads.get(chain, 0)
        if held < length:
            return f"{chain}/{held + 1}", (
                f"the checkpoint of {point.at} saw {length} events in chain {chain} but it "
                f"holds {held}: events were deleted from the end and the head rolled back"
            )
        last = GENESIS
        if length:
            last = (
                db.scalar(
                    select(AuditEvent.hash).where(
                        AuditEvent.chain == chain, AuditEvent.seq == length
                    )
                )
                or ""
            )
        ends.append((chain, length, last))
    if _digest(ends) != point.digest:
        return None, (
            f"the events the checkpoint of {point.at} saw were replaced (the chains were "
            "rewritten since)"
        )
    return None
