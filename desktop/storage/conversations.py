"""The conversation store: conversations, their message trees, the trash and full-text search.

A conversation's messages form a tree. Versions of a message (an edited question, a
regenerated reply) are siblings sharing a parent, ordered by id; `current_leaf_id` says which
branch is shown, and `branch()` returns it from root to leaf.

Thread: a `ConversationStore` uses its `Database` from one thread only (the GUI thread's
controller or a single writer thread); the connection refuses calls from other threads.
Every write is one transaction. `update_message_content()` is one `UPDATE` of one row and no
index work while the message is `streaming`, so a growing reply can be saved often.
"""

from __future__ import annotations

import html
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from desktop.core.errors import ConversationGoneError
from desktop.core.servers import RanOn
from desktop.core.types import Role
from desktop.storage.db import Database

MessageStatus = Literal["complete", "streaming", "incomplete", "cancelled", "error"]
ROLES: frozenset[str] = frozenset(get_args(Role))
STATUSES: frozenset[str] = frozenset(get_args(MessageStatus))
TITLE_MAX_CHARS = 60
_LAST_OPENED = "last_opened_conversation_id"
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # private-use marks, replaced after escaping

_CONVERSATION_COLUMNS = (
    "id, title, created_at, updated_at, pinned, deleted_at, model_path, system_prompt, "
    "current_leaf_id, assistant_id"
)
MESSAGE_SELECT = """SELECT m.id, m.conversation_id, m.parent_id, m.role, m.content, m.status,
    m.created_at, m.stats_json,
    (SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id
        AND s.parent_id IS m.parent_id AND s.id < m.id),
    (SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id
        AND s.parent_id IS m.parent_id), m.model, m.server"""


