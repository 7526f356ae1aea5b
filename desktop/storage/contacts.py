"""The local log of every contact Hearth made with another computer, for the Privacy page.

Each time a feature that passed `NetworkPolicy.require()` contacts a host (a download, a
request to the user's own server), it records the host, what for and a short detail (a file
name, a conversation's title) here. The log lives in the encrypted store like the
conversations, because the details can be private. Plain Python over `Database`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from desktop.storage.db import Database

KEEP = 5000  # the oldest entries beyond this many are dropped when a new one is recorded


@dataclass(frozen=True)
class Contact:
    at: datetime
    host: str
    purpose: str
    detail: str


class ContactLog:
    """`record` a contact; `recent` lists them, newest first."""

    def __init__(self, db: Database, *, keep: int = KEEP) -> None:
        self._db = db
        self._keep = keep

    def record(self, host: str, purpose: str, detail: str = "") -> None:
        if not host.strip():
            raise ValueError("a contact needs the host that was contacted")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO network_contacts (at, host, purpose, detail) VALUES (?, ?, ?, ?)",
                (stamp, host.strip().lower(), purpose, detail),
            )
            self._db.execute(
                "DELETE FROM network_contacts WHERE id <= "
                "(SELECT max(id) FROM network_contacts) - ?",
                (self._keep,),
            )

    def recent(self, limit: int = 200, *, host: str | None = None) -> list[Contact]:
        if host is None:
            rows = self._db.query_all(
                "SELECT at, host, purpose, detail FROM network_contacts ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = self._db.query_all(
                "SELECT at, host, purpose, detail FROM network_contacts WHERE host = ? "
                "ORDER BY id DESC LIMIT ?",
                (host.lower(), limit),
            )
        return [Contact(datetime.fromisoformat(at), h, p, d) for at, h, p, d in rows]

    def hosts(self) -> list[tuple[str, datetime, int]]:
        """Each host ever contacted, with the last time and how many contacts."""
        rows = self._db.query_all(
            "SELECT host, max(at), count(*) FROM network_contacts "
            "GROUP BY host ORDER BY max(id) DESC"
        )
        return [(h, datetime.fromisoformat(at), int(n)) for h, at, n in rows]
