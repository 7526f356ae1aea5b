"""The Teach page wired into the window: opened from the menu (⋯ → Teach…), offered the
local llama-family models, the assistants and the stored conversations; a kept adapter
shows at once in the model picker, and "Chat with it" starts a new chat on it.

Teaching keeps its adapter in the encrypted store: without an open store the page is not
opened and the window says why. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop.chat.profiles import ChatProfiles
from desktop.teach.trainer import Trainer, missing_component
from desktop.ui.chat.controller import ChatController
from desktop.ui.shell.main_window import MainWindow
from desktop.ui.teach.page import TeachPage

#: The kinds of model the training child can load with transformers and export for.
TEACHABLE = frozenset({"llama"})
NO_STORE = (
    "Teaching keeps what it learns in Hearth's encrypted store, which is not open: "
    "protect your conversations first (⋯ → Privacy)."
)


class TeachFeature:
    """Adds Teach… to the window's menu and keeps one Teach page."""

    def __init__(
        self,
        window: MainWindow,
        controller: ChatController,
        profiles: ChatProfiles,
        *,
        missing: Callable[[], str | None] = missing_component,
        trainer: Trainer | None = None,
    ) -> None:
        self._window, self._controller, self._profiles = window, controller, profiles
        self._missing, self._trainer = missing, trainer
        self.page: TeachPage | None = None
        self.action = window.menu.add_page("Teach…")
        self.action.triggered.connect(self.open_page)

    def models(self) -> list[tuple[str, str, Path]]:
        return [
            (e.key, e.path.stem, e.path)
            for e in self._profiles.library.entries()
            if e.usable and e.info is not None and e.info.architecture in TEACHABLE
        ]

    def open_page(self) -> TeachPage | None:
        adapters = self._profiles.adapters
        if adapters is None:
            self._window.show_error(NO_STORE)
            return None
        page = self.page
        if page is None:
            page = TeachPage(
                self.models,
                self._profiles.assistants.assistants,
                adapters,
                self._controller.store,
                missing=self._missing(),
                trainer=self._trainer,
                parent=self._window,
            )
            page.chat_requested.connect(self.chat_with)
            page.adapter_kept.connect(lambda _name: self._controller.apply_profile())
            self.page = page
        elif not page.running:
            page.set_missing(self._missing())
        page.refresh()
        page.show()
        page.raise_()
        page.activateWindow()
        return page

    def chat_with(self, key: str) -> None:
        """A new chat on the model with the adapter `key` ("adapter:NAME")."""
        if self._controller.clear_conversation():
            self._controller.choose_model(key)
            if self.page is not None:
                self.page.hide()  # the chat, in front
            self._window.raise_()
            self._window.activateWindow()

    def shutdown(self) -> None:
        if self.page is not None:
            self.page.shutdown()
