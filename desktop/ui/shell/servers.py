"""The user's servers in the window: the header's "On server" badge, the contact log, the
servers' models in the picker, and the Servers sections of the Models and Privacy pages.

`WindowServers` connects the controller (a reply asked of a server's model is recorded in
the `ContactLog`, with the conversation's title) and the window (the badge says when a
reply of the open chat ran on a server, or its model runs on one). At start, with the
network on, it asks the servers for their models off the GUI thread, so the picker lists
them.

No signals of its own. Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from desktop.chat.remote_models import RemoteModels
from desktop.core.errors import HearthError
from desktop.core.network import NetworkGate
from desktop.storage.contacts import Contact, ContactLog
from desktop.ui.chat.composer import PLACEHOLDER
from desktop.ui.chat.controller import ChatController
from desktop.ui.models.servers import ModelFetcher, ServersPanel, add_servers_panel
from desktop.ui.privacy.servers import ServerContactsSection
from desktop.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)


class WindowServers(QObject):
    """See the module docstring."""

    def __init__(
        self,
        window: MainWindow,
        controller: ChatController,
        remote: RemoteModels,
        network: Callable[[], NetworkGate],
        network_allowed: Callable[[], bool],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._controller = controller
        self._remote = remote
        self._network = network
        self._network_allowed = network_allowed
        self._fetcher = ModelFetcher(remote, network, network_allowed, self)
        self._fetcher.ended.connect(self._fetched)
        controller.reply_requested.connect(self._on_reply_requested)
        controller.profile_changed.connect(self._show_badge)
        controller.conversation_changed.connect(self._show_badge)
        controller.message_finished.connect(self._show_badge)
        self._show_badge()

    # --- the contact log ------------------------------------------------------------------

    def record(self, host: str, purpose: str, detail: str) -> None:
        """Log a contact in the encrypted store (nothing is kept while it is not open)."""
        store = self._controller.store
        if store is None:
            return
        try:
            ContactLog(store.db).record(host, purpose, detail)
        except (HearthError, ValueError) as error:
            log.warning("a contact with %s was not logged: %s", host, error)

    def contacts_for(self) -> Callable[[str], list[Contact]] | None:
        store = self._controller.store
        if store is None:
            return None
        contacts = ContactLog(store.db)
        return lambda host: contacts.recent(host=host)

    def _on_reply_requested(self, key: str, conversation_id: object) -> None:
        found = self._remote.find(key)
        if found is None:
            return
        store = self._controller.store
        title = ""
        if store is not None and isinstance(conversation_id, int):
            try:
                conversation = store.get_conversation(conversation_id)
            except HearthError as error:
                log.warning("no title for the contact log: %s", error)
                conversation = None
            title = "" if conversation is None else conversation.title
        self.record(found[0].host, "chat", title or "a chat not saved")

    # --- the header badge -----------------------------------------------------------------

    def _show_badge(self, *_changed: object) -> None:
        """ "On server NAME" when a reply of this chat ran on a server or its model runs on
        one; "Partly on server NAME" when other replies ran on this computer."""
        badge = self._window.header.remote_badge
        profile = self._controller.profile
        found = None if profile is None else self._remote.find(profile.model_key)
        composer = self._window.composer
        composer.setPlaceholderText(
            PLACEHOLDER if found is None else f"Ask anything — sent to your server {found[0].name}"
        )
        servers, local = self._reply_places()
        now = None if found is None else found[0].name
        names = sorted({*servers, *([now] if now else [])})
        badge.setVisible(bool(names))
        if not names:
            return
        partly = local
        where = f"server{'s' if len(names) > 1 else ''} {' and '.join(names)}"
        badge.setText(f"{'Partly on' if partly else 'On'} {where}")
        tip = [f"Replies of this chat ran on your {where}." if servers else ""]
        if partly:
            tip.append("Others ran on this computer.")
        if found is not None:
            tip.append(
                f"This chat's model runs on your server {found[0].name} ({found[0].host}): "
                "your messages are sent there."
            )
        elif profile is not None:
            tip.append("The model chosen now runs on this computer.")
        badge.setToolTip(" ".join(part for part in tip if part))
        badge.setAccessibleName(badge.text())

    def _reply_places(self) -> tuple[list[str], bool]:
        store, conversation_id = self._controller.store, self._controller.conversation_id
        if store is None or conversation_id is None:
            return [], False
        try:
            return store.reply_places(conversation_id)
        except HearthError as error:
            log.warning("where this chat's replies ran is not known: %s", error)
            return [], False

    # --- the servers' models --------------------------------------------------------------

    def fetch_models(self) -> bool:
        """With the network on, ask every server for its models (off the GUI thread)."""
        return self._fetcher.start()

    def is_fetching(self) -> bool:
        return self._fetcher.running()

    def _fetched(self, found: object) -> None:
        for name, models in found.items() if isinstance(found, dict) else ():
            server = self._remote.servers.find(name)
            if server is not None:
                self.record(server.host, "models", "list of models")
            if not isinstance(models, list):
                log.warning("the models of %s: %s", name, models)
        self._controller.apply_profile()  # the picker lists them

    # --- the pages ------------------------------------------------------------------------

    def attach_models_page(self, page: QWidget) -> ServersPanel:
        panel = add_servers_panel(page, self._remote, self._network, self._network_allowed)
        panel.use_requested.connect(self._controller.choose_model)
        panel.models_changed.connect(self._controller.apply_profile)
        panel.contacted.connect(self.record)
        if self._network_allowed():
            panel.refresh_models()
        return panel

    def privacy_section(self) -> ServerContactsSection:
        return ServerContactsSection(self._remote.servers.servers(), self.contacts_for())
