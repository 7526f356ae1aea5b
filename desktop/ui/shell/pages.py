"""The Models and Assistants pages, opened over the chat window and wired to its controller.

`Pages` keeps one page of each kind (created when first opened, then reused) and connects
them both ways: choosing a model or an assistant for "this chat" goes to the controller,
and the controller's loaded model and chosen assistant show in the pages. Saving settings,
importing or deleting a model, or changing an assistant re-applies the open chat's profile,
so a changed context or thread count reloads the model and new sampling values take
effect with the next reply.

Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from desktop.chat.model_state import ModelState
from desktop.chat.profiles import ChatProfile, ChatProfiles
from desktop.core.errors import HearthError
from desktop.inference.bench_results import BenchResults
from desktop.ui.chat.controller import ChatController

if TYPE_CHECKING:  # imported when first opened: they are not needed to start the window
    from desktop.ui.assistants.page import AssistantsPage
    from desktop.ui.models.downloads import DownloadServices
    from desktop.ui.models.page import ModelsPage
    from desktop.ui.shell.servers import WindowServers

log = logging.getLogger(__name__)


class Pages:
    """Opens the Models and Assistants pages over `window` (one of each)."""

    def __init__(
        self,
        window: QWidget,
        controller: ChatController,
        profiles: ChatProfiles,
        bench_results: BenchResults,
        downloads: DownloadServices | None = None,
        collection_choices: Callable[[], list[tuple[int, str]]] | None = None,
    ) -> None:
        """`collection_choices`: the document collections, as (id, name), for the
        assistants' Documents tab (None: no store, no documents)."""
        self._collection_choices = collection_choices
        self._window = window
        self._downloads = downloads
        if downloads is not None:  # a download finishing is imported, page open or not
            downloads.manager.downloaded.connect(self._downloaded_without_page)
        self._controller = controller
        self._profiles = profiles
        self._bench_results = bench_results
        self.models: ModelsPage | None = None
        self.assistants: AssistantsPage | None = None
        #: The user's servers: a section of the Models page when set.
        self.servers: WindowServers | None = None
        self._slot = controller.model_slot
        self._slot.changed.connect(self._on_model_state)
        controller.profile_changed.connect(self._show_assistant)
        controller.model_load_crashed.connect(self._record_load_crash)

    def _record_load_crash(self, key: str) -> None:
        try:
            crashes = self._profiles.library.record_load_crash(key)
        except HearthError as error:
            log.warning("could not record a crash of %s: %s", key, error)
            return
        log.warning("the engine crashed loading %s (%d times)", key, crashes)
        if self.models is not None:
            self.models.refresh()

    def _on_model_state(self, state: ModelState) -> None:
        self._show_loaded()
        if state.ready and state.key is not None:
            try:
                self._profiles.library.record_loaded(state.key)
            except HearthError as error:
                log.warning("could not record that %s loaded: %s", state.key, error)

    def _downloaded_without_page(self, _key: str, path: object) -> None:
        """A download finished before the Models page was made (it resumed at start-up):
        make the page, which imports it (an open page imports its downloads itself)."""
        if self.models is None and isinstance(path, Path):
            self.models_page().import_download(path)

    def models_page(self) -> ModelsPage:
        """The Models page, created (not shown) the first time."""
        page = self.models
        if page is None:
            from desktop.ui.models.page import ModelsPage

            page = ModelsPage(
                self._profiles.library,
                self._bench_results,
                downloads=self._downloads,
                adapters=self._profiles.adapters,
                parent=self._window,
            )
            page.use_requested.connect(self._controller.choose_model)
            page.unload_requested.connect(self._controller.unload_model)
            page.settings_saved.connect(lambda _key: self._controller.apply_profile())
            page.library_changed.connect(self._controller.apply_profile)
            if self.servers is not None:
                self.servers.attach_models_page(page)
            self.models = page
            self._show_loaded()
        return page

    def open_models(self) -> ModelsPage:
        page = self.models_page()
        self._show_loaded()
        key = self._slot.state.active_key
        if key is not None:
            page.select(key)
        page.show()
        page.raise_()
        page.activateWindow()
        return page

    def import_models(self, paths: list[Path]) -> None:
        """Files dropped on the window: check and import them in the Models page."""
        self.open_models().import_files(paths)

    def open_assistants(self) -> AssistantsPage:
        page = self.assistants
        if page is None:
            from desktop.ui.assistants.page import AssistantsPage

            page = AssistantsPage(
                self._profiles.assistants,
                self._profiles.model_choices,
                parent=self._window,
                collection_choices=self._collection_choices,
            )
            page.use_requested.connect(self._controller.choose_assistant)
            page.assistants_changed.connect(self._controller.apply_profile)
            self.assistants = page
        self._show_assistant(self._controller.profile)
        profile = self._controller.profile
        if profile is not None and profile.assistant_id is not None:
            page.select(profile.assistant_id)
        page.show()
        page.raise_()
        page.activateWindow()
        return page

    def _show_loaded(self) -> None:
        if self.models is None:
            return
        state = self._slot.state
        self.models.set_loaded(state.active_key, state.loading)

    def _show_assistant(self, profile: ChatProfile | None) -> None:
        if self.assistants is not None:
            self.assistants.set_current(None if profile is None else profile.assistant_id)
