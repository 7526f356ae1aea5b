"""The Models page: every model Hearth can use, importing, deleting and choosing them.

Left: the library's entries (the embedded model, imported ones, those in the user's
folders), with badges for the default and the loaded model and, in red, why a file cannot
be used; under it Import…, Add folder… and "Link instead of copy". Files dropped on the
dialog are imported too. Right: `ModelDetails` for the selected entry, whose Adapters tab
lists the user's LoRA adapters made for that model (`AdaptersPanel`, when the store is open).

An import runs `ModelLibrary.import_model` (inspection, then a trial load in a child process
with a time limit) in a `BackgroundTask`, one file after another, with a busy row in the
list; a refusal is shown in the page as the library's sentence. Nothing slow runs on the
GUI thread. The page never loads a model itself: it asks with `use_requested(key)` and
`unload_requested()`, and is told what is loaded with `set_loaded`.

Signals: use_requested(str key), unload_requested(), settings_saved(str key),
library_changed() (imported, deleted, default changed, folder added or removed, an adapter
imported, rescaled or removed).
Thread: GUI thread only (imports run on a Python thread of their own).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import HearthError
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import ModelEntry, ModelLibrary
from desktop.storage.adapters import AdapterStore
from desktop.ui.common.messages import confirm, show_message
from desktop.ui.models.adapters_panel import AdaptersPanel
from desktop.ui.models.catalogue import CatalogueDialog
from desktop.ui.models.details import ModelDetails
from desktop.ui.models.downloads import DownloadServices
from desktop.ui.models.importer import ImportQueue
from desktop.ui.models.model_list import KEY_ROLE, add_busy_row, add_model_row

LIST_WIDTH = 290
MODEL_FILTER = "Model files (*.gguf *.bin *.ggml *.ggmf *.ggjt);;All files (*)"


def default_bench_command(path: Path) -> list[str]:
    """`hearth bench --model PATH --json`: the frozen app itself, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "bench", "--model", str(path), "--json"]
    return [sys.executable, "-m", "desktop", "bench", "--model", str(path), "--json"]


