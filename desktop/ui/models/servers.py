"""The Models page's "Your servers" section: add, edit and remove the user's servers, and
list the models each one offers (to use in this chat).

A server is a name, a base URL, an optional API key (kept in the OS keychain, never in a
file) and, for plain http to another computer, the user's explicit "I understand".
Listing the models is a request to each server: it runs off the GUI thread
(`BackgroundTask`), and only while the network switch (Privacy) is on. Saving a key talks
to the keychain, which may ask the user to unlock it: also off the GUI thread.

Signals: use_requested(str key)   use this server's model in this chat
         models_changed()          the servers or their models changed (refresh the picker)
         contacted(str host, str purpose, str detail)   a request went to `host`
Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.remote_models import RemoteModels, fetch_models
from desktop.core.errors import HearthError
from desktop.core.network import NetworkGate
from desktop.core.servers import RemoteServer, remote_key
from desktop.ui.common.tasks import BackgroundTask, run_and_wait
from desktop.ui.models.server_dialog import ServerDialog

log = logging.getLogger(__name__)
NETWORK_OFF = "The network is off (Privacy): Hearth lists your servers' models once you turn it on."
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class ModelFetcher(QObject):
    """Asks every server for its models off the GUI thread (a `BackgroundTask`), only with
    the network switch on, and gives the lists to `remote`.

    Signals: ended(dict | None)   server name -> its models or why not (None: it failed)
    """

    ended = Signal(object)

    def __init__(
        self,
        remote: RemoteModels,
        network: Callable[[], NetworkGate],
        network_allowed: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._remote = remote
        self._network = network
        self._network_allowed = network_allowed
        self._task: BackgroundTask | None = None
        self._found: dict[str, list[str] | str] | None = None

    def running(self) -> bool:
        return self._task is not None

    def start(self) -> bool:
        """False (nothing asked) while running, with the network off, or with no servers."""
        servers = self._remote.servers
        if self._task is not None or not self._network_allowed() or not servers.servers():
            return False
        policy = self._network()
        task = BackgroundTask(lambda: fetch_models(servers, policy), self)
        task.succeeded.connect(self._succeeded)
        task.failed.connect(lambda error: log.warning("listing models failed: %s", error))
        task.finished.connect(self._finished)
        self._task, self._found = task, None
        task.start()
        return True

    def _succeeded(self, found: object) -> None:
        assert isinstance(found, dict)
        for name, models in found.items():
            if isinstance(models, list):
                self._remote.set_models(name, models)
        self._found = found

    def _finished(self) -> None:
        self._task = None
        self.ended.emit(self._found)


class ServersPanel(QGroupBox):
    """The servers and their models; see the module docstring."""

    use_requested = Signal(str)
    models_changed = Signal()
    contacted = Signal(str, str, str)

    def __init__(
        self,
        remote: RemoteModels,
        network: Callable[[], NetworkGate],
        network_allowed: Callable[[], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Your servers", parent)
        self._remote = remote
        self._network = network
        self._network_allowed = network_allowed
        self._errors: dict[str, str] = {}
        self._fetcher = ModelFetcher(remote, network, network_allowed, self)
        self._fetcher.ended.connect(self._fetched)
        self.dialog: ServerDialog | None = None
        note = QLabel(
            "Models on servers you run (llama.cpp's server, Ollama, vLLM, LM Studio): "
            "what you send them leaves this computer."
        )
        note.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setAccessibleName("Your servers and their models")
        self.tree.itemDoubleClicked.connect(lambda _item, _col: self._use())
        self.tree.currentItemChanged.connect(lambda *_args: self._update_buttons())
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add server…")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.refresh_button = QPushButton("List models")
        self.use_button = QPushButton("Use in this chat")
        for button, action in (
            (self.add_button, self.open_add),
            (self.edit_button, self.open_edit),
            (self.remove_button, self.remove_selected),
            (self.refresh_button, self.refresh_models),
            (self.use_button, self._use),
        ):
            button.clicked.connect(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(note)
        column.addWidget(self.tree, 1)
        column.addLayout(buttons)
        column.addWidget(self.message)
        self.rebuild()

    # --- showing ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """The servers, each with its models (or why they are not known)."""
        self.tree.clear()
        servers = self._remote.servers.servers()
        for server in servers:
            plain = ", plain http allowed" if server.allow_http and not server.loopback else ""
            top = QTreeWidgetItem([f"{server.name} — {server.base_url}{plain}"])
            top.setData(0, KEY_ROLE, server.name)
            self.tree.addTopLevelItem(top)
            models = self._remote.models(server.name)
            if server.name in self._errors:
                top.addChild(QTreeWidgetItem([self._errors[server.name]]))
            elif models is None:
                top.addChild(QTreeWidgetItem(["Models not listed yet."]))
            for model in models or []:
                child = QTreeWidgetItem([model])
                child.setData(0, KEY_ROLE, remote_key(server.name, model))
                top.addChild(child)
            top.setExpanded(True)
        if not servers:
            self.message.setText("No servers yet: Add server… names one you run.")
        elif not self._network_allowed():
            self.message.setText(NETWORK_OFF)
        self._update_buttons()

    def selected_server(self) -> RemoteServer | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        name = None if item is None else item.data(0, KEY_ROLE)
        return None if name is None else self._remote.servers.find(str(name))

    def selected_model(self) -> str | None:
        item = self.tree.currentItem()
        if item is None or item.parent() is None:
            return None
        key = item.data(0, KEY_ROLE)
        return None if key is None else str(key)

    def _update_buttons(self) -> None:
        chosen = self.selected_server() is not None
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
        self.use_button.setEnabled(self.selected_model() is not None)
        self.refresh_button.setEnabled(not self._fetcher.running())

    # --- actions ---------------------------------------------------------------------------

    def open_add(self) -> ServerDialog:
        return self._open_dialog(None)

    def open_edit(self) -> ServerDialog | None:
        server = self.selected_server()
        return None if server is None else self._open_dialog(server)

    def _open_dialog(self, server: RemoteServer | None) -> ServerDialog:
        dialog = ServerDialog(self._save, server, self)
        dialog.accepted.connect(self._saved)
        self.dialog = dialog
        dialog.show()
        return dialog

    def _save(self, server: RemoteServer, key: str | None) -> None:
        servers = self._remote.servers
        run_and_wait(lambda: servers.add(server, key))  # the keychain may ask: not here
        self._remote.forget(server.name)
        self._errors.pop(server.name, None)

    def _saved(self) -> None:
        self.message.setText("Server saved.")
        self.models_changed.emit()
        self.refresh_models()

    def remove_selected(self) -> bool:
        server = self.selected_server()
        if server is None:
            return False
        servers = self._remote.servers
        try:
            run_and_wait(lambda: servers.remove(server.name))
        except HearthError as error:
            self.message.setText(str(error))
            return False
        self._remote.forget(server.name)
        self._errors.pop(server.name, None)
        self.message.setText(f"Removed the server {server.name}.")
        self.rebuild()
        self.models_changed.emit()
        return True

    def refresh_models(self) -> bool:
        """Ask every server for its models, off the GUI thread; False when not asked."""
        if not self._fetcher.start():
            self.rebuild()
            return False
        self.message.setText("Asking your servers for their models…")
        self._update_buttons()
        return True

    def is_fetching(self) -> bool:
        return self._fetcher.running()

    def _fetched(self, found: object) -> None:
        self.message.setText("" if isinstance(found, dict) else "Listing the models failed.")
        for name, models in found.items() if isinstance(found, dict) else ():
            if isinstance(models, list):
                self._errors.pop(name, None)
            else:
                self._errors[name] = str(models)
            server = self._remote.servers.find(name)
            if server is not None:
                self.contacted.emit(server.host, "models", "list of models")
        self.rebuild()
        self.models_changed.emit()

    def _use(self) -> None:
        key = self.selected_model()
        if key is not None:
            self.use_requested.emit(key)


def add_servers_panel(
    page: QWidget,
    remote: RemoteModels,
    network: Callable[[], NetworkGate],
    network_allowed: Callable[[], bool],
) -> ServersPanel:
    """Put the section at the foot of the Models page (above its Close row)."""
    panel = ServersPanel(remote, network, network_allowed, page)
    layout = page.layout()
    if isinstance(layout, QVBoxLayout):
        layout.insertWidget(max(0, layout.count() - 1), panel)
    return panel
