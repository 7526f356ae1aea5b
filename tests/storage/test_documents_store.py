"""Schema v5 and the document store on the real encrypted database: collections, files,
passages, BM25 search, and removal of everything a collection held."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database, open_database
from desktop.storage.documents import DocumentStore, NewPassage, any_word_query
from desktop.storage.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, open_and_migrate

KEY = bytes(range(32))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_and_migrate(tmp_path / "hearth.db", KEY)
    yield database
    database.close()


def index_file(store: DocumentStore, collection: int, path: str, texts: list[str]) -> int:
    store.add_pending(collection, [(path, "text")])
    file_id = store.file_id(collection, path)
    assert file_id is not None
    passages = [NewPassage(t, f"Part {n}", n + 1) for n, t in enumerate(texts)]
    store.save_indexed(file_id, passages, size=10, mtime_ns=1, sha256="ab", pages=len(texts))
    return file_id


def fts_rows(db: Database) -> int:
    db.execute("INSERT INTO doc_passages_fts(doc_passages_fts) VALUES ('integrity-check')")
    return int(db.scalar("SELECT count(*) FROM doc_passages_fts"))


def test_a_v4_database_gains_documents_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    old = open_database(path, KEY)
    migrate(old, tmp_path / "unused", MIGRATIONS[:4])
    ConversationStore(old).create_conversation(title="Kept")
    old.close()
    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert [p.name[:9] for p in (tmp_path / "backups").iterdir()] == ["hearth-v4"]
        assert [c.title for c in ConversationStore(db).list_conversations()] == ["Kept"]
        assert DocumentStore(db).collections() == []
    finally:
        db.close()


def test_search_ranks_passages_by_bm25_with_file_page_and_heading(db: Database) -> None:
    store = DocumentStore(db)
    notes = store.collection_id("Notes", create=True)
    assert notes is not None and store.collection_id("notes") == notes  # case-blind names
    index_file(store, notes, "/n/owls.txt", ["Barn owls eat voles.", "Tawny owls call at night."])
    index_file(store, notes, "/n/misc.txt", ["The night bus is late."])
    hits = store.search("what do owls eat at night")
    assert [(h.path, h.page, h.heading) for h in hits[:2]] == [
        ("/n/owls.txt", 1, "Part 0"),  # owls + eat: "eat" is rarer than "night"
        ("/n/owls.txt", 2, "Part 1"),  # owls + night
    ]
    assert hits[0].snippet == "Barn [owls] [eat] voles."  # "what", "do", "at": too common
    assert {h.path for h in hits} == {"/n/owls.txt", "/n/misc.txt"}
    assert store.search("🦉 ) OR NOT") == []  # operators and symbols are only words


def test_collections_filter_search_and_count(db: Database) -> None:
    store = DocumentStore(db)
    a, b = store.collection_id("a", create=True), store.collection_id("b", create=True)
    assert a is not None and b is not None
    index_file(store, a, "/a/x.txt", ["kettle descaling"])
    index_file(store, b, "/b/y.txt", ["kettle whistle"])
    assert [h.collection for h in store.search("kettle", [b])] == ["b"]
    store.add_source(a, "/a")
    summary = {c.name: (c.files, c.indexed, c.passages, c.sources) for c in store.collections()}
    assert summary == {"a": (1, 1, 1, ("/a",)), "b": (1, 1, 1, ())}


def test_removing_a_collection_removes_all_of_it(db: Database) -> None:
    store = DocumentStore(db)
    keep, gone = store.collection_id("keep", create=True), store.collection_id("gone", create=True)
    assert keep is not None and gone is not None
    index_file(store, keep, "/k.txt", ["shared word alpha"])
    index_file(store, gone, "/g.txt", ["shared word beta", "more beta"])
    store.add_source(gone, "/g.txt")
    store.remove_collection(gone)
    assert fts_rows(db) == 1
    for table in ("doc_sources", "doc_files", "doc_passages"):
        assert db.scalar(f"SELECT count(*) FROM {table}") == (0 if table == "doc_sources" else 1)
    assert store.search("beta") == []
    assert [h.path for h in store.search("shared")] == ["/k.txt"]


def test_reindexing_a_file_replaces_its_passages_and_failing_drops_them(db: Database) -> None:
    store = DocumentStore(db)
    c = store.collection_id("c", create=True)
    assert c is not None
    file_id = index_file(store, c, "/f.txt", ["first draft"])
    store.save_indexed(
        file_id, [NewPassage("final text", "", None)], size=2, mtime_ns=2, sha256="cd", pages=None
    )
    assert [h.text for h in store.search("draft final")] == ["final text"]
    store.save_failed(file_id, "empty", 0, 3)
    record = store.files(c)["/f.txt"]
    assert (record.status, record.reason, record.passages) == ("failed", "empty", 0)
    assert fts_rows(db) == 0


def test_removing_a_source_removes_only_the_files_no_other_source_holds(db: Database) -> None:
    store = DocumentStore(db)
    c = store.collection_id("c", create=True)
    assert c is not None
    store.add_source(c, "/docs")
    store.add_source(c, "/docs/sub/own.txt")
    store.add_source(c, "/other")
    for path in ("/docs/a.txt", "/docs/sub/own.txt", "/other/b.txt", "/docsx/c.txt"):
        index_file(store, c, path, ["text"])
    assert store.remove_source(c, "/docs") == 2  # /docs/a.txt and /docsx/c.txt (in no source)
    assert sorted(store.files(c)) == ["/docs/sub/own.txt", "/other/b.txt"]
    assert store.remove_source(c, "/nowhere") is None


def test_queries_match_any_word_and_drop_common_ones() -> None:
    assert any_word_query("How do owls EAT?") == '"owls" OR "EAT?"'
    assert any_word_query("the") == '"the"'
    assert any_word_query('say "hi" NEAR(x)') == '"say" OR """hi""" OR "NEAR(x)"'
    assert any_word_query("  ... ") == ""
