"""Indexing in the background: one long-lived thread that owns its own connection to the
encrypted store and the parser child process, and runs one collection at a time.

`IndexingThread` lives on the GUI thread. `add(collection_id, paths)` and
`index(collection_id)` queue a run (the `Indexer` of `desktop.documents`: new and changed
files parsed, deleted ones purged, each file saved on its own, so a run stopped by quitting
continues on the next start: `resume()` queues the collections with files left pending).
`pause()` holds the run after the file being read; `cancel()` stops it after that file and
drops the runs queued behind it (the files done stay done).

With `make_embedder` (the window's), a run goes on once the words are searchable: the
passages of the collection that have no vector yet are embedded, batch by batch, by the
embedding model in an engine host child of the worker's (started on first need, ended with
the thread), so they can be found by meaning. Pause and cancel work between batches; every
batch done is kept, and the next run (or the next start) embeds the rest.

Signals of `IndexingThread` (the worker's, re-emitted on the GUI thread):
    progressed(IndexStatus)     after each file or batch, and when a run starts or is paused
    run_finished(int, IndexReport)   the files are read: their words are searchable
    run_failed(int, str)        a one-sentence reason (the store could not be written...)
    embedding_finished(int, EmbedReport)  the passages embedded after a run (or why not)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from desktop.core.errors import EmbeddingError, HearthError
from desktop.documents.embedding import Embedder, EmbeddingRun, EmbedProgress, EmbedReport
from desktop.documents.indexer import Indexer, IndexProgress, IndexReport
from desktop.documents.parser import DocumentParser
from desktop.storage.doc_vectors import VectorIndex
from desktop.storage.documents import DocumentStore
from desktop.ui.common.owned_thread import OwnedThread

log = logging.getLogger(__name__)

#: How often a paused run looks whether it was resumed or cancelled.
PAUSE_POLL_S = 0.1


class EmbedderHandle(Embedder, Protocol):
    """An embedder with a child process to end (`HostedEmbedder`)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class IndexStatus:
    """A snapshot of a run for the progress bar."""

    collection_id: int
    files_total: int
    files_done: int
    passages_done: int
    current: str
    files_per_s: float
    seconds_left: float | None
    paused: bool = False
    #: "reading" (files parsed, words indexed) or "meaning" (passages embedded: then
    #: `files_*` count passages, and `passages_done` is how many are embedded)
    phase: str = "reading"


class IndexingWorker(QObject):
    """Runs the queued indexing runs on its thread; see the module docstring."""

    progressed = Signal(object)
    run_finished = Signal(int, object)
    run_failed = Signal(int, str)
    embedding_finished = Signal(int, object)

    def __init__(
        self,
        open_store: Callable[[], DocumentStore],
        make_parser: Callable[[], DocumentParser] = DocumentParser,
        make_embedder: Callable[[], EmbedderHandle] | None = None,
    ) -> None:
        super().__init__()
        self._open_store = open_store
        self._make_parser = make_parser
        self._make_embedder = make_embedder
        self._store: DocumentStore | None = None
        self._parser: DocumentParser | None = None
        self._embedder: EmbedderHandle | None = None
        self.cancel_event = threading.Event()
        self.running = threading.Event()  # cleared: paused
        self.running.set()
        self.cancelled_up_to = 0  # runs queued with a number up to this one are dropped
        self._collection = 0

    @Slot(int, list, int)
    def run(self, collection_id: int, paths: list[str], number: int) -> None:
        if number <= self.cancelled_up_to:
            return
        self.cancel_event.clear()
        self._collection = collection_id
        try:
            if self._store is None:
                self._store = self._open_store()
            if self._parser is None:
                self._parser = self._make_parser()
            indexer = Indexer(self._store, self._parser, self._report, self.cancel_event)
            for path in paths:
                self._store.add_source(collection_id, path)
            report = indexer.index(collection_id)
        except HearthError as error:
            log.warning("indexing collection %d failed: %s", collection_id, error)
            self.run_failed.emit(collection_id, str(error))
        except Exception as error:
            log.exception("unexpected error while indexing")
            self.run_failed.emit(
                collection_id, f"Indexing stopped ({type(error).__name__}: {error})."
            )
        else:
            self.run_finished.emit(collection_id, report)
            if not report.cancelled and self._make_embedder is not None:
                self._embed(collection_id)

    def _embed(self, collection_id: int) -> None:
        """Give the collection's passages without a vector theirs (see the docstring)."""
        assert self._store is not None and self._make_embedder is not None
        try:
            vectors = VectorIndex(self._store.db)
            done, total = vectors.counts([collection_id])
            if done >= total:
                return
            if self._embedder is None:
                self._embedder = self._make_embedder()
            run = EmbeddingRun(vectors, self._embedder, self._embed_report, self.cancel_event)
            report = run.run([collection_id])
        except EmbeddingError as error:  # the model is missing or could not be converted
            report = EmbedReport(error=str(error))
        except HearthError as error:
            log.warning("embedding collection %d failed: %s", collection_id, error)
            report = EmbedReport(error=str(error))
        except Exception as error:
            log.exception("unexpected error while embedding")
            report = EmbedReport(error=f"{type(error).__name__}: {error}")
        # Its process ends with the run (about 100 MB returned to the system); a run with
        # new passages starts one again, in a second or two.
        self._close_embedder()
        self.embedding_finished.emit(collection_id, report)

    def _report(self, progress: IndexProgress) -> None:
        self.progressed.emit(self._status(progress, paused=False))
        if held := self._hold(lambda: self.progressed.emit(self._status(progress, True))):
            progress.started += held  # the rate counts working time only
            self.progressed.emit(self._status(progress, paused=False))

    def _embed_report(self, progress: EmbedProgress) -> None:
        self.progressed.emit(self._embed_status(progress, paused=False))
        if held := self._hold(lambda: self.progressed.emit(self._embed_status(progress, True))):
            progress.started += held
            self.progressed.emit(self._embed_status(progress, paused=False))

    def _hold(self, show_paused: Callable[[], None]) -> float:
        """While paused, wait here (after a file or a batch); the seconds held."""
        if self.running.is_set() or self.cancel_event.is_set():
            return 0.0
        show_paused()
        held = time.monotonic()
        while not self.running.wait(PAUSE_POLL_S) and not self.cancel_event.is_set():
            pass
        return time.monotonic() - held

    def _embed_status(self, progress: EmbedProgress, paused: bool) -> IndexStatus:
        return IndexStatus(
            self._collection,
            progress.total,
            progress.done,
            progress.done,
            "",
            progress.rate(),
            progress.seconds_left(),
            paused,
            phase="meaning",
        )

    def _status(self, progress: IndexProgress, paused: bool) -> IndexStatus:
        return IndexStatus(
            self._collection,
            progress.files_total,
            progress.files_done,
            progress.passages_done,
            progress.current,
            progress.rate(),
            progress.seconds_left(),
            paused,
        )

    @Slot()
    def shutdown(self) -> None:
        """Close the parser and embedding children and the connection on this thread. Safe
        to call twice."""
        self._close_embedder()
        parser, self._parser = self._parser, None
        store, self._store = self._store, None
        try:
            if parser is not None:
                parser.close()
            if store is not None:
                store.db.close()
        except Exception:
            log.exception("closing the indexer failed")

    @property
    def embeds(self) -> bool:
        """Runs go on to embed the passages (the window's indexing)."""
        return self._make_embedder is not None

    def _close_embedder(self) -> None:
        embedder, self._embedder = self._embedder, None
        try:
            if embedder is not None:
                embedder.close()
        except Exception:
            log.exception("closing the embedding model failed")


