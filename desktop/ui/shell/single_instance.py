"""One window per data dir: a later launch asks the running window to come forward.

The window that owns the data dir listens on a local socket (`InstanceServer`; a Unix
domain socket in the temp dir, a named pipe on Windows) whose name is derived from the data
dir and the user, so Hearths on different `--data-dir`s are independent. A second launch
calls `request_activation()`, which sends "activate" and waits for "ok".

Thread: GUI thread. The server answers from the event loop; `request_activation()` blocks
(it runs before the second launch has any window).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
ACKNOWLEDGED = b"ok\n"
_MAX_REQUEST = 64


def server_name(data_dir: Path) -> str:
    """A short, stable name for `data_dir` (macOS limits socket paths to ~100 bytes)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or passwd
        user = ""
    digest = hashlib.sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()
    return f"hearth-{digest[:20]}"


class InstanceServer(QObject):
    """Listens for later launches on one data dir.

    Signals: `activation_requested()` when a later launch sent "activate" (already answered).
    """

    activation_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)

    def listen(self, *, replace_stale: bool) -> bool:
        """Start listening; True on success.

        `replace_stale`: this process holds the data dir's write lock, so a socket left under
        the name can only be a crashed window's: remove it first. Without it, listen only if
        no live window answers on the name (a window is never displaced).
        """
        if replace_stale:
            QLocalServer.removeServer(self.name)
        elif _answers(self.name):
            log.info("another window already listens on %s", self.name)
            return False
        if self._server.listen(self.name):
            log.info("listening for later launches on %s", self._server.fullServerName())
            return True
        log.warning("cannot listen on %s: %s", self.name, self._server.errorString())
        return False

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def close(self) -> None:
        self._server.close()

    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.disconnected.connect(socket.deleteLater)
            socket.readyRead.connect(self._on_ready_read)

    def _on_ready_read(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket):
            return
        if not socket.canReadLine():
            if socket.bytesAvailable() > _MAX_REQUEST:
                socket.abort()
            return
        request = bytes(socket.readLine(_MAX_REQUEST).data())
        if request == ACTIVATE:
            socket.write(ACKNOWLEDGED)
            socket.flush()
            self.activation_requested.emit()
        else:
            log.warning("ignored an unknown request on %s", self.name)
        socket.disconnectFromServer()


def _answers(name: str, timeout_ms: int = 500) -> bool:
    socket = QLocalSocket()
    socket.connectToServer(name)
    try:
        return socket.waitForConnected(timeout_ms)
    finally:
        socket.abort()


def request_activation(name: str, timeout_s: float = 1.0) -> bool:
    """Ask the window listening on `name` to come forward; True once it acknowledged."""
    _allow_others_to_take_focus()
    socket = QLocalSocket()
    try:
        socket.connectToServer(name)
        timeout_ms = max(1, int(timeout_s * 1000))
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(ACTIVATE)
        if not socket.waitForBytesWritten(timeout_ms):
            return False
        deadline = time.monotonic() + timeout_s
        reply = b""
        while not reply.endswith(b"\n"):
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not socket.waitForReadyRead(remaining_ms):
                reply += bytes(socket.readAll().data())
                break
            reply += bytes(socket.readAll().data())
        return reply.startswith(ACKNOWLEDGED)
    finally:
        socket.abort()


def _allow_others_to_take_focus() -> None:
    """On Windows, only the foreground process may hand the focus on: let the window take it."""
    if sys.platform == "win32":
        import ctypes

        asfw_any = -1
        if not ctypes.windll.user32.AllowSetForegroundWindow(asfw_any):
            log.info("Windows did not allow the window to take the focus")


def bring_to_front(window: QWidget) -> None:
    """Show `window` un-minimized, on top, with the keyboard focus (as far as the OS allows)."""
    state = window.windowState()
    if state & Qt.WindowState.WindowMinimized:
        window.setWindowState(state & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
