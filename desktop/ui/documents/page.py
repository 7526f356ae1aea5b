"""The Documents page: collections, their files with their status, and indexing you can watch.

Left, the collections (New, Rename, Remove with confirmation); right, the files of the one
selected with their status ("indexed, 12 passages", "waiting", or the one-line reason it
failed), Add files…, Add folder…, Remove; at the bottom, the progress of the run (files
and passages done, rate, time left) with Pause and Cancel. Runs happen on the
`IndexingThread`; this page reads the store (on the GUI thread's connection) to show them.
Folders added are watched: while Hearth runs, they are scanned again every
`WATCH_INTERVAL_MS` (files added, changed or deleted are picked up).

Signals: collections_changed() (created, renamed, removed or indexed: pickers re-read them).
Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.durations import duration_text
from desktop.core.errors import HearthError
from desktop.documents.embedding import EmbedReport
from desktop.documents.indexer import IndexReport
from desktop.storage.documents import Collection, DocFile, DocumentStore
from desktop.ui.documents.indexing import IndexingThread, IndexStatus

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: How often watched folders are scanned again for added, changed or deleted files.
WATCH_INTERVAL_MS = 30_000
#: The name of the first collection, unless it is made of one folder (then it is its name).
DEFAULT_COLLECTION = "My documents"
IDLE_HINT = "Drop files or folders here, or use Add files… and Add folder…."


def file_status(record: DocFile) -> str:
    """ "indexed, 12 passages", "waiting to be read", or the reason it failed."""
    if record.status == "indexed":
        pages = f", {record.pages} pages" if record.pages else ""
        return f"indexed, {record.passages} passage{'s' * (record.passages != 1)}{pages}"
    if record.status == "pending":
        return "waiting to be read"
    return f"not indexed: {record.reason or 'unknown reason'}"


def progress_text(status: IndexStatus) -> str:
    """ "3 of 10 files, 41 passages · 2.1 files/s · about 4 s left" (or "Paused …"); while
    embedding, "Searchable by meaning: 40 of 120 passages · 9.5 passages/s · …"."""
    if status.phase == "meaning":
        text = f"{status.files_done:,} of {status.files_total:,} passages"
        if status.files_per_s > 0:
            text += f" · {status.files_per_s:.1f} passages/s"
        if status.seconds_left is not None and status.files_done < status.files_total:
            text += f" · about {duration_text(status.seconds_left)} left"
        return ("Paused: " if status.paused else "Making searchable by meaning: ") + text
    text = f"{status.files_done} of {status.files_total} files, {status.passages_done} passages"
    if status.files_per_s > 0:
        text += f" · {status.files_per_s:.1f} files/s"
    if status.seconds_left is not None and status.files_done < status.files_total:
        text += f" · about {duration_text(status.seconds_left)} left"
    return ("Paused: " if status.paused else "Indexing: ") + text


class DocumentsPage(QDialog):
    """See the module docstring."""

    collections_changed = Signal()

    def __init__(
        self, store: DocumentStore, indexing: IndexingThread, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("documentsPage")
        self.setWindowTitle("Documents")
        self.setAcceptDrops(True)
        self.resize(900, 600)
        self.store = store
        self.indexing = indexing
        self.collections: list[Collection] = []
        self._build()
        indexing.progressed.connect(self._on_progress)
        indexing.run_finished.connect(self._on_finished)
        indexing.embedding_finished.connect(self._on_embedded)
        self._read_done = ""  # what the last run's reading did, until its embedding ends
        indexing.run_failed.connect(self._on_failed)
        self._refresh_files = QTimer(self, singleShot=True, interval=300)
        self._refresh_files.timeout.connect(self.refresh)
        self.watch = QTimer(self, interval=WATCH_INTERVAL_MS)
        self.watch.timeout.connect(self.rescan)
        self.watch.start()
        self.refresh()

    def detach(self) -> None:
        """Stop listening to the indexing thread and stop the timers (before the store closes)."""
        self.watch.stop()
        self._refresh_files.stop()
        self.indexing.progressed.disconnect(self._on_progress)
        self.indexing.run_finished.disconnect(self._on_finished)
        self.indexing.run_failed.disconnect(self._on_failed)
        self.indexing.embedding_finished.disconnect(self._on_embedded)

    # --- construction ------------------------------------------------------------------

    def _build(self) -> None:
        self.collection_list = QListWidget()
        self.collection_list.setObjectName("collectionList")
        self.collection_list.setAccessibleName("Collections")
        self.collection_list.currentItemChanged.connect(lambda *_: self._show_files())
        self.new_button = QPushButton("New…")
        self.rename_button = QPushButton("Rename…")
        self.remove_collection_button = QPushButton("Remove…")
        self.new_button.clicked.connect(self.new_collection)
        self.rename_button.clicked.connect(self.rename_collection)
        self.remove_collection_button.clicked.connect(self.remove_collection)
        left = QVBoxLayout()
        left.addWidget(QLabel("Collections"))
        left.addWidget(self.collection_list, 1)
        row = QHBoxLayout()
        for button in (self.new_button, self.rename_button, self.remove_collection_button):
            row.addWidget(button)
        left.addLayout(row)

        self.file_list = QTreeWidget()
        self.file_list.setObjectName("fileList")
        self.file_list.setAccessibleName("Files")
        self.file_list.setHeaderLabels(["File", "Status"])
        self.file_list.setRootIsDecorated(False)
        self.file_list.setColumnWidth(0, 320)
        self.add_files_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_file_button = QPushButton("Remove")
        self.add_files_button.clicked.connect(self._choose_files)
        self.add_folder_button.clicked.connect(self._choose_folder)
        self.remove_file_button.clicked.connect(self.remove_selected_file)
        self.summary = QLabel()
        self.summary.setObjectName("collectionSummary")
        self.summary.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.summary)
        right.addWidget(self.file_list, 1)
        row = QHBoxLayout()
        for button in (self.add_files_button, self.add_folder_button, self.remove_file_button):
            row.addWidget(button)
        row.addStretch(1)
        right.addLayout(row)

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 3)
        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress.setTextVisible(False)  # the line below says it in words
        self.progress_label = QLabel(IDLE_HINT)
        self.progress_label.setObjectName("indexProgressText")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_indexing)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 2)
        bottom.addWidget(self.pause_button)
        bottom.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.addLayout(columns, 1)
        column.addLayout(bottom)
        column.addWidget(self.progress_label)
        self._show_running(False)

    # --- collections -------------------------------------------------------------------

    def current_collection(self) -> Collection | None:
        if self.collection_list.currentRow() < 0:
            return None
        wanted = self.collection_list.currentItem().data(Qt.ItemDataRole.UserRole)
        return next((c for c in self.collections if c.id == wanted), None)

    def refresh(self) -> None:
        """Read the collections and the files of the one selected again."""
        current = self.current_collection()
        try:
            self.collections = self.store.collections()
        except HearthError as error:
            self.progress_label.setText(f"Could not read your documents: {error}")
            return
        self.collection_list.blockSignals(True)
        self.collection_list.clear()
        for collection in self.collections:
            item = QListWidgetItem(collection.name)
            item.setData(Qt.ItemDataRole.UserRole, collection.id)
            self.collection_list.addItem(item)
            if current is not None and collection.id == current.id:
                self.collection_list.setCurrentItem(item)
        if self.collection_list.currentItem() is None and self.collection_list.count():
            self.collection_list.setCurrentRow(0)
        self.collection_list.blockSignals(False)
        self._show_files()

    def select(self, collection_id: int) -> None:
        for row in range(self.collection_list.count()):
            if self.collection_list.item(row).data(Qt.ItemDataRole.UserRole) == collection_id:
                self.collection_list.setCurrentRow(row)

    def new_collection(self, name: str | None = None) -> int | None:
        """Create a collection (asking its name when none is given); its id."""
        if name is None:
            name, ok = QInputDialog.getText(self, "New collection", "Name:")
            if not ok:
                return None
        name = name.strip()
        if not name:
            self.progress_label.setText("A collection needs a name.")
            return None
        return self._write(lambda: self._create(name))

    def _create(self, name: str) -> int:
        if self.store.collection_id(name) is not None:
            raise HearthError(f'There is already a collection named "{name}".')
        collection_id = self.store.collection_id(name, create=True)
        assert collection_id is not None
        self.refresh()
        self.select(collection_id)
        self.collections_changed.emit()
        return collection_id

    def rename_collection(self, name: str | None = None) -> bool:
        collection = self.current_collection()
        if collection is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(
                self, "Rename collection", "New name:", text=collection.name
            )
            if not ok:
                return False
        name = name.strip()
        if not name:
            self.progress_label.setText("A collection needs a name.")
            return False
        return bool(self._write(lambda: self._rename(collection, name)))

    def _rename(self, collection: Collection, name: str) -> bool:
        other = self.store.collection_id(name)
        if other is not None and other != collection.id:
            raise HearthError(f'There is already a collection named "{name}".')
        self.store.rename_collection(collection.id, name)
        self.refresh()
        self.collections_changed.emit()
        return True

    def remove_collection(self, confirmed: bool = False) -> bool:
        """Remove the selected collection and all of it (after asking)."""
        collection = self.current_collection()
        if collection is None:
            return False
        if not confirmed:
            answer = QMessageBox.question(
                self,
                "Remove collection",
                f'Remove "{collection.name}" and its {collection.files} files from Hearth? '
                "Your files themselves are not touched.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        if self.indexing.busy:
            self.indexing.cancel()
        return bool(self._write(lambda: self._remove(collection.id)))

    def _remove(self, collection_id: int) -> bool:
        self.store.remove_collection(collection_id)
        self.refresh()
        self.collections_changed.emit()
        return True

    # --- files -------------------------------------------------------------------------

    def add_paths(self, paths: list[Path], collection_id: int | None = None) -> int | None:
        """Add files and folders to a collection (the selected one, or a new one) and index."""
        if collection_id is None:
            current = self.current_collection()
            collection_id = current.id if current is not None else self._new_for(paths)
        if collection_id is None:
            return None
        self.indexing.add(collection_id, [str(p.expanduser().absolute()) for p in paths])
        self.select(collection_id)
        self._show_running(True)
        self.progress_label.setText("Looking for files…")
        return collection_id

    def _new_for(self, paths: list[Path]) -> int | None:
        """A collection for the first documents: named after the one folder, if that is all."""
        name = paths[0].name if len(paths) == 1 and paths[0].is_dir() else DEFAULT_COLLECTION
        existing = self.store.collection_id(name)
        return existing if existing is not None else self.new_collection(name)

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files")
        if files:
            self.add_paths([Path(f) for f in files])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add folder")
        if folder:
            self.add_paths([Path(folder)])

    def remove_selected_file(self) -> bool:
        """Remove the selected file (or folder source) from its collection."""
        collection, item = self.current_collection(), self.file_list.currentItem()
        if collection is None or item is None:
            return False
        path = str(item.data(0, Qt.ItemDataRole.UserRole))
        return bool(self._write(lambda: self._remove_file(collection, path)))

    def _remove_file(self, collection: Collection, path: str) -> bool:
        if path in collection.sources:
            self.store.remove_source(collection.id, path)
        else:  # a file found in a folder: gone from Hearth, kept out of the next scan
            record = self.store.files(collection.id).get(path)
            if record is not None:
                self.store.save_failed(
                    record.id, "removed from the collection", record.size, record.mtime_ns
                )
        self.refresh()
        return True

    def _show_files(self) -> None:
        collection = self.current_collection()
        self.file_list.clear()
        for button in (self.rename_button, self.remove_collection_button, self.remove_file_button):
            button.setEnabled(collection is not None)
        if collection is None:
            self.summary.setText("No collection yet: drop files or folders here to make one.")
            return
        self.summary.setText(
            f"{collection.name}: {collection.indexed} of {collection.files} files indexed, "
            f"{collection.passages} passages"
            + (f", {collection.failed} could not be read" if collection.failed else "")
            + f" · watching {len(collection.sources)} source"
            + ("s" if len(collection.sources) != 1 else "")
        )
        try:
            files = self.store.files(collection.id)
        except HearthError as error:
            self.summary.setText(f"Could not read the files: {error}")
            return
        for record in files.values():
            row = QTreeWidgetItem([Path(record.path).name, file_status(record)])
            row.setToolTip(0, record.path)
            row.setToolTip(1, file_status(record))
            row.setData(0, Qt.ItemDataRole.UserRole, record.path)
            self.file_list.addTopLevelItem(row)

    # --- indexing ----------------------------------------------------------------------

    def rescan(self) -> None:
        """Look again at every collection's files (watched folders), unless a run is going."""
        if self.indexing.busy:
            return
        for collection in self.collections:
            self.indexing.index(collection.id)

    def cancel_indexing(self) -> None:
        self.indexing.cancel()
        self.pause_button.setChecked(False)
        self._show_running(False)
        self.progress_label.setText("Cancelled. The files done so far are kept.")
        self.refresh()

    def _on_pause(self, paused: bool) -> None:
        self.indexing.pause(paused)
        self.pause_button.setText("Resume" if paused else "Pause")

    def _on_progress(self, status: IndexStatus) -> None:
        if status.files_total == 0:
            return  # a rescan that found nothing to do
        self._show_running(True)
        self.progress.setRange(0, max(1, status.files_total))
        self.progress.setValue(status.files_done)
        self.progress_label.setText(progress_text(status))
        if not self._refresh_files.isActive():
            self._refresh_files.start()

    def _on_finished(self, _collection_id: int, report: IndexReport) -> None:
        if self.indexing.busy:
            return
        self._show_running(False)
        if report.cancelled:
            self.progress_label.setText("Cancelled. The files done so far are kept.")
        elif report.indexed or report.failed or report.removed:
            failed = f", {len(report.failed)} could not be read" if report.failed else ""
            self._read_done = (
                f"Done: {report.indexed} files indexed, {report.passages} passages{failed}"
                f" ({report.seconds:.1f} s)."
            )
            self.progress_label.setText(self._read_done)
        self.refresh()
        self.collections_changed.emit()

    def _on_embedded(self, _collection_id: int, report: EmbedReport) -> None:
        if self.indexing.busy:
            return
        self._show_running(False)
        if report.error is not None:
            self.progress_label.setText(
                f"Your documents are searchable by their words; not by meaning: {report.error}"
            )
        elif report.cancelled:
            self.progress_label.setText(
                "Stopped. Every passage is searchable by its words; the rest are made "
                "searchable by meaning on the next run."
            )
        elif report.embedded:
            read = self._read_done.removesuffix(".")
            self.progress_label.setText(
                (f"{read}; " if read else "Done: ")
                + f"{report.embedded:,} passages made searchable by meaning "
                f"({report.seconds:.1f} s)."
            )
        self._read_done = ""

    def _on_failed(self, _collection_id: int, reason: str) -> None:
        self._show_running(False)
        self.progress_label.setText(reason)
        self.refresh()

    def _show_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def _write(self, action: Callable[[], _T]) -> _T | None:
        """One change to the store; its errors become the page's message."""
        try:
            return action()
        except HearthError as error:
            log.warning("documents page: %s", error)
            self.progress_label.setText(str(error))
            return None
