"""The trash: chats deleted from the sidebar, which can be restored or deleted for good.

`TrashDialog` lists the trashed conversations (most recently deleted first, in pages),
with Restore for the selected ones and Empty trash, which asks for confirmation first
(`confirm` is injectable so tests need no modal box). Store errors are shown in the
dialog, never raised.

Signals: restored(int) for each conversation brought back; emptied(int) with the count.
Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import DatabaseError
from desktop.storage.conversations import ConversationStore

#: How many trashed chats are listed (the rest stay in the trash, counted in the title).
LIST_LIMIT = 500

Confirm = Callable[[QWidget, int], bool]


def ask_to_empty(parent: QWidget, count: int) -> bool:
    chats = "1 chat" if count == 1 else f"{count} chats"
    answer = QMessageBox.warning(
        parent,
        "Empty the trash?",
        f"{chats} and all their messages will be deleted for good. This cannot be undone.",
        QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Discard,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard


class TrashDialog(QDialog):
    """Restore trashed chats or delete them for good."""

    restored = Signal(int)
    emptied = Signal(int)

    def __init__(
        self,
        store: ConversationStore,
        parent: QWidget | None = None,
        confirm: Confirm = ask_to_empty,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._confirm = confirm
        self.setWindowTitle("Trash")
        self.resize(460, 420)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Deleted chats")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self.restore_selected())
        self.message = QLabel()
        self.message.setObjectName("errorText")
        self.message.setWordWrap(True)
        self.message.hide()
        self.restore_button = QPushButton("Restore")
        self.restore_button.clicked.connect(self.restore_selected)
        self.empty_button = QPushButton("Empty trash…")
        self.empty_button.clicked.connect(self.empty)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.empty_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        column = QVBoxLayout(self)
        column.addWidget(self.summary)
        column.addWidget(self.list, 1)
        column.addWidget(self.message)
        column.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        try:
            total = self._store.count_conversations(include_deleted=True)
            total -= self._store.count_conversations()
            trashed = self._store.list_trash(limit=LIST_LIMIT)
        except DatabaseError as error:
            self._show_error(str(error))
            trashed, total = [], 0
        for conversation in trashed:
            when = conversation.deleted_at
            label = conversation.title or "New chat"
            if when is not None:
                label += f"   ·   deleted {when.astimezone().strftime('%d %b %Y, %H:%M')}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            self.list.addItem(item)
        if total == 0:
            self.summary.setText("The trash is empty.")
        else:
            self.summary.setText(
                f"{total} deleted chat{'s' if total != 1 else ''}. Restore them, or empty the "
                "trash to delete them for good."
            )
        self.empty_button.setEnabled(total > 0)
        self._update_buttons()

    def restore_selected(self) -> int:
        """Bring the selected chats back to the sidebar; returns how many."""
        ids = [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.list.selectedItems()]
        try:
            for conversation_id in ids:
                self._store.restore(conversation_id)
                self.restored.emit(conversation_id)
        except DatabaseError as error:
            self._show_error(str(error))
        self.reload()
        return len(ids)

    def empty(self) -> int:
        """Delete everything in the trash for good, after confirmation; returns how many."""
        count = self._store.count_conversations(True) - self._store.count_conversations()
        if count == 0 or not self._confirm(self, count):
            return 0
        try:
            removed = self._store.empty_trash()
        except DatabaseError as error:
            self._show_error(str(error))
            return 0
        self.emptied.emit(removed)
        self.reload()
        return removed

    def _update_buttons(self) -> None:
        self.restore_button.setEnabled(bool(self.list.selectedItems()))

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
