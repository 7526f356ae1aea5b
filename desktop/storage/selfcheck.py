"""A quick proof that the encrypted store works here (for `hearth --self-test`).

Creates a throw-away database in a temporary folder with a random key, writes a
conversation, finds it with full-text search, checks the file is not readable as plain
SQLite, and deletes it. The user's own data is never touched.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from desktop.core.errors import DatabaseError
from desktop.storage.conversations import ConversationStore
from desktop.storage.migrations import open_and_migrate


def check_store() -> str:
    """'SQLCipher <version>, FTS5' when all is well; raises `DatabaseError` otherwise."""
    with tempfile.TemporaryDirectory(prefix="hearth-selfcheck-") as folder:
        path = Path(folder) / "check.db"
        db = open_and_migrate(path, key=secrets.token_bytes(32))
        try:
            store = ConversationStore(db)
            conversation = store.create_conversation()
            store.add_message(conversation.id, "user", "self check: lighthouse")
            if not store.search("lighthou"):
                raise DatabaseError("The full-text search of the encrypted store found nothing.")
            version = str(db.scalar("PRAGMA cipher_version") or "unknown")
        finally:
            db.close()
        if path.read_bytes()[:16] == b"SQLite format 3\x00":
            raise DatabaseError("The store was written unencrypted.")
    return f"SQLCipher {version}, FTS5"
