"""Schema v3: each conversation records its assistant; a v2 database upgrades in place."""

from __future__ import annotations

from pathlib import Path

from desktop.storage.conversations import ConversationStore
from desktop.storage.db import open_database
from desktop.storage.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, open_and_migrate

KEY = bytes(range(32))


def test_v2_database_gains_assistant_column_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = open_database(path, KEY)
    migrate(db, tmp_path / "unused", MIGRATIONS[:2])
    now = "2026-01-01T00:00:00+00:00"
    db.execute(
        "INSERT INTO conversations (title, created_at, updated_at, model_path) "
        "VALUES ('Old chat', ?, ?, 'x.gguf')",
        (now, now),
    )
    db.execute(
        "INSERT INTO messages (conversation_id, role, content, created_at) "
        "VALUES (1, 'user', 'remember the lighthouse', ?)",
        (now,),
    )
    db.close()

    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert [p.name[:9] for p in (tmp_path / "backups").iterdir()] == ["hearth-v2"]
        store = ConversationStore(db)
        chat = store.get_conversation(1)
        assert chat is not None
        assert (chat.title, chat.model_path, chat.assistant_id) == ("Old chat", "x.gguf", None)
        assert [h.conversation_id for h in store.search("lighthouse")] == [1]
        store.set_assistant_id(1, "coder")
        new = store.create_conversation(assistant_id="writer", model_path="embedded")
    finally:
        db.close()
    db = open_and_migrate(path, KEY)
    try:
        store = ConversationStore(db)
        first, second = store.get_conversation(1), store.get_conversation(new.id)
        assert first is not None and first.assistant_id == "coder"
        assert second is not None and (second.assistant_id, second.model_path) == (
            "writer",
            "embedded",
        )
    finally:
        db.close()
