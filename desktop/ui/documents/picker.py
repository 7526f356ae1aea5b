"""The "Documents" button beside the composer: which collections this chat answers from.

A tool button whose menu lists the collections with a check mark each, and "Manage
documents…". Its text says what is chosen ("Documents: home, work", or "Documents: none").

Signals: chosen(list[int]) (the ids checked), manage_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from desktop.storage.documents import Collection


class CollectionPicker(QToolButton):
    """See the module docstring."""

    chosen = Signal(list)
    manage_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("collectionPicker")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAccessibleName("Documents this chat answers from")
        self.setToolTip("Answer from your documents: choose collections")
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self._collections: list[Collection] = []
        self._checked: tuple[int, ...] = ()
        self.set_collections([])

    @property
    def checked(self) -> tuple[int, ...]:
        return self._checked

    def set_collections(self, collections: Sequence[Collection]) -> None:
        """The collections there are (a removed one is unchecked)."""
        self._collections = list(collections)
        known = {c.id for c in collections}
        kept = tuple(c for c in self._checked if c in known)
        self._rebuild(kept)
        if kept != self._checked:
            self._checked = kept
            self.chosen.emit(list(kept))

    def set_checked(self, collection_ids: Sequence[int]) -> None:
        """Show this choice (the chat's own, e.g. when a conversation is opened)."""
        self._rebuild(tuple(collection_ids))

    def toggle_collection(self, collection_id: int, on: bool) -> None:
        ids = [c for c in self._checked if c != collection_id] + ([collection_id] if on else [])
        self._rebuild(tuple(ids))
        self.chosen.emit(list(self._checked))

    def _rebuild(self, checked: tuple[int, ...]) -> None:
        self._checked = checked
        self._menu.clear()
        for collection in self._collections:
            action = self._menu.addAction(f"{collection.name} ({collection.indexed} files)")
            action.setCheckable(True)
            action.setChecked(collection.id in checked)
            action.toggled.connect(lambda on, cid=collection.id: self.toggle_collection(cid, on))
        if self._collections:
            self._menu.addSeparator()
        self._menu.addAction("Manage documents…").triggered.connect(self.manage_requested)
        names = [c.name for c in self._collections if c.id in checked]
        self.setText("Documents: " + (", ".join(names) if names else "none"))
