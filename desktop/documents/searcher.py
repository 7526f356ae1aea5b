"""Searching the user's collections by words and meaning for one thread of the window.

`DocumentSearcher` is owned by one background thread (the window's inference thread): it
opens its own connection to the encrypted store there, and embeds each query with the
embedding model in an engine host child of its own (`HostedEmbedder`), started when a
search first needs it. Nothing here runs on the GUI thread.

When the model cannot be had (not installed, damaged, crashed, too slow), the search uses
the words alone and `words_only_reason` says why; a model that failed is not started
again for `RETRY_AFTER_S`, so a broken model does not slow every question down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import EmbeddingError
from desktop.inference.host.embed_client import HostedEmbedder
from desktop.storage.db import Database
from desktop.storage.documents import DocumentStore, PassageHit

log = logging.getLogger(__name__)

#: A query is one short text: a child that takes longer is stuck, not busy.
QUERY_TIMEOUT_S = 20.0
#: After the model failed, searches use words alone this long before trying it again.
RETRY_AFTER_S = 300.0


@dataclass(frozen=True)
class DocumentQuery:
    """What a grounded reply searches: the question, in which collections, how many."""

    question: str
    collections: tuple[int, ...]
    limit: int


class DocumentSearcher:
    """Hybrid search on the calling thread; see the module docstring."""

    def __init__(
        self,
        open_db: Callable[[], Database],
        model_path: Callable[[], Path],
        make_embedder: Callable[[Path], HostedEmbedder] | None = None,
    ) -> None:
        """`open_db` opens a connection for this thread; `model_path` finds (or converts)
        the embedding model and raises `EmbeddingError` when there is none."""
        self._open_db = open_db
        self._model_path = model_path
        self._make_embedder = make_embedder or _embedder
        self._db: Database | None = None
        self._store: DocumentStore | None = None
        self._embedder: HostedEmbedder | None = None
        self._failed_at: float | None = None
        self.words_only_reason: str | None = None

    def search(self, query: DocumentQuery) -> list[PassageHit]:
        """The best passages for `query`, best first (words and meaning fused)."""
        store = self._ready_store()
        return store.search(query.question, query.collections, query.limit, "both")

    def _ready_store(self) -> DocumentStore:
        if self._store is None:
            self._db = self._open_db()
            self._store = DocumentStore(self._db, embed_query=self._embed)
        return self._store

    @property
    def embedding_ready(self) -> bool:
        """The embedding model's process is running (questions are embedded at once)."""
        return self._embedder is not None and self._embedder.pid is not None

    def warm(self) -> None:
        """Open the connection and start the embedding model now, so the first question
        does not wait for them (a failure is kept for the search to report)."""
        self._ready_store()
        if self._embedder is None and self._failed_at is None:
            with contextlib.suppress(EmbeddingError):  # `words_only_reason` says why
                self._embed("warm")

    def _embed(self, text: str) -> Any:
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER_S:
            raise EmbeddingError(self.words_only_reason or "the embedding model failed")
        try:
            if self._embedder is None:
                self._embedder = self._make_embedder(self._model_path())
            vector = self._embedder.embed([text])[0]
        except EmbeddingError as error:
            log.warning("searching by words only: %s", error)
            self.words_only_reason = str(error)
            self._failed_at = time.monotonic()
            raise
        self._failed_at, self.words_only_reason = None, None
        return vector

    def close(self) -> None:
        """End the embedding child and close the connection (on the owning thread)."""
        embedder, self._embedder = self._embedder, None
        db, self._db, self._store = self._db, None, None
        if embedder is not None:
            embedder.close()
        if db is not None:
            db.close()


def _embedder(model: Path) -> HostedEmbedder:
    threads = max(1, min(2, os.cpu_count() or 1))
    return HostedEmbedder(model, n_threads=threads, timeout_s=QUERY_TIMEOUT_S)
