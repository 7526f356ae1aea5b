"""The sidebar shown while nothing is saved: chats are not kept, and how to change that.

`UnsavedSidebar` takes the conversation list's place when the window runs without a store
(the user chose "Don't keep chats" or "Not now", the passphrase was refused, the database
could not be opened, or another Hearth process is writing). It says so in plain words for
as long as it lasts, with the reason, and offers "Protect my conversations…" when
protecting can fix it.

Signals: protect_requested(). Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from desktop.ui.common.fitting import WrappingButton

NOT_KEPT = "Chats in this window are not kept: they are gone when Hearth closes."


class UnsavedSidebar(QFrame):
    """The placeholder for the conversation list; see the module docstring."""

    protect_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setMinimumWidth(220)
        self.setMaximumWidth(300)
        title = QLabel("Chats")
        title.setObjectName("sidebarTitle")
        self.note = QLabel(NOT_KEPT)
        self.note.setObjectName("notKeptNote")
        self.note.setWordWrap(True)
        self.reason = QLabel()
        self.reason.setObjectName("mutedText")
        self.reason.setWordWrap(True)
        self.reason.setTextFormat(Qt.TextFormat.PlainText)
        self.reason.hide()
        self.protect_button = WrappingButton("Protect my conversations…")  # large text wraps
        self.protect_button.setObjectName("protectButton")
        self.protect_button.setToolTip("Choose how to protect your chats, then keep them")
        self.protect_button.clicked.connect(self.protect_requested)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 12, 12, 12)
        column.setSpacing(10)
        column.addWidget(title)
        column.addWidget(self.note)
        column.addWidget(self.reason)
        column.addWidget(self.protect_button)
        column.addStretch(1)

    def set_reason(self, reason: str | None, can_protect: bool | None = None) -> None:
        """Why nothing is saved, and whether "Protect my conversations…" can change it
        (None: as before)."""
        self.reason.setText(reason or "")
        self.reason.setVisible(bool(reason))
        if can_protect is not None:
            self.protect_button.setVisible(can_protect)
