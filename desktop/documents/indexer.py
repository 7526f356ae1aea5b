"""Indexing a collection: find its files, parse what changed, store passages, purge the gone.

`Indexer.index(name)` compares what is on disk with what the store knows:
- a new file, a file whose size changed, or one left `pending` by an interrupted run is
  parsed (in the parser child) and its passages stored, one transaction per file;
- a file whose size is the same but whose mtime changed is hashed first: same content,
  only its mtime is updated;
- an unchanged file (size and mtime), indexed or failed, is left as it is;
- a file no longer found is purged with its passages.
Every file to do is first recorded as `pending` in one transaction, so a killed run is
continued by the next one. Progress is reported after each file; `cancel` stops between
files (the files done stay done).

Thread: the caller's (the command line's main thread, or one background worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.documents.collect import Found, file_sha256, find_files
from desktop.documents.parser import DocumentParser
from desktop.storage.documents import DocFile, DocumentStore, NewPassage


@dataclass
class IndexProgress:
    """Where a run is: files and passages done of the files to do, and since when."""

    files_total: int
    files_done: int = 0
    passages_done: int = 0
    current: str = ""
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        """Files per second so far."""
        elapsed = time.monotonic() - self.started
        return self.files_done / elapsed if elapsed > 0 else 0.0

    def seconds_left(self) -> float | None:
        rate = self.rate()
        return (self.files_total - self.files_done) / rate if rate > 0 else None


@dataclass
class IndexReport:
    """What a run did."""

    indexed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    removed: int = 0
    passages: int = 0
    seconds: float = 0.0
    cancelled: bool = False


class Indexer:
    """Brings a collection's passages up to date with its files. See the module docstring."""

    def __init__(
        self,
        store: DocumentStore,
        parser: DocumentParser,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.parser = parser
        self._progress = progress or (lambda _: None)
        self._cancel = cancel or threading.Event()

    def add(self, name: str, paths: Sequence[Path]) -> IndexReport:
        """Adds files and folders to the collection `name` (created if new), then indexes it."""
        collection_id = self.store.collection_id(name, create=True)
        assert collection_id is not None
        for path in paths:
            self.store.add_source(collection_id, str(Path(path).expanduser().absolute()))
        return self.index(collection_id)

    def index(self, collection_id: int) -> IndexReport:
        start = time.monotonic()
        report = IndexReport()
        known = self.store.files(collection_id)
        found: dict[str, Found] = {}
        for source in self.store.sources(collection_id):
            for item in find_files(source):
                found.setdefault(item.path, item)
        gone = [f.id for path, f in known.items() if path not in found]
        self.store.delete_files(gone)
        report.removed = len(gone)
        todo = [item for path, item in found.items() if self._needs_work(item, known.get(path))]
        report.unchanged = len(found) - len(todo)
        self.store.add_pending(collection_id, [(item.path, item.format) for item in todo])
        progress = IndexProgress(files_total=len(todo))
        self._progress(progress)
        for item in todo:
            if self._cancel.is_set():
                report.cancelled = True
                break
            progress.current = item.path
            file_id = self.store.file_id(collection_id, item.path)
            assert file_id is not None
            reason = self._index_one(file_id, item, known.get(item.path), report)
            if reason is not None:
                report.failed.append((item.path, reason))
            progress.files_done += 1
            progress.passages_done = report.passages
            self._progress(progress)
        report.seconds = time.monotonic() - start
        return report

    def _needs_work(self, item: Found, record: DocFile | None) -> bool:
        if record is None or record.status == "pending":
            return True
        if item.problem is not None:
            return record.status != "failed" or record.reason != item.problem
        return (record.size, record.mtime_ns) != (item.size, item.mtime_ns)

    def _index_one(
        self, file_id: int, item: Found, record: DocFile | None, report: IndexReport
    ) -> str | None:
        """Indexes one file; the reason it failed, or None."""
        if item.problem is not None:
            self.store.save_failed(file_id, item.problem)
            return item.problem
        if (
            record is not None
            and record.status == "indexed"
            and record.size == item.size
            and record.sha256 is not None
            and _sha256(item.path) == record.sha256
        ):
            self.store.touch(file_id, item.size, item.mtime_ns)  # touched, not changed
            report.unchanged += 1
            return None
        outcome = self.parser.parse(Path(item.path), item.format)
        if outcome.reason is not None:
            self.store.save_failed(file_id, outcome.reason, item.size, item.mtime_ns)
            return outcome.reason
        self.store.save_indexed(
            file_id,
            [NewPassage(p.text, p.heading, p.page) for p in outcome.passages],
            size=item.size,
            mtime_ns=item.mtime_ns,
            sha256=outcome.sha256,
            pages=outcome.pages,
            note=outcome.note,
        )
        report.indexed += 1
        report.passages += len(outcome.passages)
        return None


def _sha256(path: str) -> str | None:
    try:
        return file_sha256(Path(path))
    except OSError:
        return None
