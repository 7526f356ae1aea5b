"""The Privacy page's "Serve to this computer's tools" section: the switch of `hearth serve`
in the window, and its status line ("Serving on 127.0.0.1:PORT — token …").

It only shows and asks: `toggle(on)` starts or stops the API (the shell owns it) and
`show_status(text)` is called whenever it changes. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout


class ServeSection(QGroupBox):
    """See the module docstring."""

    def __init__(self, serving: bool, status: str, toggle: Callable[[bool], None]) -> None:
        super().__init__("Serve to this computer's tools")
        self.switch = QCheckBox("Offer Hearth's model to my own tools (OpenAI-compatible API)")
        self.switch.setChecked(serving)
        self.switch.toggled.connect(toggle)
        note = QLabel(
            "Off by default. Only programs on this computer can reach it (127.0.0.1), with "
            "the token. The model loaded here answers them, one reply at a time, taking "
            "turns with your chats."
        )
        note.setWordWrap(True)
        self.status = QLabel(status)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        for widget in (self.switch, note, self.status):
            column.addWidget(widget)

    def show_status(self, serving: bool, text: str) -> None:
        self.switch.blockSignals(True)
        self.switch.setChecked(serving)
        self.switch.blockSignals(False)
        self.status.setText(text)
