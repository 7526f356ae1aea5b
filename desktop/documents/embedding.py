"""Embedding the passages that have no vector yet, batch by batch, resumably.

Words are searchable as soon as a file is parsed (`Indexer`); vectors follow here. Each
batch is embedded by an `Embedder` (in practice `HostedEmbedder`: the engine host child) and
stored in one transaction, so a run that is cancelled, killed or whose model crashes keeps
every batch done, and the next run takes the passages still without a vector. `cancel` is
checked between batches; `progress` is called after each one.

Thread: the caller's (the command line's main thread, or one background worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from desktop.core.errors import EmbeddingError
from desktop.storage.doc_vectors import VectorIndex

BATCH = 8  # passages per request: about 2-4 s on 2 busy cores, so Cancel is quick


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> Any: ...


@dataclass
class EmbedProgress:
    """Passages embedded so far in this run, of those that had no vector when it started."""

    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        """Passages per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def seconds_left(self) -> float | None:
        rate = self.rate()
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class EmbedReport:
    embedded: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    error: str | None = None  # why it stopped early (the model failed); words still search


class EmbeddingRun:
    """Gives every passage of some collections its vector. See the module docstring."""

    def __init__(
        self,
        vectors: VectorIndex,
        embedder: Embedder,
        progress: Callable[[EmbedProgress], None] | None = None,
        cancel: threading.Event | None = None,
        batch: int = BATCH,
        limit: int | None = None,
    ) -> None:
        """`limit`: stop after about this many passages (benchmarks)."""
        self.vectors = vectors
        self.embedder = embedder
        self._progress = progress or (lambda _: None)
        self._cancel = cancel or threading.Event()
        self._batch = batch
        self._limit = limit

    def run(self, collections: Sequence[int] | None = None) -> EmbedReport:
        start = time.monotonic()
        report = EmbedReport()
        done, total = self.vectors.counts(collections)
        todo = total - done if self._limit is None else min(total - done, self._limit)
        progress = EmbedProgress(total=todo)
        self._progress(progress)
        while not (cancelled := self._cancel.is_set()):
            size = min(self._batch, progress.total - progress.done)
            batch = self.vectors.pending(size, collections) if size > 0 else []
            if not batch:
                break
            try:
                rows = self.embedder.embed([p.embedding_text() for p in batch])
            except EmbeddingError as error:
                report.error = str(error)
                break
            report.embedded += self.vectors.save(batch, rows)
            progress.done += len(batch)
            self._progress(progress)
        report.cancelled = cancelled
        report.seconds = time.monotonic() - start
        return report
