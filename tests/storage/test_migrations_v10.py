"""Schema v10: each reply keeps its model and where it ran. A v9 database with chats in it
is upgraded in place: nothing is lost, and the replies of a chat whose model is a server's
get that server (what the window showed for them until then)."""

from __future__ import annotations

from pathlib import Path

from desktop.core.servers import RanOn
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database, open_database
from desktop.storage.export import export_json, export_markdown, import_json
from desktop.storage.migrations import MIGRATIONS, migrate, open_and_migrate

KEY = bytes(range(32))


def _add(db: Database, conversation: int, role: str, text: str) -> None:
    db.execute(
        "INSERT INTO messages (conversation_id, role, content, created_at)"
        " VALUES (?, ?, ?, '2026-12-01T10:00:00+00:00')",
        (conversation, role, text),
    )


def _v9_with_chats(path: Path) -> None:
    old = open_database(path, KEY)
    migrate(old, path.parent / "unused", MIGRATIONS[:9])
    for title, model in (("On the lab", "server:lab:smollm"), ("Here", "embedded")):
        old.execute(
            "INSERT INTO conversations (title, created_at, updated_at, model_path)"
            " VALUES (?, '2026-12-01T10:00:00+00:00', '2026-12-01T10:00:00+00:00', ?)",
            (title, model),
        )
    for conversation in (1, 2):
        _add(old, conversation, "user", "What is the capital of France?")
        _add(old, conversation, "assistant", "Paris.")
        _add(old, conversation, "user", "And of Italy?")
        _add(old, conversation, "assistant", "Rome.")
    old.close()


def test_a_v9_database_keeps_its_chats_and_learns_where_server_replies_ran(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hearth.db"
    _v9_with_chats(path)
    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        assert [p.name[:9] for p in (tmp_path / "backups").iterdir()] == ["hearth-v9"]
        store = ConversationStore(db)
        lab, here = store.messages(1), store.messages(2)
        assert (
            [m.content for m in lab]
            == [m.content for m in here]
            == ["What is the capital of France?", "Paris.", "And of Italy?", "Rome."]
        )
        assert [(m.model, m.server) for m in lab] == [
            (None, None),
            ("smollm", "lab"),
            (None, None),
            ("smollm", "lab"),
        ]
        assert {(m.model, m.server) for m in here} == {(None, None)}  # not known: left so
        assert store.reply_places(1) == (["lab"], False)
        assert store.reply_places(2) == ([], False)
        assert store.search("Rome")  # the search index came through
    finally:
        db.close()


def test_each_reply_keeps_its_place_in_the_store_and_in_exports(tmp_path: Path) -> None:
    db = open_and_migrate(tmp_path / "hearth.db", KEY, backup_dir=tmp_path / "backups")
    try:
        store = ConversationStore(db)
        chat = store.create_conversation(model_path="embedded").id
        store.add_message(chat, "user", "What is the capital of France?")
        store.add_message(chat, "assistant", "Paris.", ran_on=RanOn("smollm", "lab"))
        store.add_message(chat, "user", "And of Italy?")
        store.add_message(chat, "assistant", "Rome.", ran_on=RanOn("SmolLM2-135M"))
        assert store.reply_places(chat) == (["lab"], True)
        markdown = export_markdown(store, [chat])
        assert "## Assistant (smollm on your server lab)" in markdown
        assert markdown.count("on your server") == 1  # the local reply names no server
        copied = import_json(store, export_json(store, [chat]))
        assert [(m.model, m.server) for m in store.messages(copied[0])][1::2] == [
            ("smollm", "lab"),
            ("SmolLM2-135M", None),
        ]
    finally:
        db.close()
