"""The branch shown, read in pages from its newest message up.

A conversation's branch is the path from its current leaf up the parent links to the root
(see `desktop.storage.conversations`). `BranchPages` reads it the way a long chat is
opened: the newest `limit` messages first, then the `limit` messages above a given one as
the reader scrolls up, each page one recursive query that follows `limit` parent links by
primary key, so a page costs the same at message 50 or 50,000. `length` counts the
branch's messages (without reading their text) so each one read knows its place in it;
`distance` says how far up from the leaf a message sits, for opening the chat at it.

Thread: like the `ConversationStore` whose database it reads (one thread).
"""

from __future__ import annotations

from desktop.storage.conversations import MESSAGE_SELECT, StoredMessage, message_from_row
from desktop.storage.db import Database

#: The walk up from a start message (`:start`), at most `:limit` messages, newest first.
_WALK_UP = (
    "WITH RECURSIVE path(id, depth) AS ("
    " SELECT :start, 0 WHERE :start IS NOT NULL AND :limit > 0"
    " UNION ALL SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id"
    "  WHERE m.parent_id IS NOT NULL AND path.depth + 1 < :limit)"
)
_LEAF = "(SELECT current_leaf_id FROM conversations WHERE id = :conversation)"


class BranchPages:
    """Pages of the branch shown of a conversation, read from `db` (one thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def newest(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        """The last `limit` messages of the branch shown, oldest first."""
        walk = _WALK_UP.replace(":start", _LEAF)
        return self._read(walk, {"conversation": conversation_id, "limit": limit})

    def older(self, message_id: int, limit: int) -> list[StoredMessage]:
        """The `limit` messages above `message_id` on its branch (its parent and up),
        oldest first; empty at the root."""
        parent = "(SELECT parent_id FROM messages WHERE id = :message)"
        walk = _WALK_UP.replace(":start", parent)
        return self._read(walk, {"message": message_id, "limit": limit})

    def length(self, conversation_id: int) -> int:
        """How many messages the branch shown has, system messages not counted."""
        return int(
            self.db.scalar(
                "WITH RECURSIVE path(id, role) AS ("
                f" SELECT {_LEAF}, NULL"
                " UNION ALL SELECT m.parent_id, m.role FROM messages m JOIN path ON m.id = path.id"
                "  WHERE path.id IS NOT NULL)"
                " SELECT count(*) FROM path WHERE role IS NOT NULL AND role <> 'system'",
                {"conversation": conversation_id},
            )
        )

    def distance(self, conversation_id: int, message_id: int) -> int | None:
        """How many messages from the leaf up to `message_id` (1: it is the leaf), or
        None when it is not on the branch shown."""
        value = self.db.scalar(
            "WITH RECURSIVE path(id, depth) AS ("
            f" SELECT {_LEAF}, 1"
            " UNION ALL SELECT m.parent_id, path.depth + 1 FROM messages m"
            "  JOIN path ON m.id = path.id WHERE path.id <> :message)"
            " SELECT depth FROM path WHERE id = :message",
            {"conversation": conversation_id, "message": message_id},
        )
        return None if value is None else int(value)

    def _read(self, walk: str, params: dict[str, int]) -> list[StoredMessage]:
        rows = self.db.query_all(
            f"{walk}{MESSAGE_SELECT} FROM path JOIN messages m ON m.id = path.id"
            " ORDER BY path.depth DESC",
            params,
        )
        return [message_from_row(row) for row in rows]
