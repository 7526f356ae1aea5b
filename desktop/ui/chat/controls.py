"""Small controls of the chat window: the assistant and model pickers, the context meter.

`ChoicePicker` is a combo box of (key, label) choices ending with a "Manage…" entry that
opens the matching page instead of choosing. `ContextMeter` shows what the next request
takes of the model's context window ("1,234 / 4,096 tokens"), turns amber when it is
nearly full, and says so when older messages are left out or the draft is too long.

Signals: ChoicePicker.chosen(str), ChoicePicker.manage_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

from desktop.chat.request import ContextBudget

#: Above this share of the window (prompt plus the reply's reserve) the meter warns.
NEARLY_FULL = 0.8
_MANAGE = "\0manage"


class ChoicePicker(QComboBox):
    """Pick one of several keys; the last entry opens a management page."""

    chosen = Signal(str)
    manage_requested = Signal()

    def __init__(self, manage_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._manage_label = manage_label
        self._current: str | None = None
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.activated.connect(self._on_activated)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width() + self.fontMetrics().averageCharWidth() * 2, hint.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The choice elided with "…" when the picker is narrower than its text."""
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, field.width()
        )
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def set_choices(self, choices: list[tuple[str, str]], current: str | None) -> None:
        """Show `choices` with `current` selected (added as-is if it is not among them)."""
        with QSignalBlocker(self):
            self.clear()
            for key, label in choices:
                self.addItem(label, key)
            if current is not None and self.findData(current) < 0:
                self.insertItem(0, current, current)
            self.insertSeparator(self.count())
            self.addItem(self._manage_label, _MANAGE)
            self._current = current
            self._select(current)

    def current_key(self) -> str | None:
        return self._current

    def keys(self) -> list[str]:
        return [
            str(self.itemData(i))
            for i in range(self.count())
            if self.itemData(i) not in (None, _MANAGE)
        ]

    def choose(self, key: str) -> None:
        """Select `key` as a person would (emits `chosen` when it changes)."""
        index = self.findData(key)
        if index >= 0:
            self.setCurrentIndex(index)
            self._on_activated(index)

    def open_manager(self) -> None:
        self.choose(_MANAGE)

    def _select(self, key: str | None) -> None:
        index = self.findData(key) if key is not None else -1
        self.setCurrentIndex(index if index >= 0 else 0)

    def _on_activated(self, index: int) -> None:
        key = self.itemData(index)
        if key == _MANAGE:
            with QSignalBlocker(self):
                self._select(self._current)
            self.manage_requested.emit()
        elif isinstance(key, str) and key != self._current:
            self._current = key
            self.chosen.emit(key)


class ContextMeter(QLabel):
    """'1,234 / 4,096 tokens' for the next request, with warnings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextMeter")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_budget(None)

    def set_budget(self, budget: ContextBudget | None) -> None:
        if budget is None:
            self.setText("")
            self.setToolTip("")
            self._set_level("ok")
            return
        if budget.error is not None:
            self.setText("Too long for this model")
            self.setToolTip(budget.error)
            self._set_level("error")
            return
        used = f"{budget.prompt_tokens:,} / {budget.n_ctx:,} tokens"
        if budget.left_out:
            used += f" · {budget.left_out} earlier left out"
        if budget.note is not None:
            used += " · prompt shortened" if "shortened" in budget.note else " · prompt left out"
        self.setText(used)
        self.setToolTip(
            f"The next request takes {budget.prompt_tokens:,} tokens of this model's "
            f"{budget.n_ctx:,}-token context window, and keeps {budget.reserve:,} for the "
            "reply."
            + (
                f" The {budget.left_out} oldest messages no longer fit and are not sent."
                if budget.left_out
                else ""
            )
            + ("" if budget.note is None else f" {budget.note}")
        )
        full = budget.left_out > 0 or budget.note is not None or budget.fraction >= NEARLY_FULL
        self._set_level("full" if full else "ok")

    def level(self) -> str:
        return str(self.property("level"))

    def _set_level(self, level: str) -> None:
        if self.property("level") != level:
            self.setProperty("level", level)
            self.style().unpolish(self)
            self.style().polish(self)
