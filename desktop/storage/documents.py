"""The document store: collections, their sources (files and folders), the files found in
them with their state, and the passages with a full-text index (schema v5).

A file's passages are replaced in one transaction together with its new size, mtime and
hash, so an interrupted indexing run leaves each file either as it was or fully updated,
and the run can continue where it stopped. Search ranks passages with FTS5's BM25 over the
words of the query (any of them; passages with more, and rarer, words come first).

Thread: like `ConversationStore`, a `DocumentStore` uses its `Database` from one thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from desktop.storage import doc_search
from desktop.storage.conversations import storable, to_db_time
from desktop.storage.db import Database
from desktop.storage.doc_search import STOPWORDS as STOPWORDS  # re-exported
from desktop.storage.doc_search import PassageHit as PassageHit
from desktop.storage.doc_search import QueryEmbedder, SearchMode
from desktop.storage.doc_search import any_word_query as any_word_query

FileStatus = Literal["pending", "indexed", "failed"]


@dataclass(frozen=True)
class Collection:
    """A named set of files and folders, with counts of its files by status."""

    id: int
    name: str
    sources: tuple[str, ...]
    files: int
    indexed: int
    failed: int
    pending: int
    passages: int


@dataclass(frozen=True)
class DocFile:
    """One file found in a collection's sources, and how its indexing went."""

    id: int
    path: str
    format: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    status: FileStatus
    reason: str | None
    pages: int | None
    passages: int = 0


@dataclass(frozen=True)
class NewPassage:
    text: str
    heading: str
    page: int | None


