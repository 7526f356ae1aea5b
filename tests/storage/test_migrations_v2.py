"""Schema v2: the full-text index gains prefix indexes; a v1 database upgrades in place."""

from __future__ import annotations

from pathlib import Path

from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database, open_database
from desktop.storage.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, open_and_migrate

KEY = bytes(range(32))


def fts_sql(db: Database) -> str:
    return str(db.scalar("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'"))


def assert_index_consistent(db: Database) -> None:
    """FTS5's own check of the index against the messages (valid with none streaming)."""
    db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def make_v1(path: Path) -> None:
    """A v1 database with history: complete messages, a trashed conversation, and a reply
    a crash left `streaming` (v1 does not index it). Written with SQL, as v1 code did."""
    db = open_database(path, KEY)
    migrate(db, path.parent / "unused", MIGRATIONS[:1])
    now = "2026-01-01T00:00:00+00:00"

    def conversation(title: str, deleted: str | None = None) -> int:
        cursor = db.execute(
            "INSERT INTO conversations (title, created_at, updated_at, deleted_at) "
            "VALUES (?, ?, ?, ?)",
            (title, now, now, deleted),
        )
        return int(cursor.lastrowid)

    def message(chat: int, role: str, content: str, status: str = "complete") -> None:
        db.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, status) "
            "VALUES (?, ?, ?, ?, ?)",
            (chat, role, content, now, status),
        )

    kept = conversation("Kept")
    message(kept, "user", "Is the thermostat accurate?")
    message(kept, "assistant", "A thermostat drifts a little.")
    binned = conversation("Binned", deleted=now)
    message(binned, "user", "thermal paste")
    message(kept, "assistant", "theoretical half-written", status="streaming")
    assert db.scalar("PRAGMA user_version") == 1
    assert "prefix" not in fts_sql(db)
    db.close()


def test_fresh_database_has_prefix_indexes(tmp_path: Path) -> None:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    try:
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert "prefix='1 2 3'" in fts_sql(db)
        assert not (tmp_path / "backups").exists()  # nothing to back up
    finally:
        db.close()


def test_v1_database_upgrades_with_backup_and_keeps_search(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_v1(path)
    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert "prefix='1 2 3'" in fts_sql(db)
        assert [p.name[:9] for p in (tmp_path / "backups").iterdir()] == ["hearth-v1"]
        store = ConversationStore(db)
        found = {hit.snippet_html for hit in store.search("th")}
        assert found == {
            "Is <b>the</b> <b>thermostat</b> accurate?",
            "A <b>thermostat</b> drifts a little.",
        }  # the trashed one is not shown, the streaming one is not indexed
        assert len(store.search("a")) == 2
        assert store.search("theo") == []
        # The reply that was streaming is indexed once it gets its final status.
        [reply] = store.incomplete_messages()
        store.finish_message(reply.id, "incomplete")
        assert [hit.message_id for hit in store.search("theo")] == [reply.id]
        assert_index_consistent(db)  # the streaming row was left out of the rebuilt index
    finally:
        db.close()
