"""Full-text search over messages: prefixes, highlighting, hostile input, staying in sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.storage.conversations import SEARCH_SQL, ConversationStore, fts_query
from desktop.storage.migrations import SCHEMA_VERSION, open_and_migrate

KEY = bytes(range(32))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    yield ConversationStore(db)
    db.close()


def assert_index_consistent(store: ConversationStore) -> None:
    """FTS5's own check of the index against the messages table (no streaming rows left)."""
    store.db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def hit_ids(store: ConversationStore, query: str) -> set[int]:
    return {hit.message_id for hit in store.search(query)}


def test_prefix_matching_of_every_word(store: ConversationStore) -> None:
    conv = store.create_conversation()
    bread = store.add_message(conv.id, "user", "How long is baking sourdough bread?")
    cake = store.add_message(conv.id, "assistant", "Baking a cake takes forty minutes.")
    assert hit_ids(store, "bak") == {bread.id, cake.id}
    assert hit_ids(store, "BAK sour") == {bread.id}
    assert hit_ids(store, "sour cake") == set()
    assert hit_ids(store, "bakingg") == set()
    assert store.search("bak", limit=1)[0].message_id in {bread.id, cake.id}
    assert len(store.search("bak", limit=1)) == 1


def test_diacritics_and_unicode(store: ConversationStore) -> None:
    conv = store.create_conversation()
    cafe = store.add_message(conv.id, "user", "Un café crème à Zürich")
    japanese = store.add_message(conv.id, "user", "日本語 の テスト")
    assert hit_ids(store, "cafe") == hit_ids(store, "café") == {cafe.id}
    assert hit_ids(store, "zur") == {cafe.id}
    assert hit_ids(store, "日本") == {japanese.id}


def test_snippet_highlights_and_escapes(store: ConversationStore) -> None:
    conv = store.create_conversation("Web page")
    store.add_message(conv.id, "user", 'Why does <script>alert("x")</script> & co run?')
    [hit] = store.search("alert")
    assert hit.title == "Web page" and hit.conversation_id == conv.id
    assert "<b>alert</b>" in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html and "&amp; co" in hit.snippet_html
    assert "<script" not in hit.snippet_html
    assert hit.rank == 0.0


HOSTILE = [
    '"',
    '""',
    "AND OR",
    "NOT",
    "*",
    "NEAR(",
    "NEAR(a b, 2)",
    "'",
    "a'b",
    'he said "hi',
    "content:x",
    "-x",
    "^start",
    "(a OR b",
    "{content}: a",
    "a + b",
    "\\",
    "🔥🔥",
    "日本語*",
    "\x00",
    "x" * 5000,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_do_not_raise(store: ConversationStore, query: str) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "a and or not near content start b x")
    store.search(query)  # must not raise an FTS5 syntax error


def test_operator_words_are_searched_as_words(store: ConversationStore) -> None:
    conv = store.create_conversation()
    both = store.add_message(conv.id, "user", "cats and dogs or birds")
    store.add_message(conv.id, "user", "cats only")
    assert hit_ids(store, "AND") == {both.id}
    assert hit_ids(store, "cats OR") == {both.id}  # every word must match: OR is a word
    assert fts_query('say "hi" NEAR(') == '"say"* """hi"""* "NEAR("*'


@pytest.mark.parametrize("query", ["", "   ", "*", '" "', "-- !!"])
def test_empty_queries_find_nothing(store: ConversationStore, query: str) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "anything")
    assert store.search(query) == []


def test_search_follows_updates_and_streaming(store: ConversationStore) -> None:
    conv = store.create_conversation()
    message = store.add_message(conv.id, "user", "original wording")
    store.update_message_content(message.id, "replacement text")
    assert hit_ids(store, "original") == set()
    assert hit_ids(store, "replacement") == {message.id}
    reply = store.add_message(conv.id, "assistant", "", status="streaming")
    for text in ["Streaming", "Streaming partial", "Streaming partial reply"]:
        store.update_message_content(reply.id, text)
    assert hit_ids(store, "partial") == set()  # a reply is indexed once it stops streaming
    store.finish_message(reply.id, "complete", None)
    assert hit_ids(store, "partial") == {reply.id}
    other = store.add_message(conv.id, "assistant", "", status="streaming")
    store.update_message_content(other.id, "interrupted thought")
    store.recover_interrupted()
    assert hit_ids(store, "interrupted") == {other.id}
    store.update_message_content(reply.id, "edited again", status="complete")
    assert hit_ids(store, "partial") == set()
    assert_index_consistent(store)


def test_trashed_conversations_are_not_searched(store: ConversationStore) -> None:
    kept = store.create_conversation()
    binned = store.create_conversation()
    visible = store.add_message(kept.id, "user", "lighthouse keeper")
    hidden = store.add_message(binned.id, "user", "lighthouse in the trash")
    assert hit_ids(store, "lighthouse") == {visible.id, hidden.id}
    store.move_to_trash(binned.id)
    assert hit_ids(store, "lighthouse") == {visible.id}
    store.restore(binned.id)
    assert hit_ids(store, "lighthouse") == {visible.id, hidden.id}
    store.move_to_trash(binned.id)
    store.empty_trash()
    assert hit_ids(store, "lighthouse") == {visible.id}
    assert_index_consistent(store)


