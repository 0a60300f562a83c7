"""What an import stored: the result both the import (:mod:`.imports`) and the placing of its
rows (:mod:`.placement`) fill in."""

from __future__ import annotations

from dataclasses import dataclass, field

from alliance.text import counted


@dataclass
class ImportResult:
    """What an import stored."""

    source: str
    rows: int
    stored: int = 0
    already_stored: int = 0
    corrected: int = 0
    """Stored rows that corrected a session's current rating of the same form and rater."""
    clients_created: int = 0
    episodes_created: int = 0
    sessions_created: int = 0
    risk_alerts: int = 0
    skipped: int = 0
    client_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.source}: {self.stored:,} of {counted(self.rows, 'administration')} stored"]
        if self.corrected:
            parts.append(f"{self.corrected:,} of them correcting a rating already stored")
        if self.already_stored:
            parts.append(f"{self.already_stored:,} already stored")
        made = [
            counted(n, f"new {what}")
            for n, what in (
                (self.clients_created, "client"),
                (self.episodes_created, "episode"),
                (self.sessions_created, "session"),
            )
            if n
        ]
        if made:
            parts.append(", ".join(made))
        if self.risk_alerts:
            parts.append(f"{counted(self.risk_alerts, 'urgent risk alert')} raised")
        if self.skipped:
            parts.append(f"{counted(self.skipped, 'empty row')} skipped")
        return "; ".join(parts)
