"""The Keyboard shortcuts window (F1 or Ctrl+/): every key the window answers to.

Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QVBoxLayout, QWidget

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Enter", "Send the message"),
    ("Shift+Enter", "New line in the message"),
    ("Esc", "Stop the reply, or cancel an edit"),
    ("Ctrl+N", "New chat"),
    ("Ctrl+K", "Search all chats"),
    ("Ctrl+B", "Show or hide the chat list"),
    ("Ctrl+=  /  Ctrl+-", "Bigger or smaller text"),
    ("Ctrl+0", "Text at the system's size"),
    ("Tab  /  Shift+Tab", "Next or previous control"),
    ("Up  /  Down", "Move in lists and search results"),
    ("F1  /  Ctrl+/", "This list"),
    ("Ctrl+Q", "Quit Hearth"),
)


class ShortcutsDialog(QDialog):
    """A table of keys and what they do, closed with Esc or Close."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        column = QVBoxLayout(self)
        heading = QLabel("Keyboard shortcuts")
        heading.setObjectName("dialogHeading")
        column.addWidget(heading)
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(6)
        for row, (keys, meaning) in enumerate(SHORTCUTS):
            key_label = QLabel(keys)
            key_label.setObjectName("shortcutKeys")
            key_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            grid.addWidget(key_label, row, 0)
            grid.addWidget(QLabel(meaning), row, 1)
        column.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