def to_db_time(moment: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC with microseconds (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def derive_title(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """A title from a first message: its first non-blank line, cut on a word boundary."""
    line = next((" ".join(part.split()) for part in text.splitlines() if part.strip()), "")
    if len(line) <= limit:
        return line
    cut = line[: limit + 1].rsplit(" ", 1)[0]
    if len(cut) > limit or len(cut) < limit // 2:  # a very long word: cut inside it
        cut = line[:limit]
    return cut.rstrip(" ,;:.-") + "…"


#: What a NUL character is stored as: SQLite's text functions (the search snippets among
#: them) stop at a NUL, so the text after it would vanish from them.
NUL_STAND_IN = "\u2400"  # ␀, the symbol for null


def storable(text: str) -> str:
    """`text` as it is stored: every NUL character replaced by a visible stand-in."""
    return text.replace("\x00", NUL_STAND_IN) if "\x00" in text else text


def _searchable(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch) == "So"  # letters, digits, emoji


def fts_phrases(text: str) -> list[str]:
    """Each word of `text` as an escaped FTS5 phrase (`"word"`); no FTS5 operator survives."""
    words = (word for word in storable(text).split() if any(_searchable(ch) for ch in word))
    return ['"' + word.replace('"', '""') + '"' for word in words]


def fts_query(text: str) -> str:
    """Each word of `text` as an escaped prefix phrase (`"word"*`), all of them required."""
    return " ".join(phrase + "*" for phrase in fts_phrases(text))


@dataclass(frozen=True)
class Conversation:
    """One conversation as listed in the sidebar."""

    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    pinned: bool
    deleted_at: datetime | None
    model_path: str | None
    system_prompt: str | None
    current_leaf_id: int | None
    assistant_id: str | None = None

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class StoredMessage:
    """One message of a conversation's tree; `sibling_index` of `sibling_count` versions."""

    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    content: str
    status: MessageStatus
    created_at: datetime
    stats: dict[str, Any] | None = None
    sibling_index: int = 0
    sibling_count: int = 1
    #: A reply's model (its name), and the user's server it ran on (None: this computer).
    model: str | None = None
    server: str | None = None


#: Search, newest message first. FTS5 walks its index from the highest rowid down (the
#: `ORDER BY` needs no sort) and the `CROSS JOIN`s keep it the outer loop, so the scan stops
#: after `LIMIT` hits outside the trash and `snippet()` runs only for the rows returned.
SEARCH_SQL = (
    "SELECT m.conversation_id, m.id, c.title, snippet(messages_fts, 0, ?, ?, '…', 12)"
    " FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid"
    " CROSS JOIN conversations c ON c.id = m.conversation_id"
    " WHERE messages_fts MATCH ? AND c.deleted_at IS NULL"
    " ORDER BY messages_fts.rowid DESC LIMIT ?"
)


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search; `snippet_html` is escaped text with hits in `<b>`.

    `rank` is the hit's place in the results: 0 for the first (the newest message).
    """

    conversation_id: int
    message_id: int
    title: str
    snippet_html: str
    rank: float


def _conversation(row: tuple[Any, ...]) -> Conversation:
    return Conversation(
        id=row[0],
        title=row[1],
        created_at=datetime.fromisoformat(row[2]),
        updated_at=datetime.fromisoformat(row[3]),
        pinned=bool(row[4]),
        deleted_at=_time(row[5]),
        model_path=row[6],
        system_prompt=row[7],
        current_leaf_id=row[8],
        assistant_id=row[9],
    )


def message_from_row(row: tuple[Any, ...]) -> StoredMessage:
    return StoredMessage(
        id=row[0],
        conversation_id=row[1],
        parent_id=row[2],
        role=cast(Role, row[3]),
        content=row[4],
        status=cast(MessageStatus, row[5]),
        created_at=datetime.fromisoformat(row[6]),
        stats=None if row[7] is None else json.loads(row[7]),
        sibling_index=row[8],
        sibling_count=row[9],
        model=row[10] if len(row) > 10 else None,
        server=row[11] if len(row) > 11 else None,
    )


def _check(role: str | None = None, status: str | None = None) -> None:
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown message status {status!r}")


#: A streaming reply is written at most this often: a crash loses at most this much text.
STREAM_SAVE_INTERVAL_S = 1.0


class ConversationStore:
    """Reads and writes conversations and messages in one open `Database` (one thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- conversations -------------------------------------------------------------------
    def create_conversation(
        self,
        title: str = "",
        model_path: str | None = None,
        system_prompt: str | None = None,
        assistant_id: str | None = None,
    ) -> Conversation:
        now = to_db_time(datetime.now(UTC))
        with self.db.transaction():
            cursor = self.db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model_path, "
                "system_prompt, assistant_id) VALUES (?, ?, ?, ?, ?, ?)",
                (title, now, now, model_path, system_prompt, assistant_id),
            )
        return self._require_conversation(int(cursor.lastrowid))

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        row = self.db.query_one(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        )
        return None if row is None else _conversation(row)

    def list_conversations(
        self, offset: int = 0, limit: int = 50, include_deleted: bool = False
    ) -> list[Conversation]:
        """A page of conversations, pinned first, then the most recently updated."""
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        rows = self.db.query_all(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations {where} "
            "ORDER BY pinned DESC, updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_conversation(row) for row in rows]

    def count_conversations(self, include_deleted: bool = False) -> int:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        return int(self.db.scalar(f"SELECT count(*) FROM conversations {where}"))

    def list_trash(self, offset: int = 0, limit: int = 50) -> list[Conversation]:
        """A page of trashed conversations, the most recently trashed first."""
        rows = self.db.query_all(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE deleted_at IS NOT NULL "
            "ORDER BY deleted_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_conversation(row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        self._update_conversation(conversation_id, "title = ?", (storable(title),))

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, "pinned = ?", (int(pinned),))

    def set_model_path(self, conversation_id: int, model_path: str | None) -> None:
        self._update_conversation(conversation_id, "model_path = ?", (model_path,))

    def set_assistant_id(self, conversation_id: int, assistant_id: str | None) -> None:
        self._update_conversation(conversation_id, "assistant_id = ?", (assistant_id,))

    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._update_conversation(conversation_id, "system_prompt = ?", (system_prompt,))

    def move_to_trash(self, conversation_id: int) -> None:
        now = to_db_time(datetime.now(UTC))
        self._update_conversation(conversation_id, "deleted_at = coalesce(deleted_at, ?)", (now,))

    def restore(self, conversation_id: int) -> None:
        self._update_conversation(conversation_id, "deleted_at = NULL", ())

    def empty_trash(self) -> int:
        """Delete every trashed conversation and its messages for good; returns how many."""
        with self.db.transaction():
            cursor = self.db.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL")
        return int(cursor.rowcount)

    def last_opened_conversation_id(self) -> int | None:
        """The conversation open when Hearth last closed, if it still exists outside the trash."""
        value = self.db.scalar("SELECT value FROM meta WHERE key = ?", (_LAST_OPENED,))
        if value is None:
            return None
        found = self.db.scalar(
            "SELECT id FROM conversations WHERE id = ? AND deleted_at IS NULL", (int(value),)
        )
        return None if found is None else int(found)

    def set_last_opened(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (_LAST_OPENED,))
            return
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_LAST_OPENED, str(int(conversation_id))),
        )

    # -- messages ------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: int,
        role: Role,
        content: str,
        parent_id: int | None = None,
        status: MessageStatus = "complete",
        ran_on: RanOn | None = None,
    ) -> StoredMessage:
        """Add a message under `parent_id` (None: after the current leaf) and show its branch.

        Regenerating a reply is `add_message(conv, "assistant", "", parent_id=question_id,
        status="streaming")`: a sibling of the previous reply. `ran_on`: a reply's model and
        server (None: not known).
        """
        _check(role, status)
        with self.db.transaction():
            conversation = self._require_conversation(conversation_id)
            if parent_id is None:
                parent_id = conversation.current_leaf_id
            else:
                self._require_message(parent_id, conversation_id)
            message_id = self._insert_message(
                conversation, role, content, parent_id, status, ran_on
            )
        return self._require_message(message_id)

    def edit_user_message(self, message_id: int, new_content: str) -> StoredMessage:
        """A new version of a user message, as a sibling; the old branch is kept."""
        with self.db.transaction():
            old = self._require_message(message_id)
            if old.role != "user":
                raise ValueError(f"message {message_id} is a {old.role} message, not a user one")
            conversation = self._require_conversation(old.conversation_id)
            new_id = self._insert_message(
                conversation, "user", new_content, old.parent_id, "complete"
            )
        return self._require_message(new_id)

    def update_message_content(
        self, message_id: int, content: str, status: MessageStatus | None = None
    ) -> None:
        """Replace a message's text (a streaming reply as it grows): one cheap `UPDATE`."""
        _check(status=status)
        cursor = self.db.execute(
            "UPDATE messages SET content = ?, status = coalesce(?, status) WHERE id = ?",
            (storable(content), status, message_id),
        )
        if cursor.rowcount != 1:
            raise ConversationGoneError("That message is no longer there; it was deleted.")

    def finish_message(
        self,
        message_id: int,
        status: MessageStatus,
        stats: dict[str, Any] | None = None,
        *,
        content: str | None = None,
    ) -> None:
        """Give a reply its final status (and statistics, and text if given)."""
        _check(status=status)
        stats_json = None if stats is None else json.dumps(stats, sort_keys=True)
        with self.db.transaction():
            message = self._require_message(message_id)
            self.db.execute(
                "UPDATE messages SET status = ?, stats_json = ?, content = coalesce(?, content) "
                "WHERE id = ?",
                (status, stats_json, None if content is None else storable(content), message_id),
            )
            self.db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?",
                (to_db_time(datetime.now(UTC)), message.conversation_id),
            )

    def reply_places(self, conversation_id: int) -> tuple[list[str], bool]:
        """Where a conversation's replies (every branch) ran: the servers, by name, and
        whether any ran on this computer (replies from before this was kept count for
        neither)."""
        rows = self.db.query_all(
            "SELECT DISTINCT server, model IS NOT NULL FROM messages"
            " WHERE conversation_id = ? AND role = 'assistant' ORDER BY server",
            (conversation_id,),
        )
        servers = [str(server) for server, _ in rows if server is not None]
        return servers, any(server is None and known for server, known in rows)

    def get_message(self, message_id: int) -> StoredMessage | None:
        row = self.db.query_one(f"{MESSAGE_SELECT} FROM messages m WHERE m.id = ?", (message_id,))
        return None if row is None else message_from_row(row)

    def message_alone(self, message_id: int) -> StoredMessage | None:
        """One message by its row alone, without the version counts (which read other rows
        through indexes): what salvage of a damaged database can still read."""
        row = self.db.query_one(
            "SELECT id, conversation_id, parent_id, role, content, status, created_at,"
            " stats_json, 0, 1, model, server FROM messages WHERE id = ?",
            (message_id,),
        )
        return None if row is None else message_from_row(row)

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """Every message of a conversation (all branches), in creation order."""
        rows = self.db.query_all(
            f"{MESSAGE_SELECT} FROM messages m WHERE m.conversation_id = ? ORDER BY m.id",
            (conversation_id,),
        )
        return [message_from_row(row) for row in rows]

    def branch(self, conversation_id: int) -> list[StoredMessage]:
        """The messages shown: from the root to the current leaf."""
        rows = self.db.query_all(
            "WITH RECURSIVE path(id, depth) AS ("
            " SELECT current_leaf_id, 0 FROM conversations"
            "  WHERE id = ? AND current_leaf_id IS NOT NULL"
            " UNION ALL SELECT m.parent_id, path.depth + 1 FROM messages m"
            "  JOIN path ON m.id = path.id WHERE m.parent_id IS NOT NULL)"
            f"{MESSAGE_SELECT} FROM path JOIN messages m ON m.id = path.id"
            " ORDER BY path.depth DESC",
            (conversation_id,),
        )
        return [message_from_row(row) for row in rows]

    def siblings(self, message_id: int) -> list[int]:
        """The ids of every version of a message (itself included), oldest first."""
        rows = self.db.query_all(
            "SELECT s.id FROM messages m JOIN messages s ON s.conversation_id = m.conversation_id"
            " AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
            (message_id,),
        )
        return [int(row[0]) for row in rows]

    def select_version(self, message_id: int) -> list[StoredMessage]:
        """Show the branch through `message_id`, down to its most recent descendant."""
        self.choose_version(message_id)
        return self.branch(self._require_message(message_id).conversation_id)

    def choose_version(self, message_id: int) -> None:
        """`select_version` without reading the branch (a reader of pages reads it)."""
        with self.db.transaction():
            message = self._require_message(message_id)
            leaf = self.db.scalar(
                "WITH RECURSIVE below(id) AS (SELECT ? UNION ALL"
                " SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id)"
                " SELECT max(id) FROM below",
                (message_id,),
            )
            self.db.execute(
                "UPDATE conversations SET current_leaf_id = ? WHERE id = ?",
                (leaf, message.conversation_id),
            )

    def incomplete_messages(self) -> list[StoredMessage]:
        """Messages still marked `streaming` (their writer stopped or crashed)."""
        rows = self.db.query_all(
            f"{MESSAGE_SELECT} FROM messages m WHERE m.status = 'streaming' ORDER BY m.id"
        )
        return [message_from_row(row) for row in rows]

    def recover_interrupted(self) -> int:
        """At start-up: mark replies left `streaming` by a crash `incomplete`; returns how many."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE messages SET status = 'incomplete' WHERE status = 'streaming'"
            )
        return int(cursor.rowcount)

    # -- search --------------------------------------------------------------------------
    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Messages (outside the trash) containing every word of `query` as a prefix,
        newest first, at most `limit` of them.

        The cost follows `limit`, not the number of matching messages: the index is read
        from the newest message down until `limit` hits are found (schema v2's prefix
        indexes serve words of 1 to 3 characters the same way).
        """
        match = fts_query(query)
        if not match or limit < 1:
            return []
        rows = self.db.query_all(SEARCH_SQL, (_MARK_OPEN, _MARK_CLOSE, match, limit))
        return [
            SearchHit(
                conversation_id=row[0],
                message_id=row[1],
                title=row[2],
                snippet_html=html.escape(row[3], quote=False)
                .replace(_MARK_OPEN, "<b>")
                .replace(_MARK_CLOSE, "</b>"),
                rank=float(place),
            )
            for place, row in enumerate(rows)
        ]

    # -- helpers -------------------------------------------------------------------------
    def _require_conversation(self, conversation_id: int) -> Conversation:
        conversation = self.get_conversation(conversation_id)
        if conversation is None:
            raise ConversationGoneError("That conversation is no longer there; it was deleted.")
        return conversation

    def _require_message(
        self, message_id: int, conversation_id: int | None = None
    ) -> StoredMessage:
        message = self.get_message(message_id)
        if message is None or conversation_id not in (None, message.conversation_id):
            raise ConversationGoneError("That message is no longer there; it was deleted.")
        return message

    def _update_conversation(
        self, conversation_id: int, assignment: str, params: tuple[Any, ...]
    ) -> None:
        cursor = self.db.execute(
            f"UPDATE conversations SET {assignment} WHERE id = ?", (*params, conversation_id)
        )
        if cursor.rowcount != 1:
            raise ConversationGoneError("That conversation is no longer there; it was deleted.")

    def _insert_message(
        self,
        conversation: Conversation,
        role: str,
        content: str,
        parent_id: int | None,
        status: str,
        ran_on: RanOn | None = None,
    ) -> int:
        now = to_db_time(datetime.now(UTC))
        content = storable(content)
        model, server = (None, None) if ran_on is None else (ran_on.model, ran_on.server)
        cursor = self.db.execute(
            "INSERT INTO messages (conversation_id, parent_id, role, content, created_at, status,"
            " model, server) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (conversation.id, parent_id, role, content, now, status, model, server),
        )
        message_id = int(cursor.lastrowid)
        title = conversation.title
        if not title and role == "user":
            title = derive_title(content)
        self.db.execute(
            "UPDATE conversations SET current_leaf_id = ?, updated_at = ?, title = ? WHERE id = ?",
            (message_id, now, title, conversation.id),
        )
        return message_id
