"""Schema v6: document search stems English words; a v5 database is re-indexed in place."""

from __future__ import annotations

from pathlib import Path

from desktop.storage.db import open_database
from desktop.storage.documents import DocumentStore, NewPassage
from desktop.storage.migrations import MIGRATIONS, migrate, open_and_migrate

KEY = bytes(range(32))


def test_a_v5_database_is_backed_up_then_finds_other_forms_of_a_word(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    old = open_database(path, KEY)
    migrate(old, tmp_path / "unused", MIGRATIONS[:5])
    store = DocumentStore(old)
    collection = store.collection_id("notes", create=True)
    assert collection is not None
    store.add_pending(collection, [("/n/a.txt", "text")])
    file_id = store.file_id(collection, "/n/a.txt")
    assert file_id is not None
    passage = NewPassage("The parts were separated by hand.", "", None)
    store.save_indexed(file_id, [passage], size=1, mtime_ns=1, sha256="x", pages=None)
    assert store.search("separates") == []  # v5: only the exact word
    old.close()

    db = open_and_migrate(path, KEY, backup_dir=tmp_path / "backups")
    try:
        assert [p.name[:9] for p in (tmp_path / "backups").iterdir()] == ["hearth-v5"]
        hits = DocumentStore(db).search("separates")
        assert [h.snippet for h in hits] == ["The parts were [separated] by hand."]
        assert [h.text for h in DocumentStore(db).search("separating parts")] == [passage.text]
    finally:
        db.close()
