"""Opening, encrypting, migrating and protecting the database file (real SQLCipher files)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from sqlcipher3 import dbapi2 as sqlcipher

from desktop.core.errors import DatabaseError, DatabaseFullError, DatabaseTooNewError, HearthError
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database, open_database
from desktop.storage.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
    open_and_migrate,
    user_version,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_connect(path: Path, key: bytes | None = KEY) -> sqlcipher.Connection:
    connection = sqlcipher.connect(str(path), isolation_level=None)
    if key is not None:
        connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return connection


def test_empty_file_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = open_and_migrate(path, KEY)
    try:
        assert user_version(db) == SCHEMA_VERSION == 10
        tables = {row[0] for row in db.query_all("SELECT name FROM sqlite_master")}
        assert {"conversations", "messages", "messages_fts", "meta"} <= tables
        assert db.scalar("PRAGMA journal_mode") == "wal"
        assert db.scalar("PRAGMA foreign_keys") == 1
        assert db.scalar("PRAGMA synchronous") == 1  # NORMAL
    finally:
        db.close()
    assert not (tmp_path / "backups").exists()  # nothing to back up in a new file
    assert not path.read_bytes().startswith(b"SQLite format 3")  # encrypted on disk


def test_reopening_with_the_same_key_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = open_and_migrate(path, KEY)
    ConversationStore(db).create_conversation("kept")
    db.close()
    db = open_and_migrate(path, KEY)
    assert [c.title for c in ConversationStore(db).list_conversations()] == ["kept"]
    db.close()


@pytest.mark.parametrize("key", [OTHER_KEY, None], ids=["wrong-key", "no-key"])
def test_wrong_key_is_refused_and_the_file_untouched(tmp_path: Path, key: bytes | None) -> None:
    path = tmp_path / "hearth.db"
    open_and_migrate(path, KEY).close()
    before = digest(path)
    with pytest.raises(DatabaseError, match="Nothing was changed"):
        open_and_migrate(path, key)
    assert digest(path) == before


def test_corrupt_file_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    path.write_bytes(os.urandom(16384))
    before = digest(path)
    for key in (KEY, None):
        with pytest.raises(DatabaseError) as caught:
            open_and_migrate(path, key)
        assert "damaged" in str(caught.value) and "Nothing was changed" in str(caught.value)
        assert isinstance(caught.value, HearthError)
    assert digest(path) == before
    assert not (tmp_path / "backups").exists()


def test_newer_schema_is_refused_and_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    open_and_migrate(path, KEY).close()
    connection = raw_connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = digest(path)
    with pytest.raises(DatabaseTooNewError, match="made by a newer Hearth"):
        open_and_migrate(path, KEY)
    assert digest(path) == before
    assert not (tmp_path / "backups").exists()
    db = open_database(path, KEY)  # migrate() refuses too, when given an open database
    with pytest.raises(DatabaseTooNewError):
        migrate(db, tmp_path / "backups")
    assert user_version(db) == 99
    db.close()


def test_old_database_is_backed_up_before_migrating(tmp_path: Path) -> None:
    """A v0 file with data (some of it still in the WAL) is copied, then migrated."""
    path = tmp_path / "hearth.db"
    writer = raw_connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE notes (text TEXT)")
    writer.executemany("INSERT INTO notes VALUES (?)", [("first",), ("second",)])
    assert (tmp_path / "hearth.db-wal").stat().st_size > 0  # not checkpointed: writer is open
    try:
        db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    finally:
        writer.close()
    assert user_version(db) == SCHEMA_VERSION
    assert db.query_all("SELECT text FROM notes") == [("first",), ("second",)]
    db.close()
    backups = list((tmp_path / "backups").iterdir())
    assert len(backups) == 1
    assert backups[0].name.startswith("hearth-v0-") and backups[0].suffix == ".db"
    copy = raw_connect(backups[0])  # encrypted with the same key
    assert copy.execute("SELECT text FROM notes").fetchall() == [("first",), ("second",)]
    assert copy.execute("PRAGMA user_version").fetchone() == (0,)
    copy.close()


def _add_notes(db: Database) -> None:
    db.execute("CREATE TABLE notes (text TEXT)")


def _broken(db: Database) -> None:
    db.execute("CREATE TABLE half_done (x)")
    raise RuntimeError("migration bug")


def test_each_migration_is_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = open_and_migrate(path, KEY)
    ConversationStore(db).create_conversation("precious")
    steps = [*MIGRATIONS, _add_notes, _broken]
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(db, tmp_path / "backups", steps)
    assert user_version(db) == SCHEMA_VERSION + 1  # notes committed, the broken step rolled back
    tables = {row[0] for row in db.query_all("SELECT name FROM sqlite_master")}
    assert "notes" in tables and "half_done" not in tables
    assert db.scalar("SELECT title FROM conversations") == "precious"
    backups = [p.name for p in (tmp_path / "backups").iterdir()]
    assert len(backups) == 1 and backups[0].startswith(f"hearth-v{SCHEMA_VERSION}-")
    db.close()


def test_full_disk_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    store = ConversationStore(db)
    conversation = store.create_conversation("before")
    store.add_message(conversation.id, "user", "saved before the disk filled up")
    pages = int(db.scalar("PRAGMA page_count"))
    db.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is "full" after two pages
    with pytest.raises(DatabaseFullError, match="disk is full"):
        store.add_message(conversation.id, "assistant", "x" * 200_000)
    assert [m.content for m in store.branch(conversation.id)] == ["saved before the disk filled up"]
    assert store.count_conversations() == 1
    db.close()


def test_the_connection_refuses_other_threads(tmp_path: Path) -> None:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            db.scalar("SELECT 1")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], sqlcipher.ProgrammingError)
    db.close()


def test_a_key_must_be_a_raw_32_byte_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 or 48 bytes"):
        open_database(tmp_path / "hearth.db", b"password")
