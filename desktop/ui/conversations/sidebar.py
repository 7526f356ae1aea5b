"""The conversation list on the left of the window: a lazy Qt list model and its view.

`ConversationListModel` lists the stored conversations outside the trash, pinned first,
then the most recently updated, loading them in pages of `PAGE_SIZE` as the view scrolls
(`canFetchMore`/`fetchMore`). `Sidebar` shows it in a `QListView` with a context menu
(Rename, Pin/Unpin, Delete), an Undo banner for a few seconds after a delete, and a
Trash button that opens the trash (`desktop.ui.conversations.trash`: restore, empty). Its
public methods (`rename_conversation`, `set_pinned`, `delete_conversation`,
`undo_delete`, `open_trash`) do what the menu does, so tests need no dialog.

Signals of `Sidebar`: conversation_selected(int) (the user picked one),
conversation_deleted(int) (moved to the trash), conversation_restored(int).
Thread: GUI thread only; the store is used from this thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.storage.conversations import Conversation, ConversationStore
from desktop.ui.conversations.export_dialog import export_conversation
from desktop.ui.conversations.trash import TrashDialog

PAGE_SIZE = 50
ROW_HEIGHT = 32
#: The mark before a pinned title (an emoji pin is missing from many default fonts).
PIN_GLYPH = "★"
UNTITLED = "New chat"
#: How long the Undo banner stays after a delete (milliseconds).
UNDO_TIMEOUT_MS = 6000

_Index = QModelIndex | QPersistentModelIndex


class ConversationListModel(QAbstractListModel):
    """The stored conversations, pinned first then newest first, loaded page by page."""

    IdRole = Qt.ItemDataRole.UserRole + 1
    TitleRole = Qt.ItemDataRole.UserRole + 2
    PinnedRole = Qt.ItemDataRole.UserRole + 3
    UpdatedRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._items: list[Conversation] = []
        self._total = store.count_conversations()
        self._busy = False  # resetting or inserting: no nested fetch

    # --- QAbstractListModel --------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        title = item.title or UNTITLED
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{PIN_GLYPH} {title}" if item.pinned else title
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(1, ROW_HEIGHT)  # as wide as the list: long titles are elided
        if role == Qt.ItemDataRole.ToolTipRole:
            return title
        if role == self.IdRole:
            return item.id
        if role == self.TitleRole:
            return item.title
        if role == self.PinnedRole:
            return item.pinned
        if role == self.UpdatedRole:
            return item.updated_at.isoformat()
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names.update(
            {
                self.IdRole: QByteArray(b"conversationId"),
                self.TitleRole: QByteArray(b"title"),
                self.PinnedRole: QByteArray(b"pinned"),
                self.UpdatedRole: QByteArray(b"updated"),
            }
        )
        return names

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and not self._busy and len(self._items) < self._total

    def fetchMore(self, parent: _Index) -> None:
        if not self.canFetchMore(parent):
            return
        page = self._store.list_conversations(offset=len(self._items), limit=PAGE_SIZE)
        if not page:
            self._total = len(self._items)
            return
        first = len(self._items)
        self._busy = True
        try:
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._items.extend(page)
            self.endInsertRows()
        finally:
            self._busy = False

    # --- Hearth --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload from the store (the first page again; more are fetched as needed)."""
        self.beginResetModel()
        self._items = []
        self._total = self._store.count_conversations()
        # No rows are inserted while views and testers react to the reset itself.
        self._busy = True
        try:
            self.endResetModel()
        finally:
            self._busy = False

    def conversation_id(self, row: int) -> int | None:
        return self._items[row].id if 0 <= row < len(self._items) else None

    def row_of(self, conversation_id: int) -> int | None:
        """The row of a conversation already loaded, or None."""
        for row, item in enumerate(self._items):
            if item.id == conversation_id:
                return row
        return None


