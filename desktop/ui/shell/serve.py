"""`WindowServe`: `hearth serve` run by the window (the Privacy page's switch).

The HTTP server runs on a Python thread of its own; the requests are answered by the
window's inference thread (a `SharedBackend`): with the model the window has loaded, one
at a time with the window's own replies (an API request waits while the window replies,
and the other way round). The API's thread never touches Qt: a request reaches the
inference thread through the queued `InferenceThread.serve_requested` signal. The token
comes from the keychain (read off the GUI thread) and is shown whole only when it was just
made.

Signals: status_changed(bool serving, str text). Thread: GUI thread (the server runs on
its own thread; its outcome comes back through a queued signal).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from desktop.chat.profiles import make_profiles
from desktop.chat.serve_backend import Backend
from desktop.chat.serve_shared import SharedBackend
from desktop.core.errors import HearthError
from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.common.tasks import run_and_wait
from desktop.ui.privacy.serve import ServeSection

if TYPE_CHECKING:
    from desktop.chat.api_server import ApiServer

log = logging.getLogger(__name__)
OFF = "Off."


class WindowServe(QObject):
    """See the module docstring."""

    status_changed = Signal(bool, str)
    _ended = Signal(str)  # from the server's thread: why it ended ("" when asked to)

    def __init__(
        self,
        make_backend: Callable[[], Backend],
        token: Callable[[], tuple[str, bool, bool]],
        port: int = 8765,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make_backend = make_backend
        self._token = token
        self.port = port
        self._server: ApiServer | None = None  # serving (or starting to)
        self._thread: threading.Thread | None = None
        self.status = OFF
        self._ended.connect(self._on_ended, Qt.ConnectionType.QueuedConnection)

    @property
    def serving(self) -> bool:
        return self._server is not None

    def set_serving(self, on: bool) -> None:
        if on and self._server is None:
            self.start()
        elif not on:
            self.stop()

    def start(self) -> None:
        from desktop.chat.api_server import HOST, ApiServer  # the HTTP server: only when used

        try:
            token, created, kept = run_and_wait(self._token)  # the keychain may ask
        except HearthError as error:
            self._say(False, str(error))
            return
        backend = self._make_backend()
        server = ApiServer(backend, token, self.port)
        self._server = server
        where = f"Serving on {HOST}:{self.port}/v1"
        if created:
            keep = "kept in your keychain" if kept else "for this session only"
            self._say(True, f"{where} — token (shown once, {keep}): {token}")
        else:
            self._say(True, f"{where} — token: the one shown when it was made.")
        self._thread = threading.Thread(
            target=self._run, args=(server, backend), name="hearth-serve-api", daemon=True
        )
        self._thread.start()

    def _run(self, server: ApiServer, backend: Backend) -> None:  # the server's thread
        reason = ""
        try:
            backend.preload()
            server.run()
        except HearthError as error:  # a taken port, a model that would not load
            reason = f"{error} Not serving."
        except Exception as error:
            log.exception("the API server failed")
            reason = f"The API stopped: {error}"
        finally:
            backend.close()
        self._ended.emit(reason)

    def _on_ended(self, reason: str) -> None:
        self._server, self._thread = None, None
        self._say(False, reason or OFF)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and wait for the server's thread (the engine host ends with it)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stop()
        if thread is not None:
            thread.join(timeout_s)
        self._server, self._thread = None, None
        self._say(False, OFF)

    def _say(self, serving: bool, text: str) -> None:
        self.status = text
        self.status_changed.emit(serving, text)


def window_serve(paths: AppPaths, inference: InferenceThread, parent: QObject) -> WindowServe:
    """`hearth serve` in the window (Privacy), answered by the window's inference thread."""
    worker = inference.worker

    def backend() -> SharedBackend:
        return SharedBackend(
            make_profiles(paths), lambda: worker.loaded_path, inference.serve_requested.emit
        )

    return WindowServe(backend, lambda: _token(Keychain()), parent=parent)


def _token(keychain: Keychain) -> tuple[str, bool, bool]:
    from desktop.chat.api_server import serve_token

    return serve_token(keychain)


def serve_section(serve: WindowServe) -> ServeSection:
    """The Privacy page's switch and status line of `serve`."""
    section = ServeSection(serve.serving, serve.status, serve.set_serving)
    serve.status_changed.connect(section.show_status)
    return section
