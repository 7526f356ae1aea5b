"""`TeachRun`: one teaching job, run by the training child process, watched from the window.

`start(job)` runs `Trainer.run` on a Python thread (the child process does the training:
torch never loads into the window's process). Each event of the child (phase, step,
epoch) arrives on the GUI thread as `progressed(dict)`. When it ends, the adapter file is
checked against its model and read, still off the GUI thread; `succeeded(dict done, bytes
adapter, AdapterInfo)` then hands it over (the caller keeps it in the store), or
`failed(str)` says why nothing was kept. `pause(True/False)` stops and continues the child
(POSIX); `cancel()` ends it. The private folder the adapter was written to is removed in
every case.

Signals: progressed(dict), paused_changed(bool), succeeded(dict, bytes, object),
failed(str), finished(). Thread: GUI thread (the waiting happens on its own thread).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop.core.errors import HearthError
from desktop.inference.adapters import check_fits
from desktop.teach.trainer import TeachJob, Trainer, can_pause, pause

log = logging.getLogger(__name__)


class TeachRun(QObject):
    """See the module docstring."""

    progressed = Signal(object)
    paused_changed = Signal(bool)
    succeeded = Signal(object, bytes, object)
    failed = Signal(str)
    finished = Signal()
    _event = Signal(object)  # emitted from the waiting thread, delivered queued
    _ended = Signal(bool, object)

    def __init__(self, trainer: Trainer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer = trainer
        self._cancel = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.paused = False
        self._event.connect(self.progressed, Qt.ConnectionType.QueuedConnection)
        self._ended.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def can_pause() -> bool:
        return can_pause()

    def start(self, job: TeachJob, folder: Path) -> None:
        """Teach `job` (its adapter written into `folder`, removed at the end)."""
        if self._thread is not None:
            raise RuntimeError("a TeachRun runs one job")
        self._thread = threading.Thread(
            target=self._run, args=(job, folder), name="hearth-teach", daemon=True
        )
        self._thread.start()

    def pause(self, paused: bool) -> None:
        process = self._process
        if process is None or paused == self.paused or not can_pause():
            return
        pause(process, paused)
        self.paused = paused
        self.paused_changed.emit(paused)

    def cancel(self) -> None:
        """End the child now; nothing is kept."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _started(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    def _run(self, job: TeachJob, folder: Path) -> None:
        try:
            done = self.trainer.run(job, self._event.emit, self._cancel, self._started)
            adapter = Path(done["adapter"])
            info = check_fits(adapter, Path(job.base))
            outcome: tuple[bool, object] = (True, (done, adapter.read_bytes(), info))
        except HearthError as error:
            outcome = (False, str(error))
        except Exception as error:  # a bug: logged, and told as such
            log.exception("teaching failed unexpectedly")
            outcome = (False, f"Teaching failed because of an unexpected error ({error!r}).")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self._ended.emit(*outcome)

    def _deliver(self, ok: bool, value: Any) -> None:
        self._process = None
        if ok:
            done, data, info = value
            self.succeeded.emit(done, data, info)
        else:
            self.failed.emit(str(value))
        self.finished.emit()