class Sidebar(QFrame):
    """The conversation list with its context menu and Undo banner; see the module docstring."""

    conversation_selected = Signal(int)
    conversation_deleted = Signal(int)
    conversation_restored = Signal(int)

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._current: int | None = None
        self._deleted: int | None = None
        self._trash: TrashDialog | None = None
        self.setObjectName("sidebar")
        self.setMinimumWidth(220)
        self.setMaximumWidth(300)
        self.model = ConversationListModel(store, self)
        self.list_view = QListView()
        self.list_view.setAccessibleName("Chats")
        self.list_view.setAccessibleDescription(
            "Enter opens a chat; the menu key renames, pins or deletes it"
        )
        self.list_view.setObjectName("conversationList")
        self.list_view.setModel(self.model)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setFrameShape(QFrame.Shape.NoFrame)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._show_menu)
        self.list_view.clicked.connect(self._on_clicked)
        self.list_view.activated.connect(self._on_clicked)

        title = QLabel("Chats")
        title.setObjectName("sidebarTitle")
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 12, 8, 8)
        column.setSpacing(6)
        column.addWidget(title)
        column.addWidget(self.list_view, 1)
        column.addWidget(self._make_undo_banner())
        self.trash_button = QPushButton("Trash")
        self.trash_button.setObjectName("trashButton")
        self.trash_button.setToolTip("Deleted chats: restore them or delete them for good")
        self.trash_button.clicked.connect(self.open_trash)
        column.addWidget(self.trash_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(UNDO_TIMEOUT_MS)
        self._undo_timer.timeout.connect(self._hide_undo)

    def _make_undo_banner(self) -> QWidget:
        self.undo_banner = QFrame()
        self.undo_banner.setObjectName("undoBanner")
        row = QHBoxLayout(self.undo_banner)
        row.setContentsMargins(10, 6, 6, 6)
        self.undo_label = QLabel("Chat moved to the trash")
        self.undo_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoButton")
        self.undo_button.clicked.connect(self.undo_delete)
        row.addWidget(self.undo_label, 1)
        row.addWidget(self.undo_button)
        self.undo_banner.hide()
        return self.undo_banner

    # --- commands (the context menu's, also used by tests) ------------------------------

    @Slot()
    def refresh(self) -> None:
        """Reload the list and select the open conversation (if loaded)."""
        self.model.refresh()
        if self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        self._select_current()

    @Slot(object)
    def set_current(self, conversation_id: int | None) -> None:
        """Mark the open conversation (None: a new chat, nothing selected)."""
        self._current = conversation_id
        self.refresh()

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        title = " ".join(title.split())
        if title:
            self._store.rename(conversation_id, title)
            self.refresh()

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._store.set_pinned(conversation_id, pinned)
        self.refresh()

    def delete_conversation(self, conversation_id: int) -> None:
        """Move it to the trash and offer Undo for a few seconds."""
        self._store.move_to_trash(conversation_id)
        self._deleted = conversation_id
        self.undo_banner.show()
        self._undo_timer.start()
        self.refresh()
        self.conversation_deleted.emit(conversation_id)

    @Slot()
    def undo_delete(self) -> None:
        """Restore the conversation deleted last (while the banner shows)."""
        conversation_id, self._deleted = self._deleted, None
        self._hide_undo()
        if conversation_id is not None:
            self._store.restore(conversation_id)
            self.refresh()
            self.conversation_restored.emit(conversation_id)

    @Slot()
    def open_trash(self) -> TrashDialog:
        """Show the trash (one window, reloaded each time); a restored chat comes back here."""
        self._hide_undo()
        if self._trash is None:
            self._trash = TrashDialog(self._store, self)
            self._trash.restored.connect(self._on_restored)
        self._trash.reload()
        self._trash.show()
        self._trash.raise_()
        return self._trash

    # --- internals -----------------------------------------------------------------------

    def _select_current(self) -> None:
        selection = self.list_view.selectionModel()
        row = None if self._current is None else self.model.row_of(self._current)
        if row is None:
            selection.clearSelection()
            self.list_view.setCurrentIndex(QModelIndex())
            return
        index = self.model.index(row)
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)

    @Slot(int)
    def _on_restored(self, conversation_id: int) -> None:
        self.refresh()
        self.conversation_restored.emit(conversation_id)

    @Slot()
    def _hide_undo(self) -> None:
        self._undo_timer.stop()
        self.undo_banner.hide()
        self._deleted = None

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        conversation_id = self.model.conversation_id(index.row())
        if conversation_id is not None and conversation_id != self._current:
            self.conversation_selected.emit(conversation_id)

    @Slot(QPoint)
    def _show_menu(self, position: QPoint) -> None:
        index = self.list_view.indexAt(position)
        conversation_id = self.model.conversation_id(index.row())
        if conversation_id is None:
            return
        pinned = bool(index.data(ConversationListModel.PinnedRole))
        menu = QMenu(self)
        rename = menu.addAction("Rename…")
        pin = menu.addAction("Unpin" if pinned else "Pin")
        export = menu.addAction("Export…")
        menu.addSeparator()
        delete = menu.addAction("Delete")
        chosen = menu.exec(self.list_view.viewport().mapToGlobal(position))
        if chosen is rename:
            old = str(index.data(ConversationListModel.TitleRole) or "")
            title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=old)
            if ok:
                self.rename_conversation(conversation_id, title)
        elif chosen is pin:
            self.set_pinned(conversation_id, not pinned)
        elif chosen is export:
            export_conversation(self, self._store, conversation_id)
        elif chosen is delete:
            self.delete_conversation(conversation_id)
