"""Full-text search over messages: prefixes, highlighting, hostile input, staying in sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.storage.conversations import ConversationStore, fts_query
from desktop.storage.migrations import open_and_migrate

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
    assert isinstance(hit.rank, float)


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
