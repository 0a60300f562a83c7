"""Who is acting: a logged-in user, an integration's token, a client's link, or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "token", "client_link", "system"]
Role = Literal["clinician", "supervisor", "researcher", "admin"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    user_id: str | None = None
    organization_id: str | None = None
    role: Role | None = None
    team_id: str | None = None
    address: str | None = None

    @classmethod
    def system(cls, organization_id: str | None = None) -> Actor:
        """The command line or a background job acting for the installation."""
        return cls(kind="system", organization_id=organization_id)

    @property
    def is_system(self) -> bool:
        return self.kind == "system"
