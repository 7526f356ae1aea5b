"""`DownloadManager`: the window's model downloads, one at a time off the GUI thread, queued.

Each download runs `Downloader.download` in a `BackgroundTask` (a Python thread). The
queue (waiting and paused downloads) is kept in the downloads folder's `queue.json`, so
quitting Hearth mid-way and starting it again resumes with `resume_queue()` (when the
network is on). Pause stops the transfer and keeps the partial file; Resume continues it
with a range request; Cancel stops it and deletes what was fetched.

The worker only emits; the GUI thread applies: progress arrives as `progressed` at most ten
times a second; each host contacted as `contacted(host, purpose, detail)` (the window
writes it to the contact log, on the GUI thread); a verified file as
`downloaded(key, path)`; a failure as `failed(key, message)`; `changed()` whenever the
queue or a state changes.
Thread: GUI thread (the transfer runs on its own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.core.catalogue import CatalogueEntry
from desktop.core.downloads import DownloadRequest, Rate, progress_text
from desktop.core.errors import HearthError
from desktop.core.network import NetworkPolicy
from desktop.inference.downloader import CANCEL, PAUSE, Downloader, DownloadStopped
from desktop.inference.hub import HubClient
from desktop.inference.sysmem import available_memory
from desktop.storage.download_queue import PAUSED, WAITING, DownloadQueueFile
from desktop.ui.common.tasks import BackgroundTask

log = logging.getLogger(__name__)

DOWNLOADING = "downloading"
PROGRESS_EVERY_S = 0.1


@dataclass(frozen=True)
class DownloadRow:
    """One download as the window shows it."""

    request: DownloadRequest
    state: str  # DOWNLOADING, WAITING or PAUSED
    done: int
    total: int | None
    text: str


class DownloadManager(QObject):
    """See the module docstring."""

    changed = Signal()
    progressed = Signal(str, object, object, str)  # key, done, total, text
    contacted = Signal(str, str, str)  # host, purpose ("download", "search"), detail
    downloaded = Signal(str, object)  # key, Path of the verified file
    failed = Signal(str, str)  # key, the sentence
    _progress = Signal(str, object, object)  # from the worker thread, delivered queued

    def __init__(
        self, downloader: Downloader, queue: DownloadQueueFile, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.downloader = downloader
        self.queue = queue
        self._task: BackgroundTask | None = None
        self._current: DownloadRequest | None = None
        self._stop: str | None = None
        self._stop_lock = threading.Lock()
        self._rate = Rate()
        self._last_emit = 0.0
        self._progress_of: dict[str, tuple[int, int | None, str]] = {}
        self._progress.connect(self._on_progress)

    # --- public API ------------------------------------------------------------------------

    def rows(self) -> list[DownloadRow]:
        rows = []
        for item in self.queue.items:
            key = item.request.key
            state = DOWNLOADING if self.is_current(key) else item.state
            done, total, text = self._progress_of.get(key, (0, item.request.size_hint, ""))
            rows.append(DownloadRow(item.request, state, done, total, text or _idle(state)))
        return rows

    def is_current(self, key: str) -> bool:
        return self._current is not None and self._current.key == key

    def is_queued(self, key: str) -> bool:
        return self.queue.find(key) is not None

    def is_busy(self) -> bool:
        return self._task is not None

    def add(self, request: DownloadRequest) -> None:
        """Queue `request` (a paused one is resumed) and start it when its turn comes."""
        self._save(lambda: self.queue.put(request, WAITING))
        self._start_next()
        self.changed.emit()

    def resume_queue(self) -> None:
        """After a restart: continue the downloads that were waiting or running."""
        self._start_next()
        self.changed.emit()

    def pause(self, key: str) -> None:
        item = self.queue.find(key)
        if item is None:
            return
        self._save(lambda: self.queue.put(item.request, PAUSED))
        if self.is_current(key):
            self._request_stop(PAUSE)
        self.changed.emit()

    def resume(self, key: str) -> None:
        item = self.queue.find(key)
        if item is not None:
            self.add(item.request)

    def cancel(self, key: str) -> None:
        item = self.queue.find(key)
        if item is None:
            return
        self._save(lambda: self.queue.remove(key))
        self._progress_of.pop(key, None)
        if self.is_current(key):
            self._request_stop(CANCEL)
        else:
            self.downloader.discard(item.request)
        self.changed.emit()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop the transfer (kept for resuming) and wait for its thread."""
        if self._task is not None:
            self._request_stop(PAUSE)
            self._task.wait(timeout_s)

    # --- the worker --------------------------------------------------------------------------

    def _start_next(self) -> None:
        if self._task is not None:
            return
        item = next((i for i in self.queue.items if i.state == WAITING), None)
        if item is None:
            return
        request = item.request
        self._current, self._stop = request, None
        self._rate = Rate()
        task = BackgroundTask(lambda: self._run(request), self)
        task.succeeded.connect(lambda path: self._succeeded(request, path))
        task.failed.connect(lambda error: self._failed(request, error))
        task.finished.connect(self._finished)
        self._task = task
        task.start()

    def _run(self, request: DownloadRequest) -> Path:
        """On the worker thread: only emits."""
        return self.downloader.download(
            request,
            lambda done, total: self._progress.emit(request.key, done, total),
            self._stopping,
            lambda host: self.contacted.emit(host, "download", request.file),
        )

    def _stopping(self) -> str | None:
        with self._stop_lock:
            return self._stop

    def _request_stop(self, how: str) -> None:
        with self._stop_lock:
            self._stop = how

    def _on_progress(self, key: str, done: int, total: int | None) -> None:
        self._rate.add(done)
        now = time.monotonic()
        if now - self._last_emit < PROGRESS_EVERY_S and done != total:
            return
        self._last_emit = now
        text = progress_text(done, total, self._rate.per_second())
        self._progress_of[key] = (done, total, text)
        self.progressed.emit(key, done, total, text)

    def _succeeded(self, request: DownloadRequest, path: object) -> None:
        self._save(lambda: self.queue.remove(request.key))
        self._progress_of.pop(request.key, None)
        self.downloaded.emit(request.key, path)

    def _failed(self, request: DownloadRequest, error: object) -> None:
        if isinstance(error, DownloadStopped):
            return  # paused or cancelled: the queue already says so
        if isinstance(error, HearthError):
            message = str(error)
        else:
            trace = error if isinstance(error, BaseException) else None
            log.error("downloading %s failed unexpectedly", request.key, exc_info=trace)
            message = (
                f"Downloading {request.file} failed because of an unexpected error ({error!r})."
            )
        self._save(lambda: self.queue.put(request, PAUSED))  # kept, to try again later
        self.failed.emit(request.key, message)

    def _finished(self) -> None:
        task, self._task, self._current = self._task, None, None
        if task is not None:
            task.deleteLater()
        self._start_next()
        self.changed.emit()

    def _save(self, change: Callable[[], object]) -> None:
        try:
            change()
        except OSError as error:
            log.warning("the download queue could not be saved: %s", error)


def _idle(state: str) -> str:
    return {WAITING: "Waiting", PAUSED: "Paused", DOWNLOADING: "Starting…"}.get(state, state)


@dataclass(frozen=True)
class DownloadServices:
    """What the Models page needs to offer downloads (built by the app)."""

    manager: DownloadManager
    hub: HubClient
    policy: Callable[[], NetworkPolicy]
    catalogue: Callable[[], list[CatalogueEntry]]  # raises CatalogueError
    free_memory: Callable[[], int | None] = available_memory
    #: Asks before the first download (parent, host) -> yes; None: a message box.
    ask_consent: Callable[[QWidget, str], bool] | None = None
