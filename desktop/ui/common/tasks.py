"""`BackgroundTask`: the window's one way to run a slow, plain-Python call off the GUI thread.

(Generation is the exception: the inference worker's own `QThread` owns the engine.)
Use the signals, or `run_and_wait` where a flow needs the answer before it can go on
(unlocking the store at start-up) while the event loop keeps turning.

The call runs on its own Python thread (a daemon thread, so a trial load still running
when the app quits does not hold the exit up). Its outcome comes back through a queued
connection to this object, so `succeeded`, `failed` and `finished` are always emitted on
the thread the task lives in (the GUI thread): slots may touch widgets.

Signals: succeeded(object result), failed(object exception), finished() after either.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar, cast

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal, Slot

_T = TypeVar("_T")

log = logging.getLogger(__name__)


class BackgroundTask(QObject):
    """Runs a plain callable on a Python thread; delivers the outcome on the GUI thread."""

    succeeded = Signal(object)  # the return value
    failed = Signal(object)  # the exception (HearthError -> str(error) is a user message)
    finished = Signal()
    _done = Signal(bool, object)  # emitted from the worker thread, delivered queued

    def __init__(self, function: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._function = function
        self._thread: threading.Thread | None = None
        self._running = False
        self._done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Start the call once; the signals follow when it returns or raises."""
        if self._thread is not None:
            raise RuntimeError("a BackgroundTask runs only once")
        self._running = True
        self._thread = threading.Thread(target=self._run, name="hearth-task", daemon=True)
        self._thread.start()

    def is_running(self) -> bool:
        """True from `start` until the outcome has been delivered."""
        return self._running

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the call returned (its signals still need the event loop)."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            outcome: tuple[bool, object] = (True, self._function())
        except Exception as exc:  # handed to `failed`; the receiver decides how to tell it
            outcome = (False, exc)
        try:
            self._done.emit(*outcome)
        except RuntimeError:  # the task was deleted while the call ran (the app closed)
            log.debug("background task finished after its owner was deleted")

    @Slot(bool, object)
    def _deliver(self, ok: bool, value: object) -> None:
        self._running = False
        if ok:
            self.succeeded.emit(value)
        else:
            self.failed.emit(value)
        self.finished.emit()


def run_and_wait(function: Callable[[], _T]) -> _T:
    """Run `function` as a `BackgroundTask`, keeping the Qt event loop turning until it
    returns; its result, or its exception raised here."""
    task = BackgroundTask(function)
    outcome: list[tuple[bool, object]] = []
    loop = QEventLoop()
    task.succeeded.connect(lambda value: outcome.append((True, value)))
    task.failed.connect(lambda error: outcome.append((False, error)))
    task.finished.connect(loop.quit)
    task.start()
    if task.is_running():
        loop.exec()
    task.deleteLater()
    ok, value = outcome[0]
    if not ok:
        raise cast(BaseException, value)
    return cast(_T, value)
