"""One row of the chat view: a message's bubble with its actions under it (and the
left-out note, when it is the last message the model no longer sees).

The row shows when its message was written while the pointer is over it or the focus is
in it, and tells the view when the keyboard moved the focus into it (so the view can
scroll it into sight). A row parked for reuse is taken out of the Tab order
(`set_tab_stops(False)`).

Signals: focus_entered(QWidget): Tab or Shift+Tab put the focus on that widget of the row.
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QEnterEvent, QFocusEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.chat.items import MessageItem
from desktop.chat.markdown import MarkdownRenderer
from desktop.ui.chat.bubble import MessageBubble

_KEYBOARD = (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)


class MessageRow(QWidget):
    """A message and its actions; see the module docstring."""

    focus_entered = Signal(QWidget)

    def __init__(
        self,
        item: MessageItem,
        index: int,
        renderer: MarkdownRenderer,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bubble = MessageBubble(item, index, renderer, self)
        self.note: QLabel | None = None
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(2)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        if item.role == "user":
            line.addStretch(1)
            line.addWidget(self.bubble)
        else:
            line.addWidget(self.bubble, 1)
            line.addStretch(0)
        self._column.addLayout(line)
        self._column.addWidget(self.bubble.action_bar)
        self._hovered = False
        self._focused = False
        self._policies = {widget: widget.focusPolicy() for widget in self.bubble.tab_stops()}
        for widget in self._policies:
            widget.installEventFilter(self)

    def measure(self, width: int) -> int:
        """The row's height at `width` (its text wrapped to fit)."""
        self._column.activate()
        height = self.heightForWidth(width) if self.hasHeightForWidth() else -1
        return height if height > 0 else self.sizeHint().height()

    def set_left_out(self, left_out: bool) -> None:
        if bool(self.property("leftOut")) != left_out:
            self.setProperty("leftOut", left_out)
            for widget in (self, *self.findChildren(QWidget)):
                style = widget.style()
                style.unpolish(widget)
                style.polish(widget)

    def set_note(self, note: QLabel | None) -> None:
        """Show `note` under this row (None: take the current one out)."""
        if self.note is not None:
            self._column.removeWidget(self.note)
        self.note = note
        if note is not None:
            note.setParent(self)
            self._column.addWidget(note)
            note.show()

    # --- focus and hover -----------------------------------------------------------------

    def set_tab_stops(self, on: bool) -> None:
        """Put the row's text and actions in the Tab order, or take them out (parked)."""
        for widget, policy in self._policies.items():
            widget.setFocusPolicy(policy if on else Qt.FocusPolicy.NoFocus)
        if not on:
            self._hovered = self._focused = False
            self.bubble.set_time_shown(False)

    def enterEvent(self, event: QEnterEvent) -> None:
        super().enterEvent(event)
        self._hovered = True
        self.bubble.set_time_shown(True)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self._hovered = False
        self.bubble.set_time_shown(self._focused)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self._focused = kind == QEvent.Type.FocusIn
            self.bubble.set_time_shown(self._focused or self._hovered)
            if (
                self._focused
                and isinstance(event, QFocusEvent)
                and event.reason() in _KEYBOARD
                and isinstance(watched, QWidget)
            ):
                self.focus_entered.emit(watched)
        return super().eventFilter(watched, event)
