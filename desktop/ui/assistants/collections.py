"""The assistant's documents: the collections its new chats answer from by default.

`CollectionsChooser` lists the collections of the Documents page with a check box each
(`collection_choices()` gives `(id, name)` pairs, asked each time an assistant is shown);
a collection the assistant names that no longer exists is kept, marked as gone, so saving
does not silently drop it. Signal: changed(). Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

CollectionChoices = Callable[[], list[tuple[int, str]]]
HINT = (
    "A new chat with this assistant answers from the checked collections; the chat's "
    "Documents button below the message box can change them."
)
NONE_YET = "There are no document collections yet: add documents in the Documents page."


class CollectionsChooser(QWidget):
    """See the module docstring."""

    changed = Signal()

    def __init__(self, collection_choices: CollectionChoices, parent: QWidget | None = None):
        super().__init__(parent)
        self._choices = collection_choices
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Document collections")
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 12, 8, 8)
        column.addWidget(self.hint)
        column.addWidget(self.list, 1)

    def set_checked(self, checked: Sequence[int]) -> None:
        """List the collections now, those in `checked` ticked."""
        self.list.blockSignals(True)
        self.list.clear()
        choices = self._choices()
        known = {ident for ident, _ in choices}
        gone = [(ident, f"A removed collection (number {ident})") for ident in checked]
        for ident, name in choices + [g for g in gone if g[0] not in known]:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, ident)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = ident in checked
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.hint.setText(HINT if choices else NONE_YET)
        self.list.blockSignals(False)

    def checked(self) -> tuple[int, ...]:
        items = (self.list.item(row) for row in range(self.list.count()))
        return tuple(
            int(item.data(Qt.ItemDataRole.UserRole))
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        )

    def set_read_only(self, read_only: bool) -> None:
        self.list.setEnabled(not read_only)
