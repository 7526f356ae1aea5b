"""`OwnedThread`: a `QThread` that owns one long-lived worker object (the engine's, the
indexer's): the worker is moved onto it, its `shutdown()` slot runs there before the thread
ends (queued by `stop`, with a direct call on `finished` as a backstop), and `stop` joins it.

Thread: created, started and stopped from the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread

log = logging.getLogger(__name__)


class OwnedThread:
    """See the module docstring. `shutdown` is `worker`'s slot of that name (safe to call
    twice); it is invoked by name on the worker's thread."""

    def __init__(self, worker: QObject, shutdown: Callable[[], None], name: str) -> None:
        self.qthread = QThread()
        self.qthread.setObjectName(name)
        self._worker = worker
        worker.moveToThread(self.qthread)
        # If the loop ends before the queued shutdown ran, it runs as the thread finishes.
        self.qthread.finished.connect(shutdown, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.qthread.start()

    def is_running(self) -> bool:
        return self.qthread.isRunning()

    def stop(self, timeout_ms: int) -> bool:
        """Shut the worker down on its thread, end the thread and join it; False (logged)
        when it did not end within `timeout_ms`."""
        if not self.qthread.isRunning():
            return True
        QMetaObject.invokeMethod(self._worker, "shutdown", Qt.ConnectionType.QueuedConnection)
        self.qthread.quit()
        if self.qthread.wait(timeout_ms):
            return True
        log.error("the %s thread did not stop within %d ms", self.qthread.objectName(), timeout_ms)
        return False
