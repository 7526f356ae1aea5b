"""The documents feature wired into the window: the Documents page (opened from the menu,
the picker's "Manage documents…", or by dropping documents on the window), the picker of
the chat's collections under the composer, the sources side panel, and the indexing thread
(started with the window; it continues a run a previous session left unfinished).

Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desktop.chat.cited import Cited
from desktop.core.errors import HearthError
from desktop.inference.host.embed_client import HostedEmbedder
from desktop.storage.documents import DocumentStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.documents.indexing import IndexingThread
from desktop.ui.documents.page import DocumentsPage
from desktop.ui.documents.picker import CollectionPicker
from desktop.ui.documents.source_panel import PANEL_WIDTH, SourcePanel
from desktop.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)
#: Threads of the embedding model while indexing: one, so a reply keeps the other core.
EMBED_THREADS = 1


class DocumentsFeature:
    """Builds and connects the documents parts of the window (one of each)."""

    def __init__(
        self,
        window: MainWindow,
        controller: ChatController,
        store: DocumentStore,
        indexing: IndexingThread,
        source_panel: SourcePanel | None = None,
    ) -> None:
        self._window = window
        self._controller = controller
        self.store = store
        self.indexing = indexing
        self.page: DocumentsPage | None = None
        self.picker = CollectionPicker()
        window.add_composer_control(self.picker)
        self.panel = source_panel or SourcePanel()
        window.add_side_panel(self.panel)
        self.picker.chosen.connect(controller.set_collections)
        self.picker.manage_requested.connect(self.open_page)
        controller.collections_changed.connect(self.picker.set_checked)
        window.documents_dropped.connect(self.add_dropped)
        window.source_requested.connect(self.show_source)
        window.menu.add_page("Documents…").triggered.connect(self.open_page)
        indexing.run_finished.connect(lambda *_: self.refresh_picker())
        self._had_collections: bool | None = None  # not known until the first refresh
        self.refresh_picker()

    def show_source(self, cited: Cited, number: int) -> None:
        """A source under a reply was clicked: the panel shows it, the window grows for it."""
        was_hidden = self.panel.isHidden()
        self.panel.show_source(cited, number)
        screen = self._window.screen().availableGeometry().width()
        if was_hidden and self.panel.isVisible():
            wider = min(screen, self._window.width() + PANEL_WIDTH)
            self._window.resize(max(self._window.width(), wider), self._window.height())

    def start(self) -> list[int]:
        """Start the indexing thread and continue unfinished runs; their collection ids."""
        self.indexing.start()
        try:
            unfinished = self.indexing.resume(self.store)
        except HearthError as error:
            log.warning("could not look for unfinished indexing: %s", error)
            return []
        if unfinished:
            log.info("continuing the indexing of %d collections", len(unfinished))
        return unfinished

    def open_page(self) -> DocumentsPage:
        page = self.page
        if page is None:
            page = DocumentsPage(self.store, self.indexing, parent=self._window)
            page.collections_changed.connect(self.refresh_picker)
            self.page = page
        page.refresh()
        page.show()
        page.raise_()
        page.activateWindow()
        return page

    def add_dropped(self, paths: list[Path]) -> None:
        """Documents dropped on the window: into the page's collection (or a new one); a
        chat answering from no collection answers from that one from now on."""
        page = self.open_page()
        collection_id = page.add_paths(paths)
        if collection_id is not None and not self._controller.collections:
            self._controller.set_collections([collection_id])
            collection = page.current_collection()
            if collection is not None:
                self._window.set_status(f"This chat now answers from “{collection.name}”.")

    def refresh_picker(self) -> None:
        """The picker lists the collections; the first one made (in the page, or by a
        drop) becomes the open chat's when it answers from none."""
        try:
            collections = self.store.collections()
        except HearthError as error:
            log.warning("could not read the collections: %s", error)
            return
        self.picker.set_collections(collections)
        first = self._had_collections is False and len(collections) == 1
        self._had_collections = bool(collections)
        if first and not self._controller.collections:
            self._controller.set_collections([collections[0].id])
            self._window.set_status(f"This chat now answers from “{collections[0].name}”.")

    def stop(self) -> None:
        self.indexing.stop()
        self.panel.close_pages()


def attach_documents(
    window: MainWindow,
    controller: ChatController,
    store: DocumentStore,
    embedding_model: Callable[[], Path] | None = None,
) -> DocumentsFeature:
    """The documents feature on `window`, indexing on its own connection to `store`'s file
    (and embedding with the model `embedding_model` finds, when given)."""
    db = store.db
    make_embedder = None
    if embedding_model is not None:
        find_model = embedding_model

        def make_embedder() -> HostedEmbedder:
            return HostedEmbedder(find_model(), n_threads=EMBED_THREADS)

    indexing = IndexingThread(
        lambda: DocumentStore(db.another_connection()), parent=window, make_embedder=make_embedder
    )
    return DocumentsFeature(window, controller, store, indexing)


def no_documents(window: QWidget) -> None:
    """Not saving (no encrypted store): documents dropped get a sentence instead."""
    if isinstance(window, MainWindow):
        window.documents_dropped.connect(
            lambda _paths: window.show_error(
                "Documents are kept in your encrypted conversations database, which is not "
                "open in this window, so nothing was added."
            )
        )