class IndexingThread(QObject):
    """Owns the indexing `QThread` and its worker; lives on the GUI thread."""

    progressed = Signal(object)
    run_finished = Signal(int, object)
    run_failed = Signal(int, str)
    embedding_finished = Signal(int, object)
    _run_requested = Signal(int, list, int)

    def __init__(
        self,
        open_store: Callable[[], DocumentStore],
        make_parser: Callable[[], DocumentParser] = DocumentParser,
        parent: QObject | None = None,
        make_embedder: Callable[[], EmbedderHandle] | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = IndexingWorker(open_store, make_parser, make_embedder)
        self._thread = OwnedThread(self.worker, self.worker.shutdown, "hearth-indexing")
        queued = Qt.ConnectionType.QueuedConnection
        self._run_requested.connect(self.worker.run, queued)
        self._queued = 0
        self._running_or_queued = 0
        self.worker.progressed.connect(self.progressed, queued)
        self.worker.run_finished.connect(self._on_done, queued)
        self.worker.run_failed.connect(self._on_failed, queued)
        self.worker.embedding_finished.connect(self.embedding_finished, queued)

    def start(self) -> None:
        self._thread.start()

    @property
    def busy(self) -> bool:
        """A run is going on or waiting."""
        return self._running_or_queued > 0

    @property
    def paused(self) -> bool:
        return not self.worker.running.is_set()

    def add(self, collection_id: int, paths: Sequence[str]) -> None:
        """Add files and folders to the collection, then index it (queued)."""
        self._queue(collection_id, list(paths))

    def index(self, collection_id: int) -> None:
        self._queue(collection_id, [])

    def resume(self, store: DocumentStore) -> list[int]:
        """Queue the collections a previous run left unfinished (files to read, or
        passages to embed); their ids."""
        vectors = VectorIndex(store.db) if self.worker.embeds else None
        unfinished = [
            c.id
            for c in store.collections()
            if c.pending or (vectors is not None and _unembedded(vectors, c.id))
        ]
        for collection_id in unfinished:
            self.index(collection_id)
        return unfinished

    def pause(self, paused: bool) -> None:
        if paused:
            self.worker.running.clear()
        else:
            self.worker.running.set()

    def cancel(self) -> None:
        """Stop the run after the file being read, and drop the runs queued."""
        self.worker.cancelled_up_to = self._queued
        self.worker.cancel_event.set()
        self.worker.running.set()
        self._running_or_queued = 0

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel, close the parser and the connection on their thread, join it."""
        self.cancel()
        return self._thread.stop(timeout_ms)

    def _queue(self, collection_id: int, paths: list[str]) -> None:
        self._queued += 1
        self._running_or_queued += 1
        self._run_requested.emit(collection_id, paths, self._queued)

    def _on_done(self, collection_id: int, report: IndexReport) -> None:
        self._running_or_queued = max(0, self._running_or_queued - 1)
        self.run_finished.emit(collection_id, report)

    def _on_failed(self, collection_id: int, reason: str) -> None:
        self._running_or_queued = max(0, self._running_or_queued - 1)
        self.run_failed.emit(collection_id, reason)


def _unembedded(vectors: VectorIndex, collection_id: int) -> bool:
    done, total = vectors.counts([collection_id])
    return done < total
