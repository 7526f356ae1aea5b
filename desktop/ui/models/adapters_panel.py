"""The adapters of the selected model (its Adapters tab in the Models page): list, import,
scale, remove.

Each of the user's LoRA adapters (kept in the encrypted store, `AdapterStore`) is listed
under the model it was made for: its name, rank, size, scale and where it came from.
Import adapter… checks the file against the model off the GUI thread (`check_fits`: a
LoRA adapter, the same kind of model, every weight's size) and keeps it in the store; a
refusal is the same sentence `hearth adapters import` gives. The scale applies from the
next load (choosing the adapter, or the chat using it reloads). Works without the training
component.

Signals: adapters_changed() (imported, scale changed, removed).
Thread: GUI thread (the check and the file's reading run on a Python thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import HearthError
from desktop.inference.adapters import AdapterInfo, check_fits
from desktop.inference.library import ModelEntry
from desktop.storage.adapters import MAX_SCALE, MIN_SCALE, AdapterStore, StoredAdapter, check_name
from desktop.ui.common.messages import confirm, show_message
from desktop.ui.common.tasks import BackgroundTask

log = logging.getLogger(__name__)

ADAPTER_FILTER = "LoRA adapters (*.gguf);;All files (*)"
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def describe(adapter: StoredAdapter) -> str:
    """ "capitals — rank 8 · 4.9 MB · scale 1 · taught from 50 examples"."""
    return (
        f"{adapter.name} — rank {adapter.rank} · {adapter.size / 1e6:.1f} MB · "
        f"scale {adapter.scale:g} · {adapter.origin}"
    )


def _read_checked(source: Path, model: Path) -> tuple[AdapterInfo, bytes]:
    info = check_fits(source, model)
    try:
        return info, source.read_bytes()
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise HearthError(f"“{source.name}” cannot be read ({reason}).") from error


class AdaptersPanel(QWidget):
    """See the module docstring."""

    adapters_changed = Signal()

    def __init__(self, store: AdapterStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adaptersPanel")
        self.store = store
        self.entry: ModelEntry | None = None
        self.task: BackgroundTask | None = None
        column = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setAccessibleName("Adapters of this model")
        self.list.currentItemChanged.connect(lambda *_: self._show_selected())
        column.addWidget(self.list, 1)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop)
        column.addWidget(self.empty, 1)
        row = QHBoxLayout()
        self.import_button = QPushButton("Import adapter…")
        self.import_button.setToolTip("Add a GGUF LoRA adapter made for this model")
        self.import_button.clicked.connect(self._choose_file)
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(QLabel("Scale"))
        self.scale = QDoubleSpinBox()
        self.scale.setRange(MIN_SCALE, MAX_SCALE)
        self.scale.setSingleStep(0.1)
        self.scale.setDecimals(2)
        self.scale.setAccessibleName("Adapter scale")
        self.scale.setToolTip("How strongly the adapter applies: 1 as trained, 0 off")
        self.scale.editingFinished.connect(self.apply_scale)
        row.addWidget(self.scale)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.remove_button)
        column.addLayout(row)
        self.message = QLabel()
        self.message.setObjectName("pageMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        column.addWidget(self.message)
        self.show_model(None)

    # --- public API --------------------------------------------------------------------

    def show_model(self, entry: ModelEntry | None) -> None:
        """List the adapters of `entry` (a local, usable model; else the panel hides)."""
        if entry is not self.entry:
            self.say("")
        self.entry = entry
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        keep = select or self.selected_name()
        self.list.clear()
        adapters = [] if self.entry is None else self._adapters(self.entry.key)
        for adapter in adapters:
            item = QListWidgetItem(describe(adapter))
            item.setData(NAME_ROLE, adapter.name)
            item.setToolTip(f"Added {adapter.created_at:%Y-%m-%d %H:%M}; kept encrypted")
            self.list.addItem(item)
            if adapter.name == keep:
                self.list.setCurrentItem(item)
        if adapters and self.list.currentItem() is None:
            self.list.setCurrentRow(0)
        self.list.setVisible(bool(adapters))
        self.empty.setText(
            "No adapters for this model yet. An adapter holds what the model learnt from "
            "examples; import one made for this model, or teach one (⋯ → Teach…)."
        )
        self.empty.setVisible(not adapters)
        self._show_selected()

    def import_file(self, source: Path) -> BackgroundTask | None:
        """Check `source` against the model shown and keep it (off the GUI thread)."""
        entry = self.entry
        if entry is None or self.task is not None:
            return None
        self.say(f"Checking {source.name}…")
        self.import_button.setEnabled(False)
        task = BackgroundTask(lambda: _read_checked(source, entry.path), self)
        task.succeeded.connect(lambda result: self._keep(source, entry, result))
        task.failed.connect(self._refused)
        task.finished.connect(self._import_finished)
        self.task = task
        task.start()
        return task

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(NAME_ROLE))

    def apply_scale(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        current = self.store.find(name)
        if current is None or abs(current.scale - self.scale.value()) < 1e-9:
            return
        if self._try(lambda: self.store.set_scale(name, self.scale.value())):
            self.say(f"“{name}” applies at scale {self.scale.value():g} from its next load.")
            self.refresh(name)
            self.adapters_changed.emit()

    def remove_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        question = f"Remove the adapter “{name}”? What it learnt is deleted from Hearth's store."
        if not confirm(self, "Remove adapter", question):
            return
        if self._try(lambda: self.store.remove(name)):
            self.say(f"Removed the adapter “{name}”.")
            self.refresh()
            self.adapters_changed.emit()

    def say(self, text: str, error: bool = False) -> None:
        show_message(self.message, text, error)

    # --- helpers -------------------------------------------------------------------------

    def _adapters(self, key: str) -> list[StoredAdapter]:
        try:
            return self.store.adapters(key)
        except HearthError as error:
            self.say(str(error), error=True)
            return []

    def _show_selected(self) -> None:
        name = self.selected_name()
        adapter = None if name is None else self.store.find(name)
        for widget in (self.scale, self.remove_button):
            widget.setEnabled(adapter is not None)
        if adapter is not None:
            self.scale.blockSignals(True)
            self.scale.setValue(adapter.scale)
            self.scale.blockSignals(False)

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import an adapter", "", ADAPTER_FILTER)
        if name:
            self.import_file(Path(name))

    def _keep(self, source: Path, entry: ModelEntry, result: object) -> None:
        assert isinstance(result, tuple)
        info, data = result[0], result[1]
        assert isinstance(info, AdapterInfo) and isinstance(data, bytes)

        def add() -> StoredAdapter:
            name = check_name(info.name or source.stem)
            return self.store.add(name, entry.key, data, info.rank, f"imported from {source.name}")

        kept: list[StoredAdapter] = []
        if self._try(lambda: kept.append(add())):
            self.say(f"Imported the adapter “{kept[0].name}” ({info.summary()}); kept encrypted.")
            self.refresh(kept[0].name)
            self.adapters_changed.emit()

    def _refused(self, error: object) -> None:
        if isinstance(error, HearthError):
            self.say(str(error), error=True)
            return
        trace = error if isinstance(error, BaseException) else None
        log.error("importing an adapter failed unexpectedly", exc_info=trace)
        self.say(f"The adapter could not be imported ({error!r}); nothing was added.", error=True)

    def _import_finished(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.deleteLater()
        self.import_button.setEnabled(True)

    def _try(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except HearthError as failure:
            self.say(str(failure), error=True)
            return False
        return True
