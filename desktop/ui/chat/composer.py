"""The composer: the text box where the user writes a message.

Enter (or Return) submits, Shift+Enter inserts a new line, Escape asks to stop the
reply. The window's own shortcuts win over the editor's: Ctrl+K (which a text edit would
take as "delete to the end of the line") opens search. The box grows with its text up to
a few lines, then scrolls. It never clears itself: whoever handles `submitted` decides
whether the message was accepted.

Signals: submitted(str) with the full text, stop_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QWidget

PLACEHOLDER = "Ask anything — it stays on this computer"
MIN_LINES = 1
MAX_LINES = 6
#: Key combinations the composer leaves to the window's shortcuts.
WINDOW_SHORTCUTS = (QKeySequence("Ctrl+K"),)


class Composer(QPlainTextEdit):
    """A plain-text message editor that sends on Enter."""

    submitted = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setPlaceholderText(PLACEHOLDER)
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().setDocumentMargin(6)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination())
            if any(
                pressed.matches(s) == QKeySequence.SequenceMatch.ExactMatch
                for s in WINDOW_SHORTCUTS
            ):
                event.ignore()  # not ours: the window's shortcut gets it
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit(self.toPlainText())
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.stop_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Make the box as tall as its (wrapped) text, between MIN_LINES and MAX_LINES."""
        layout = self.document().documentLayout()
        lines = max(1, round(layout.documentSize().height()))
        if self.document().isEmpty():  # room for the placeholder (it wraps with large text)
            width = max(1, self.viewport().width() - 2 * int(self.document().documentMargin()))
            shown = self.fontMetrics().boundingRect(
                0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, self.placeholderText()
            )
            lines = max(lines, round(shown.height() / self.fontMetrics().lineSpacing()))
            # Emptied (a message sent): Qt repaints only where the text was, which would
            # leave the placeholder's later lines unpainted.
            self.viewport().update()
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if lines > MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        lines = min(max(lines, MIN_LINES), MAX_LINES)
        margins = self.contentsMargins()
        frame = 2 * int(self.document().documentMargin()) + margins.top() + margins.bottom()
        height = lines * self.fontMetrics().lineSpacing() + frame
        if height != self.height():
            self.setFixedHeight(height)