def test_newest_first_with_limit_and_rank_as_place(store: ConversationStore) -> None:
    first = store.create_conversation("First")
    second = store.add_message(first.id, "user", "teapot one").id
    other = store.create_conversation("Other")
    newer = [store.add_message(other.id, "user", f"teapot {n}").id for n in range(3)]
    newest = store.add_message(first.id, "assistant", "teapots again").id
    hits = store.search("teapot")
    assert [hit.message_id for hit in hits] == [newest, *reversed(newer), second]
    assert [hit.rank for hit in hits] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [hit.title for hit in hits[:2]] == ["First", "Other"]
    assert [hit.message_id for hit in store.search("teapot", limit=2)] == [newest, newer[2]]
    assert store.search("teapot", limit=0) == []


def test_limit_counts_only_hits_outside_the_trash(store: ConversationStore) -> None:
    kept = store.create_conversation()
    old = [store.add_message(kept.id, "user", f"harbour {n}").id for n in range(3)]
    binned = store.create_conversation()
    for n in range(5):  # the newest matches are all in the trash
        store.add_message(binned.id, "user", f"harbour binned {n}")
    store.move_to_trash(binned.id)
    assert [hit.message_id for hit in store.search("harb", limit=2)] == [old[2], old[1]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a", {"thin", "the", "apple"}),
        ("t", {"thin", "the"}),
        ("th", {"thin", "the"}),
        ("THE", {"the"}),
        ("th av", {"the"}),
        ("a p", {"apple"}),
        ("thi av", set()),  # every word is required
        ("b", set()),
    ],
)
def test_short_prefixes(store: ConversationStore, query: str, expected: set[str]) -> None:
    conv = store.create_conversation()
    texts = {"thin": "a thin apple slice", "the": "the avocado", "apple": "apple pie"}
    names = {store.add_message(conv.id, "user", text).id: name for name, text in texts.items()}
    assert {names[message_id] for message_id in hit_ids(store, query)} == expected


def test_search_scans_the_index_newest_first_without_sorting(store: ConversationStore) -> None:
    """The plan FTS5 must keep: its own rowid order (no sort of every match), as outer loop,
    so a word found in most messages costs `limit` rows, not all of them."""
    plan = [
        row[3] for row in store.db.query_all("EXPLAIN QUERY PLAN " + SEARCH_SQL, ("", "", "x", 5))
    ]
    assert plan[0].startswith("SCAN messages_fts VIRTUAL TABLE")
    assert not any("TEMP B-TREE" in step for step in plan)


def test_highlights_whole_words_found_by_a_prefix(store: ConversationStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "Baking <bread> & baked goods")
    [hit] = store.search("bak")
    assert hit.snippet_html == "<b>Baking</b> &lt;bread&gt; &amp; <b>baked</b> goods"


def test_emoji_are_found_and_text_after_a_nul_stays_in_snippets(store: ConversationStore) -> None:
    conv = store.create_conversation()
    bread = store.add_message(conv.id, "user", "Fresh bread 🍞 with honey\x00 and butter later")
    store.add_message(conv.id, "assistant", "A heart ❤️ for the family 👨‍👩‍👧")
    [hit] = store.search("🍞")
    assert hit.message_id == bread.id and "<b>🍞</b>" in hit.snippet_html
    assert len(store.search("❤️")) == 1 and len(store.search("👨‍👩‍👧")) == 1
    [after] = store.search("butter")
    assert "and <b>butter</b> later" in after.snippet_html  # not cut at the NUL
    stored = store.get_message(bread.id)
    assert stored is not None and stored.content == "Fresh bread 🍞 with honey␀ and butter later"
    assert_index_consistent(store)


def test_upgrade_to_v4_indexes_emoji_and_replaces_stored_nul(tmp_path: Path) -> None:
    from desktop.storage.db import open_database
    from desktop.storage.migrations import MIGRATIONS, migrate

    path = tmp_path / "old.db"
    db = open_database(path, KEY)
    migrate(db, tmp_path / "backups", MIGRATIONS[:3])  # a database of schema version 3
    db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('Old', 'x', 'x')")
    db.execute(
        "INSERT INTO messages (conversation_id, role, content, created_at) "
        "VALUES (1, 'user', ?, 'x')",
        ("toast 🍞 then\x00 jam",),
    )
    db.close()
    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        upgraded = ConversationStore(db)
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert [h.snippet_html for h in upgraded.search("🍞")] == ["toast <b>🍞</b> then␀ jam"]
        assert len(upgraded.search("jam")) == 1
        assert_index_consistent(upgraded)
    finally:
        db.close()
