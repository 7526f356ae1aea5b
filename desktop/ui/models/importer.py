"""`ImportQueue`: model files waiting to be imported, taken one at a time off the GUI thread.

Each file goes through `ModelLibrary.import_model` (inspection, then a trial load in a child
process with a time limit) inside a `BackgroundTask`. A file already waiting is not queued
twice. A known refusal (`HearthError`) is passed on as the library's sentence; anything
else is logged with its traceback and reported as an unexpected error.

Signals: imported(object ModelEntry), refused(str message), changed() whenever the queue
or the file being checked changes. Thread: GUI thread (the imports run on their own).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.errors import HearthError
from desktop.inference.library import ModelLibrary
from desktop.ui.common.tasks import BackgroundTask

log = logging.getLogger(__name__)


class ImportQueue(QObject):
    """Imports files one after another; see the module docstring."""

    imported = Signal(object)
    refused = Signal(str)
    changed = Signal()

    def __init__(self, library: ModelLibrary, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self.waiting: list[tuple[Path, bool]] = []
        self._moved: set[Path] = set()  # Hearth's own downloads: moved in, deleted if refused
        self.current: Path | None = None
        self._task: BackgroundTask | None = None

    def add(self, paths: list[Path], link: bool, *, move: bool = False) -> None:
        """Queue `paths` (copied, linked when `link`, or moved in when `move`: a download of
        Hearth's own, deleted if it is refused) and start if idle."""
        known = {p for p, _ in self.waiting} | ({self.current} if self.current else set())
        for path in (Path(p).expanduser().absolute() for p in paths):
            if path not in known:
                self.waiting.append((path, link))
                known.add(path)
                if move:
                    self._moved.add(path)
        self._start_next()
        self.changed.emit()

    def is_busy(self) -> bool:
        return self._task is not None

    def _start_next(self) -> None:
        if self._task is not None or not self.waiting:
            return
        path, link = self.waiting.pop(0)
        library = self._library
        move = path in self._moved
        task = BackgroundTask(lambda: library.import_model(path, link=link, move=move), self)
        task.succeeded.connect(self.imported)
        task.failed.connect(lambda error: self._failed(path, error))
        task.finished.connect(self._finished)
        self._task, self.current = task, path
        task.start()

    def _failed(self, path: Path, error: object) -> None:
        if path in self._moved:
            path.unlink(missing_ok=True)
        if isinstance(error, HearthError):
            self.refused.emit(str(error))
            return
        trace = error if isinstance(error, BaseException) else None
        log.error("importing %s failed unexpectedly", path, exc_info=trace)
        self.refused.emit(
            f'"{path.name}" could not be imported because of an unexpected error ({error!r}); '
            "nothing was added."
        )

    def _finished(self) -> None:
        if self.current is not None:
            self._moved.discard(self.current)
        task, self._task, self.current = self._task, None, None
        if task is not None:
            task.deleteLater()
        self._start_next()
        self.changed.emit()
