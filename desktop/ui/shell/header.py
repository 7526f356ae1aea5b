"""The chat window's header: title, the assistant and model pickers, the On server and Not
saving badges, Privacy, Search, New chat and the menu ("⋯").

Below `COMPACT_WIDTH` it folds: the title goes, Privacy and Search leave for the menu
(where they always are too), and the pickers shrink with their text elided, so every
control stays whole at 600 px and with large text.

No signals of its own (the window connects the buttons). Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

from desktop.ui.chat.controls import ChoicePicker
from desktop.ui.shell.window_menu import WindowMenu

#: Narrower than this (in units of the body font's height), the header folds.
COMPACT_LINES = 48


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setToolTip(tip)
    return button


class Header(QFrame):
    """The header row; see the module docstring."""

    def __init__(self, menu: WindowMenu) -> None:
        super().__init__()
        self.setObjectName("header")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 8, 12, 8)
        row.setSpacing(8)
        self.title = QLabel("Hearth")
        self.title.setObjectName("appTitle")
        self.assistant_picker = ChoicePicker("Manage assistants…")
        self.assistant_picker.setToolTip("This chat's assistant: its instructions and examples")
        self.model_picker = ChoicePicker("Manage models…")
        self.model_picker.setToolTip("The model that answers in this chat")
        for picker in (self.assistant_picker, self.model_picker):
            picker.hide()  # shown once there are choices (`set_choices`)
            picker.setMinimumContentsLength(6)
        self.remote_badge = QLabel()  # "On server NAME": this chat's model runs elsewhere
        self.remote_badge.setObjectName("remoteBadge")
        self.remote_badge.hide()
        self.not_saving_badge = _button("Not saving", "")
        self.not_saving_badge.setObjectName("notSavingBadge")
        self.not_saving_badge.hide()
        self.privacy_button = _button(
            "Privacy", "Where your data lives, encryption, network, deletion"
        )
        self.search_button = _button("Search  Ctrl+K", "Search all conversations (Ctrl+K)")
        self.new_chat_button = _button("New chat", "New chat (Ctrl+N)")
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("menuButton")
        self.menu_button.setText("⋯")
        self.menu_button.setMenu(menu)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setToolTip("Menu: theme, text size, chat list, search, privacy, keys")
        self.menu_button.setAccessibleName("Menu")
        row.addWidget(self.title)
        row.addSpacing(4)
        row.addWidget(self.assistant_picker)
        row.addWidget(self.model_picker)
        row.addStretch(1)
        for widget in (
            self.remote_badge,
            self.not_saving_badge,
            self.privacy_button,
            self.search_button,
            self.new_chat_button,
            self.menu_button,
        ):
            row.addWidget(widget)
        self._compact: bool | None = None
        self.search_shown = True  # False when there is nothing to search

    @property
    def compact(self) -> bool:
        return bool(self._compact)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fold(event.size().width() < COMPACT_LINES * self.fontMetrics().height())

    def fold(self, compact: bool) -> None:
        """Fold (or unfold) the header for a narrow window."""
        if compact == self._compact:
            return
        self._compact = compact
        self.title.setVisible(not compact)
        self.privacy_button.setVisible(not compact)
        self.search_button.setVisible(self.search_shown and not compact)
        policy = (
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            if compact
            else QComboBox.SizeAdjustPolicy.AdjustToContents
        )
        layout = self.layout()
        for picker in (self.assistant_picker, self.model_picker):
            picker.setSizeAdjustPolicy(policy)
            if isinstance(layout, QHBoxLayout):  # narrow: the pickers take the free room
                layout.setStretchFactor(picker, 1 if compact else 0)

    def folded_width(self) -> int:
        """About the narrowest the folded header gets with nothing cut off: the pickers
        at their shortest (a few letters and "…"), the shown buttons whole."""
        metrics = self.fontMetrics()
        letters = self.assistant_picker.minimumContentsLength() + 1
        picker = metrics.averageCharWidth() * letters + metrics.height() * 2  # and its arrow
        parts = [
            picker if isinstance(widget, QComboBox) else widget.sizeHint().width()
            for widget in (
                self.assistant_picker,
                self.model_picker,
                self.remote_badge,
                self.not_saving_badge,
                self.new_chat_button,
                self.menu_button,
            )
            if not widget.isHidden()
        ]
        row = self.layout()
        if row is None:
            return sum(parts)
        margins = row.contentsMargins()
        gaps = row.spacing() * max(0, len(parts) - 1)
        return margins.left() + margins.right() + sum(parts) + gaps

    def show_search(self, shown: bool) -> None:
        self.search_shown = shown
        self.search_button.setVisible(shown and not self.compact)
