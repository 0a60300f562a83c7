"""Identifiers other systems give a client (an EHR's medical record number): patient matching.

An identifier is a ``system`` (a URI, such as the EHR's ``urn:oid:…``) and a ``value``,
unique in the organization. Identifying data like the contact details: only the client's own
clinicians (those who may change the client) add, read or match by it, and every use is
audited. Imports (a FHIR response whose subject carries only the EHR's identifier, a table
whose ``client`` column holds ``<system>|<value>``) and the FHIR interface find the client
by it (:func:`client_by_identifier`); nothing creates a client from an identifier alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.services import audit
from alliance.services.accounts.access import access_params, client_for, writable_clients
from alliance.services.context import Actor
from alliance.services.errors import Conflict, Invalid, NotFound
from alliance.store.models import Client, ClientIdentifier

SEPARATOR = "|"
"""``<system>|<value>``, as FHIR search writes a token (``identifier=urn:oid:1.2|MRN-7``)."""


def split_identifier(text: str, field: str = "identifier") -> tuple[str, str]:
    """``<system>|<value>`` → (system, value); both must be given."""
    system, sep, value = text.partition(SEPARATOR)
    if not sep or not system.strip() or not value.strip():
        raise Invalid(
            "an identifier is <system>|<value>, both given",
            field=field,
            value=text,
            allowed="<system>|<value>, e.g. urn:oid:1.2.3|MRN-0042",
        )
    return system.strip(), value.strip()


def is_identifier(name: str) -> bool:
    """Whether a client name is ``<system>|<value>`` (client codes never hold ``|``)."""
    return SEPARATOR in name


def add_identifier(
    db: Session, actor: Actor, client_id: str, *, system: str, value: str
) -> ClientIdentifier:
    """Give the client another system's identifier (once per organization)."""
    client = client_for(db, actor, client_id, write=True)
    system, value = split_identifier(f"{system}{SEPARATOR}{value}")
    taken = db.scalar(
        select(ClientIdentifier).where(
            ClientIdentifier.organization_id == client.organization_id,
            ClientIdentifier.system == system,
            ClientIdentifier.value == value,
        )
    )
    if taken is not None:
        if taken.client_id == client.id:
            return taken
        raise Conflict("another client of the organization has this identifier", field="value")
    row = ClientIdentifier(
        organization_id=client.organization_id, client_id=client.id, system=system, value=value
    )
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "client_identifier", row.id, client=client.id)
    return row


def identifiers_of(db: Session, actor: Actor, client_id: str) -> list[ClientIdentifier]:
    client = client_for(db, actor, client_id, write=True)
    audit.record(db, actor, "read", "client_identifier", client.id, client=client.id)
    return list(
        db.scalars(
            select(ClientIdentifier)
            .where(ClientIdentifier.client_id == client.id)
            .order_by(ClientIdentifier.system, ClientIdentifier.value)
        )
    )


def clients_by_identifiers(
    db: Session, actor: Actor, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Client]:
    """The clients the actor may change that carry each identifier (missing ones left out)."""
    wanted = set(pairs)
    found: dict[tuple[str, str], Client] = {}
    for system in {s for s, _ in wanted}:
        values = sorted(v for s, v in wanted if s == system)
        rows = db.execute(
            select(ClientIdentifier.value, Client)
            .join(Client, Client.id == ClientIdentifier.client_id)
            .where(
                ClientIdentifier.organization_id == actor.organization_id,
                ClientIdentifier.system == system,
                ClientIdentifier.value.in_(values),
                writable_clients(actor),
            ),
            access_params(actor),
        )
        for value, client in rows:
            found[(system, value)] = client
    for client_id in sorted({c.id for c in found.values()}):
        audit.record(db, actor, "read", "client_identifier", client_id, client=client_id)
    return found


def client_by_identifier(db: Session, actor: Actor, system: str, value: str) -> Client:
    """The client with this identifier that the actor may change; NotFound otherwise (a
    client the actor may not change is not told apart from none)."""
    found = clients_by_identifiers(db, actor, [(system, value)]).get((system, value))
    if found is None:
        raise NotFound(
            f"no client of yours has the identifier {system}{SEPARATOR}{value}; add it to the "
            "client first (POST /api/v1/clients/{client_id}/identifiers)",
            field="identifier",
        )
    return found
