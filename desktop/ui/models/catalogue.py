"""`CatalogueDialog`: models to download, each marked fits / tight / too big for this computer.

Top: the catalogue shipped with Hearth (name and quantisation, approximate size, memory it
needs at the default context, fit, licence); the selected model's details under it (what
it is good at, trained context, repository and file, how it is verified). With the network
on: **Download** (the first time, a question naming the host and what is sent), and a
search of Hugging Face's GGUF repositories whose files get the same fit marks. With the
network off: the catalogue still shows, Download is off, and a sentence says how to get
the file by hand. Bottom: the `DownloadList`.

Thread: GUI only (searches run in a `BackgroundTask`; downloads in the `DownloadManager`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalogue import FITS, TIGHT, TOO_BIG, CatalogueEntry, fit_of
from desktop.core.downloads import DownloadRequest, consent_text
from desktop.core.errors import HearthError
from desktop.core.memory import estimate_memory, format_bytes
from desktop.core.network import NetworkPolicy
from desktop.core.settings import DEFAULT_CONTEXT
from desktop.inference.hub import HubClient, RepoFile
from desktop.ui.common.tasks import BackgroundTask
from desktop.ui.models.download_list import DownloadList
from desktop.ui.models.downloads import DownloadManager

REQUEST_ROLE = Qt.ItemDataRole.UserRole + 1
FIT_COLOURS = {FITS: "#2e7d32", TIGHT: "#b26a00", TOO_BIG: "#c62828"}
HEADERS = ["Model", "Size", "Needs", "Fit", "Licence"]


class CatalogueDialog(QDialog):
    """See the module docstring."""

    def __init__(
        self,
        entries: list[CatalogueEntry],
        manager: DownloadManager,
        hub: HubClient,
        *,
        policy: Callable[[], NetworkPolicy],
        free_memory: Callable[[], int | None],
        in_library: Callable[[str], bool],
        ask_consent: Callable[[QWidget, str], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("catalogueDialog")
        self.setWindowTitle("Download models")
        self.resize(860, 640)
        self.entries = entries
        self.manager = manager
        self.hub = hub
        self._policy = policy
        self._free_memory = free_memory
        self._in_library = in_library
        self._ask_consent = ask_consent or _ask_consent
        self._search_task: BackgroundTask | None = None
        self.requests: dict[str, DownloadRequest] = {}
        self._active: QTreeWidget | None = None  # the list whose selection Download takes

        column = QVBoxLayout(self)
        self.network_note = QLabel()
        self.network_note.setWordWrap(True)
        self.network_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.network_note)
        self.table = _tree("Models to download")
        self.table.currentItemChanged.connect(lambda *_: self.update_selection(self.table))
        column.addWidget(self.table, 3)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.details)
        column.addLayout(self._make_search())
        self.results = _tree("Search results")
        self.results.currentItemChanged.connect(lambda *_: self.update_selection(self.results))
        self.results.itemActivated.connect(self._open_result)
        self.results.hide()
        column.addWidget(self.results, 2)
        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.download_selected)
        buttons.addWidget(self.download_button)
        self.message = QLabel()
        self.message.setObjectName("pageMessage")
        self.message.setWordWrap(True)
        buttons.addWidget(self.message, 1)
        self.message.hide()
        column.addLayout(buttons)
        self.download_list = DownloadList(manager)
        column.addWidget(self.download_list)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        column.addWidget(close)
        manager.changed.connect(lambda: self.update_selection())
        self._fill_catalogue()
        self.refresh_network()

    def _make_search(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search Hugging Face for GGUF models, e.g. mistral 7b")
        self.search_edit.setAccessibleName("Search Hugging Face")
        self.search_edit.returnPressed.connect(self.search)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.search_button)
        return row

    # --- what is shown -------------------------------------------------------------------------

    def _fill_catalogue(self) -> None:
        free = self._free_memory()
        self.table.clear()
        for entry in self.entries:
            estimate = entry.estimate(free)
            size = format_bytes(entry.size_bytes)
            request = DownloadRequest(
                entry.repo, entry.file, entry.sha256, entry.size_bytes, title=entry.name
            )
            item = _row(
                [
                    f"{entry.name} · {entry.quantization}",
                    size if entry.size_exact else f"~{size}",
                    f"~{format_bytes(estimate.total_bytes)}",
                    fit_of(estimate),
                    entry.licence,
                ],
                request,
            )
            item.setToolTip(0, entry.good_at)
            self.table.addTopLevelItem(item)
            self.requests[request.key] = request
        first = self.table.topLevelItem(0)
        if first is not None:
            self.table.setCurrentItem(first)

    def refresh_network(self) -> None:
        """Show what the network switch allows now (it may change while this is open)."""
        allowed = self._policy().allowed
        if allowed:
            self.network_note.setText(
                f"Downloads come from {self.hub.host}. Sizes marked ~ are approximate; each "
                "file is checked against the sha256 its repository publishes."
            )
        else:
            self.network_note.setText(
                "The network is off (Privacy), so Hearth downloads nothing. To get a model by "
                "hand: open its page (below) in a browser, download the .gguf file named there, "
                "then add it with Import… on the Models page."
            )
        for widget in (self.search_edit, self.search_button):
            widget.setVisible(allowed)
        if allowed and not self.manager.is_busy():  # downloads left waiting while it was off
            self.manager.resume_queue()
        self.update_selection()

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh_network()
        super().showEvent(event)

    def selected_request(self, tree: QTreeWidget | None = None) -> DownloadRequest | None:
        tree = tree or self._active or self.table
        item = tree.currentItem()
        value = item.data(0, REQUEST_ROLE) if item is not None else None
        return value if isinstance(value, DownloadRequest) else None

    def update_selection(self, tree: QTreeWidget | None = None) -> None:
        self._active = tree or self._active
        request = self.selected_request()
        entry = next((e for e in self.entries if request and e.file == request.file), None)
        if request is None:
            self.details.setText("")
            self.download_button.setEnabled(False)
            return
        how = (
            "checked against the sha256 in the catalogue"
            if request.sha256 and entry is not None
            else "checked against the sha256 its repository publishes"
        )
        lines = [entry.good_at] if entry is not None else []
        if entry is not None:
            lines.append(f"Trained context {entry.context_length:,} tokens.")
        url = f"{self.hub.endpoint}/{request.repo}"
        lines.append(f"File {request.file} from {url}, {how}.")
        self.details.setText(" ".join(lines))
        allowed = self._policy().allowed
        taken = self._in_library(request.file)
        queued = self.manager.is_queued(request.key)
        self.download_button.setEnabled(allowed and not taken and not queued)
        self.download_button.setToolTip(
            "Turn on the network in Privacy first"
            if not allowed
            else "Already in your library"
            if taken
            else "Already downloading"
            if queued
            else f"Download {request.file}"
        )

    # --- actions -------------------------------------------------------------------------------

    def download_selected(self) -> bool:
        """Queue the selected model (asking once before the first download)."""
        request = self.selected_request()
        if request is None or not self.download_button.isEnabled():
            return False
        try:
            self._policy().require(f"Downloading {request.file}")
        except HearthError as error:
            self._say(str(error))
            return False
        host = self.hub.host
        if not self.manager.queue.has_consent(host):
            if not self._ask_consent(self, host):
                self._say("Nothing was downloaded.")
                return False
            try:
                self.manager.queue.consent(host)
            except OSError as error:
                self._say(f"Your answer could not be saved ({error}); nothing was downloaded.")
                return False
        self.manager.add(request)
        self._say(f"Downloading {request.file}; you can close this window meanwhile.")
        return True

    def search(self) -> None:
        query = self.search_edit.text().strip()
        if not query or self._search_task is not None:
            return
        self._run(lambda: self.hub.search(query), self._show_repos, f'Searching for "{query}"…')

    def _open_result(self, item: QTreeWidgetItem) -> None:
        repo = item.data(1, REQUEST_ROLE)
        if isinstance(repo, str) and self._search_task is None:
            self._run(
                lambda: (repo, self.hub.gguf_files(repo)), self._show_files, f"Listing {repo}…"
            )

    def _run(self, call: Callable[[], object], done: Callable[[object], None], note: str) -> None:
        hub, hosts = self.hub, list[str]()

        def watched() -> object:
            with hub.watching("Searching Hugging Face", hosts.append):
                return call()

        task = BackgroundTask(watched, self)
        task.succeeded.connect(done)
        task.failed.connect(lambda error: self._say(str(error)))
        task.finished.connect(lambda: self._searched(task, hosts))
        self._search_task = task
        self._say(note)
        task.start()

    def _searched(self, task: BackgroundTask, hosts: list[str]) -> None:
        self._search_task = None
        task.deleteLater()
        for host in hosts:
            self.manager.contacted.emit(host, "search", "GGUF models")

    def _show_repos(self, found: object) -> None:
        self.results.clear()
        self.results.show()
        for repo, downloads in found if isinstance(found, list) else []:
            item = _row([repo, "", "", "", f"{downloads:,} downloads"], None)
            item.setData(1, REQUEST_ROLE, repo)
            item.setToolTip(0, "Double-click to list its GGUF files")
            self.results.addTopLevelItem(item)
        self._say(
            f"{self.results.topLevelItemCount()} repositories; double-click one for its files."
        )

    def _show_files(self, listing: object) -> None:
        repo, files = listing if isinstance(listing, tuple) else ("", [])
        self.results.clear()
        free = self._free_memory()
        for file in files:
            assert isinstance(file, RepoFile)
            size = file.size or 0
            estimate = estimate_memory(size, None, DEFAULT_CONTEXT, free)
            request = DownloadRequest(
                repo, file.name, file.sha256, file.size or None, title=file.name
            )
            item = _row(
                [file.name, format_bytes(size), f"~{format_bytes(size)}+", fit_of(estimate), ""],
                request,
            )
            item.setToolTip(2, "The weights; the context adds a little more")
            self.results.addTopLevelItem(item)
        self._say(f"{len(files)} GGUF files in {repo}.")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


def _tree(name: str) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setAccessibleName(name)
    tree.setHeaderLabels(HEADERS)
    tree.setRootIsDecorated(False)
    tree.setColumnWidth(0, 300)
    for column in (1, 2, 3):
        tree.setColumnWidth(column, 90)
    return tree


def _row(texts: list[str], request: DownloadRequest | None) -> QTreeWidgetItem:
    item = QTreeWidgetItem(texts)
    item.setData(0, REQUEST_ROLE, request)
    colour = FIT_COLOURS.get(texts[3])
    if colour:
        item.setForeground(3, QColor(colour))
    return item


def _ask_consent(parent: QWidget, host: str) -> bool:
    answer = QMessageBox.question(
        parent,
        "Download from the internet?",
        f"{consent_text(host)}\n\nHearth asks this once.",
        QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes
