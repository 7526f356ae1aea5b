"""The list of the Assistants page: a "Built-in" section, then "Your assistants".

`fill_list` puts one entry per assistant into a `QListWidget` (name, the "In this chat"
badge, and the description, elided to one line), under two section headers that cannot be
selected. Each entry keeps the assistant's id under `ID_ROLE`; `NEW_KEY` marks the entry
of a new assistant that is not saved yet. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core.assistants import Assistant
from desktop.storage.assistants import DEFAULT_ASSISTANT_ID

ID_ROLE = Qt.ItemDataRole.UserRole + 1
NEW_KEY = ""  # real ids are never empty
BUILTIN_HEADER = "Built-in"
MINE_HEADER = "Your assistants"
NONE_YET = "None yet: press New, or duplicate one to change it."


class Entry(QWidget):
    """One assistant in the list: its name, an optional badge, and its description."""

    def __init__(self, name: str, description: str, badge: str, width: int) -> None:
        super().__init__()
        self.name_label = QLabel()
        self.name_label.setObjectName("entryName")
        self.badge = QLabel(badge)
        self.badge.setObjectName("currentBadge")
        self.badge.setVisible(bool(badge))
        self.badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.description = QLabel()
        self.description.setObjectName("entryDescription")
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.badge)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(1)
        column.addLayout(top)
        column.addWidget(self.description)
        self.description.setVisible(bool(description))
        # Elide against the label's own (styled) font once the style sheet has applied it.
        self.ensurePolished()
        for label, text, room in (
            (self.name_label, name, width - (90 if badge else 16)),
            (self.description, description, width - 16),
        ):
            label.ensurePolished()
            elided = QFontMetrics(label.font()).elidedText(text, Qt.TextElideMode.ElideRight, room)
            label.setText(elided)
            label.setToolTip(text if elided != text else "")


def _header(widget: QListWidget, text: str) -> None:
    item = QListWidgetItem(text.upper())
    item.setFlags(Qt.ItemFlag.NoItemFlags)
    font = QFont(widget.font())
    font.setPixelSize(11)
    font.setBold(True)
    item.setFont(font)
    item.setSizeHint(QSize(0, 30 if widget.count() else 22))
    item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
    item.setForeground(Qt.GlobalColor.darkGray)
    item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
    widget.addItem(item)


def _entry(widget: QListWidget, key: str, texts: tuple[str, str, str], width: int) -> None:
    name, description, badge = texts
    item = QListWidgetItem()
    item.setData(ID_ROLE, key)
    item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
    entry = Entry(name, description, badge, width)
    item.setSizeHint(entry.sizeHint())
    widget.addItem(item)
    widget.setItemWidget(item, entry)


def fill_list(
    widget: QListWidget,
    assistants: Sequence[Assistant],
    shown: str | None,
    current: str | None,
    width: int,
) -> None:
    """Replace the list's contents; select `shown` (an id, `NEW_KEY` or None).

    `width` is the room for an entry's text, to elide long names and descriptions.
    """
    widget.clear()
    builtins = sorted(
        (a for a in assistants if a.builtin), key=lambda a: a.id != DEFAULT_ASSISTANT_ID
    )
    mine = [a for a in assistants if not a.builtin]
    for title, group in ((BUILTIN_HEADER, builtins), (MINE_HEADER, mine)):
        _header(widget, title)
        for assistant in group:
            badge = "In this chat" if assistant.id == current else ""
            texts = (assistant.name, assistant.description, badge)
            _entry(widget, assistant.id, texts, width)
    if shown == NEW_KEY:
        _entry(widget, NEW_KEY, ("New assistant", "Not saved yet", ""), width)
    elif not mine:
        note = QListWidgetItem(NONE_YET)
        note.setFlags(Qt.ItemFlag.NoItemFlags)
        note.setForeground(Qt.GlobalColor.gray)
        widget.addItem(note)
    select_key(widget, shown)


def select_key(widget: QListWidget, key: str | None) -> None:
    """Make the entry with `key` the current one (none if there is no such entry)."""
    for row in range(widget.count()):
        if key is not None and widget.item(row).data(ID_ROLE) == key:
            widget.setCurrentRow(row)
            return
    widget.setCurrentRow(-1)


def item_name(item: QListWidgetItem) -> str:
    """The visible name of an entry or section header."""
    return str(item.data(Qt.ItemDataRole.AccessibleTextRole) or item.text())