class ModelsPage(QDialog):
    """The Models page; see the module docstring."""

    use_requested = Signal(str)
    unload_requested = Signal()
    settings_saved = Signal(str)
    library_changed = Signal()

    def __init__(
        self,
        library: ModelLibrary,
        bench_results: BenchResults,
        *,
        bench_command: Callable[[Path], list[str]] = default_bench_command,
        downloads: DownloadServices | None = None,
        adapters: AdapterStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.setWindowTitle("Models")
        self.setAcceptDrops(True)
        self.resize(900, 640)
        self.library = library
        self.bench_results = bench_results
        self.imports = ImportQueue(library, self)
        self.imports.imported.connect(self._imported)
        self.imports.refused.connect(self._refused)
        self._notes: list[tuple[str, bool]] = []  # what this batch of imports said
        self.imports.changed.connect(self._imports_changed)
        self._loaded: tuple[str | None, bool] = (None, False)
        self.entries: list[ModelEntry] = []
        self.downloads = downloads
        self.catalogue: CatalogueDialog | None = None
        if downloads is not None:
            downloads.manager.failed.connect(lambda _key, message: self._note(message, True))
            downloads.manager.downloaded.connect(lambda _key, path: self.import_download(path))

        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addLayout(self._make_left(), 0)
        self.details = ModelDetails(library, bench_results, bench_command)
        self.details.settings_saved.connect(self.settings_saved)
        self.details.use_button.clicked.connect(self._use)
        self.details.unload_button.clicked.connect(self.unload_requested)
        self.details.default_button.clicked.connect(self.make_default)
        self.details.delete_button.clicked.connect(self.delete_selected)
        self.details.speed.measured.connect(lambda _key: self._rebuild_list())
        columns.addWidget(self.details, 1)
        self.adapters: AdaptersPanel | None = None
        if adapters is not None:  # a tab of the model's details: its own adapters
            self.adapters = AdaptersPanel(adapters)
            self.adapters.adapters_changed.connect(self.library_changed)
            self.adapters.adapters_changed.connect(self._count_adapters)
            self.details.tabs.addTab(self.adapters, "Adapters")
        column = QVBoxLayout(self)
        column.addLayout(columns, 1)
        bottom = QHBoxLayout()
        self.message = QLabel()
        self.message.setObjectName("pageMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        bottom.addWidget(self.message, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        bottom.addWidget(close, 0, Qt.AlignmentFlag.AlignBottom)
        column.addLayout(bottom)
        self.refresh()

    def _make_left(self) -> QVBoxLayout:
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.setAccessibleName("Models")
        self.list.setObjectName("modelList")
        self.list.setFixedWidth(LIST_WIDTH)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_current_changed)
        left.addWidget(self.list, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(LIST_WIDTH)
        self.progress.hide()
        left.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Check model files and add them (you can also drop them)")
        self.import_button.clicked.connect(self._choose_files)
        self.folder_button = QPushButton("Add folder…")
        self.folder_button.setToolTip("List the models in a folder of yours without copying")
        self.folder_button.clicked.connect(self._choose_folder)
        self.remove_folder_button = QPushButton("Remove folder")
        self.remove_folder_button.clicked.connect(self.remove_selected_folder)
        self.download_button = QPushButton("Download…")
        self.download_button.setToolTip("Models Hearth can download for you, and how they fit")
        self.download_button.clicked.connect(self.open_catalogue)
        self.download_button.setVisible(self.downloads is not None)
        for button in (
            self.download_button,
            self.import_button,
            self.folder_button,
            self.remove_folder_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        self.link_box = QCheckBox("Link instead of copy")
        self.link_box.setToolTip("Keep the file where it is; the library only points to it")
        left.addWidget(self.link_box)
        return left

    # --- public API --------------------------------------------------------------------

    def set_loaded(self, key: str | None, loading: bool = False) -> None:
        """Which model is loaded now (`loading`: still being loaded)."""
        self._loaded = (key, loading)
        self.details.set_loaded(key, loading)
        self._rebuild_list()

    def import_files(self, paths: list[Path]) -> None:
        """Import `paths` one after another (the Import button and drops come here)."""
        if not self.imports.is_busy():
            self._notes = []
        self.imports.add(paths, self.link_box.isChecked())

    def open_catalogue(self) -> CatalogueDialog | None:
        """The catalogue of models to download (one window, reused)."""
        if self.downloads is None:
            return None
        if self.catalogue is None:
            from desktop.core.catalogue import CatalogueError

            services = self.downloads
            try:
                entries = services.catalogue()
            except CatalogueError as error:
                self._say(str(error), error=True)
                return None
            self.catalogue = CatalogueDialog(
                entries,
                services.manager,
                services.hub,
                policy=services.policy,
                free_memory=services.free_memory,
                in_library=lambda name: any(e.name == name for e in self.library.entries()),
                ask_consent=services.ask_consent,
                parent=self,
            )
        self.catalogue.show()
        self.catalogue.raise_()
        return self.catalogue

    def import_download(self, path: Path) -> None:
        """A verified download: checked and moved into the library like an import."""
        if not self.imports.is_busy():
            self._notes = []
        self._note(f"Downloaded {path.name}; checking it (trial load)…", error=False)
        self.imports.add([path], link=False, move=True)

    def refresh(self) -> None:
        """Read the library again and show it, keeping the selection."""
        self.entries = self.library.entries()
        current = self.selected_entry()
        self._rebuild_list(current.key if current else None)

    def select(self, key: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(KEY_ROLE) == key:
                self.list.setCurrentRow(row)
                return

    def selected_entry(self) -> ModelEntry | None:
        return self.details.entry

    # --- the list ------------------------------------------------------------------------

    def _rebuild_list(self, keep: str | None = None) -> None:
        keep = keep or (self.details.entry.key if self.details.entry else None)
        self.list.blockSignals(True)
        self.list.clear()
        loaded_key, loading = self._loaded
        for entry in self.entries:
            add_model_row(self.list, entry, loaded_key, loading, LIST_WIDTH - 24)
        if self.imports.current is not None:
            add_busy_row(self.list, self.imports.current, True, LIST_WIDTH - 24)
        for path, _ in self.imports.waiting:
            add_busy_row(self.list, path, False, LIST_WIDTH - 24)
        self.list.blockSignals(False)
        keys = [e.key for e in self.entries]
        default = next((e.key for e in self.entries if e.is_default), None)
        chosen = keep if keep in keys else default or (keys[0] if keys else None)
        if chosen is not None:
            self.select(chosen)
        self._on_current_changed(self.list.currentItem())

    def _on_current_changed(self, item: QListWidgetItem | None) -> None:
        key = item.data(KEY_ROLE) if item is not None else None
        entry = next((e for e in self.entries if e.key == key), None)
        self.details.show_entry(entry)
        if self.adapters is not None:
            self.adapters.show_model(entry)
            self._count_adapters()
        folder = entry is not None and entry.source == "folder"
        self.remove_folder_button.setVisible(folder)
        if folder and entry is not None:
            self.remove_folder_button.setToolTip(f"Stop listing the models in {entry.path.parent}")

    def _count_adapters(self) -> None:
        """The Adapters tab says how many the model has, and is off for unusable models."""
        panel = self.adapters
        if panel is None:
            return
        index = self.details.tabs.indexOf(panel)
        count = panel.list.count()
        self.details.tabs.setTabText(index, f"Adapters ({count})" if count else "Adapters")
        self.details.tabs.setTabEnabled(index, panel.entry is not None and panel.entry.usable)

    # --- actions on the selected model ---------------------------------------------------

    def _use(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry.usable:
            self.use_requested.emit(entry.key)

    def make_default(self) -> None:
        entry = self.selected_entry()
        if entry is None or not self._try(lambda: self.library.set_default(entry.key)):
            return
        self._say(f"New conversations will use {entry.name}.")
        self._changed()

    def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or not self.details.delete_button.isEnabled():
            return
        what = (
            "Only the link is removed; the file it points to is kept."
            if entry.is_link
            else "The file is deleted from Hearth's models folder."
        )
        if not confirm(self, "Delete model", f'Delete "{entry.name}" from the library? {what}'):
            return
        if not self._try(lambda: self.library.delete(entry.key)):
            return
        self._try(lambda: self.bench_results.forget(entry.key))
        self._say(f'Deleted "{entry.name}".')
        self._changed()

    def add_folder(self, folder: Path) -> None:
        if self._try(lambda: self.library.add_folder(folder)):
            self._say(f"Models in {folder} are listed too.")
            self._changed()

    def remove_selected_folder(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.source != "folder":
            return
        folder = entry.path.parent
        if self._try(lambda: self.library.remove_folder(folder)):
            self._say(f"Models in {folder} are no longer listed; the files are untouched.")
            self._changed()

    def _choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Import models", "", MODEL_FILTER)
        if names:
            self.import_files([Path(n) for n in names])

    def _choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Add a folder of models")
        if name:
            self.add_folder(Path(name))

    # --- imports -------------------------------------------------------------------------

    def is_importing(self) -> bool:
        return self.imports.is_busy()

    def _imported(self, entry: object) -> None:
        assert isinstance(entry, ModelEntry)
        self._note(f'Imported "{entry.name}": it passed its trial load.', error=False)
        self.entries = self.library.entries()
        self._rebuild_list(entry.key)
        if self.catalogue is not None:  # "Already in your library" from now on
            self.catalogue.update_selection()
        self.library_changed.emit()

    def _refused(self, message: str) -> None:
        self._note(message, error=True)

    def _note(self, text: str, error: bool) -> None:
        """Several files in one go: every outcome stays visible until the next batch."""
        self._notes.append((text, error))
        self._say("\n".join(t for t, _ in self._notes), error=any(e for _, e in self._notes))

    def _imports_changed(self) -> None:
        self.progress.setVisible(self.imports.is_busy())
        self._rebuild_list()

    # --- helpers -------------------------------------------------------------------------

    def _try(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except HearthError as failure:
            self._say(str(failure), error=True)
            return False
        return True

    def _changed(self) -> None:
        self.entries = self.library.entries()
        self._rebuild_list()
        self.library_changed.emit()

    def _say(self, text: str, error: bool = False) -> None:
        show_message(self.message, text, error)

    # --- drag and drop, closing ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    def done(self, result: int) -> None:
        self.details.speed.shutdown()
        super().done(result)