class DocumentStore:
    """Collections, files and passages in the encrypted database. See the module docstring."""

    def __init__(self, db: Database, embed_query: QueryEmbedder | None = None) -> None:
        """`embed_query` turns a query into its vector (in the engine host child), for
        searches by meaning; None: words only."""
        self.db = db
        self._embed_query = embed_query

    # -- collections and sources ----------------------------------------------------------
    def collection_id(self, name: str, create: bool = False) -> int | None:
        found = self.db.scalar("SELECT id FROM doc_collections WHERE name = ?", (name,))
        if found is not None or not create:
            return None if found is None else int(found)
        cursor = self.db.execute(
            "INSERT INTO doc_collections (name, created_at) VALUES (?, ?)", (name, _now())
        )
        return int(cursor.lastrowid)

    def collections(self) -> list[Collection]:
        rows = self.db.query_all(
            """SELECT c.id, c.name,
                (SELECT count(*) FROM doc_files f WHERE f.collection_id = c.id),
                (SELECT count(*) FROM doc_files f
                    WHERE f.collection_id = c.id AND f.status = 'indexed'),
                (SELECT count(*) FROM doc_files f
                    WHERE f.collection_id = c.id AND f.status = 'failed'),
                (SELECT count(*) FROM doc_files f
                    WHERE f.collection_id = c.id AND f.status = 'pending'),
                (SELECT count(*) FROM doc_passages p JOIN doc_files f ON f.id = p.file_id
                    WHERE f.collection_id = c.id)
            FROM doc_collections c ORDER BY c.name COLLATE NOCASE"""
        )
        return [Collection(r[0], r[1], tuple(self.sources(r[0])), *r[2:]) for r in rows]

    def rename_collection(self, collection_id: int, name: str) -> None:
        """Renames a collection; `DatabaseError` if another one has that name."""
        self.db.execute("UPDATE doc_collections SET name = ? WHERE id = ?", (name, collection_id))

    def remove_collection(self, collection_id: int) -> None:
        """The collection and all of it: sources, files, passages and their index entries."""
        with self.db.transaction():
            self.db.execute("DELETE FROM doc_collections WHERE id = ?", (collection_id,))

    def sources(self, collection_id: int) -> list[str]:
        rows = self.db.query_all(
            "SELECT path FROM doc_sources WHERE collection_id = ? ORDER BY path", (collection_id,)
        )
        return [row[0] for row in rows]

    def add_source(self, collection_id: int, path: str) -> bool:
        """Adds a file or folder to the collection; False if it was there already."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO doc_sources (collection_id, path, added_at) VALUES (?, ?, ?)",
            (collection_id, path, _now()),
        )
        return bool(cursor.rowcount)

    def remove_source(self, collection_id: int, path: str) -> int | None:
        """Removes a source and the files only it held; the number of files, None if absent."""
        with self.db.transaction():
            cursor = self.db.execute(
                "DELETE FROM doc_sources WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )
            if not cursor.rowcount:
                return None
            left = self.sources(collection_id)
            gone = [
                f.id for f in self.files(collection_id).values() if not _under_any(f.path, left)
            ]
            self.delete_files(gone)
        return len(gone)

    # -- files ----------------------------------------------------------------------------
    def files(self, collection_id: int) -> dict[str, DocFile]:
        rows = self.db.query_all(
            """SELECT f.id, f.path, f.format, f.size, f.mtime_ns, f.sha256, f.status, f.reason,
                f.pages, (SELECT count(*) FROM doc_passages p WHERE p.file_id = f.id)
            FROM doc_files f WHERE f.collection_id = ? ORDER BY f.path""",
            (collection_id,),
        )
        return {row[1]: DocFile(*row) for row in rows}

    def add_pending(self, collection_id: int, entries: Iterable[tuple[str, str]]) -> None:
        """Records files (path, format) to index; known files are marked pending again."""
        with self.db.transaction():
            for path, fmt in entries:
                self.db.execute(
                    """INSERT INTO doc_files (collection_id, path, format, status)
                        VALUES (?, ?, ?, 'pending')
                    ON CONFLICT (collection_id, path)
                        DO UPDATE SET status = 'pending', format = excluded.format""",
                    (collection_id, path, fmt),
                )

    def file_id(self, collection_id: int, path: str) -> int | None:
        found = self.db.scalar(
            "SELECT id FROM doc_files WHERE collection_id = ? AND path = ?", (collection_id, path)
        )
        return None if found is None else int(found)

    def save_indexed(
        self,
        file_id: int,
        passages: Sequence[NewPassage],
        *,
        size: int,
        mtime_ns: int,
        sha256: str | None,
        pages: int | None,
        note: str | None = None,
    ) -> None:
        """The file's passages replaced and its state updated, in one transaction."""
        with self.db.transaction():
            self.db.execute("DELETE FROM doc_passages WHERE file_id = ?", (file_id,))
            self.db.execute_many(
                "INSERT INTO doc_passages (file_id, ordinal, heading, page, text)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (file_id, n, storable(p.heading), p.page, storable(p.text))
                    for n, p in enumerate(passages)
                ],
            )
            self._set_state(file_id, "indexed", note, size, mtime_ns, sha256, pages)

    def save_failed(
        self, file_id: int, reason: str, size: int | None = None, mtime_ns: int | None = None
    ) -> None:
        """The file could not be read: its passages go, `reason` is its status."""
        with self.db.transaction():
            self.db.execute("DELETE FROM doc_passages WHERE file_id = ?", (file_id,))
            self._set_state(file_id, "failed", reason, size, mtime_ns, None, None)

    def touch(self, file_id: int, size: int, mtime_ns: int) -> None:
        """A file whose content did not change: only its size and mtime are updated."""
        self.db.execute(
            "UPDATE doc_files SET size = ?, mtime_ns = ?, status = 'indexed' WHERE id = ?",
            (size, mtime_ns, file_id),
        )

    def delete_files(self, file_ids: Sequence[int]) -> None:
        with self.db.transaction():
            for file_id in file_ids:
                self.db.execute("DELETE FROM doc_files WHERE id = ?", (file_id,))

    def _set_state(self, file_id: int, status: FileStatus, reason: str | None, *rest: Any) -> None:
        size, mtime_ns, sha256, pages = rest
        self.db.execute(
            """UPDATE doc_files SET status = ?, reason = ?, size = ?, mtime_ns = ?, sha256 = ?,
                pages = ?, indexed_at = ? WHERE id = ?""",
            (status, reason, size, mtime_ns, sha256, pages, _now(), file_id),
        )

    # -- search ---------------------------------------------------------------------------
    def search(
        self,
        query: str,
        collections: Sequence[int] | None = None,
        limit: int = 10,
        mode: SearchMode = "both",
    ) -> list[PassageHit]:
        """The passages best matching `query`, best first (see `doc_search`).

        `mode`: "words" (BM25 over the words, stemmed), "meaning" (nearest vectors of the
        query's embedding) or "both" (the two fused by reciprocal rank). "both" is "words"
        when there is no embedder or no passage has a vector yet; "meaning" then raises
        `EmbeddingError`.
        """
        return doc_search.search(self.db, self._embed_query, query, collections, limit, mode)


def _under_any(path: str, sources: Sequence[str]) -> bool:
    return any(path == s or path.startswith(s.rstrip(os.sep) + os.sep) for s in sources)


def _now() -> str:
    return to_db_time(datetime.now(UTC))
