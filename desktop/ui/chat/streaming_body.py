"""The text of a reply while it is being written.

A streaming reply grows by a few words many times a second while the model's threads use
every core, so each update must cost little and the same early and late. Finished
Markdown blocks are appended to a text document once; only the open block (the paragraph
or code box being written) is replaced at each update. The document lays out only the
blocks that changed and the widget repaints only what moved or changed, where a label
would lay out and paint the whole reply again.

It shows no scroll bars and is as tall as its text (`heightForWidth`): the chat view
scrolls. Wheel events go to the chat view's scroll bar; links (a code box's Copy) are reported by
`link_activated(str)`. Thread: GUI thread only.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QFrame,
    QSizePolicy,
    QTextBrowser,
    QWidget,
)


class StreamingBody(QTextBrowser):
    """Rendered blocks appended once and an open block replaced; see the module docstring."""

    link_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("streamingText")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # it is replaced once the reply ends
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.viewport().setAutoFillBackground(False)
        # No box of its own (the app styles text editors with a border and padding): the
        # reply sits exactly where the finished message will.
        self.setStyleSheet(
            "QTextBrowser#streamingText { background: transparent; border: none; padding: 0; }"
        )
        self.document().setDocumentMargin(0)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._blocks: list[str] = []  # the finished blocks in the document
        self._tail_start = 0  # where the open block starts in the document
        self._tail = ""

    def show_blocks(self, blocks: list[str], tail: str) -> None:
        """Show finished `blocks` (HTML) then the open block `tail` (HTML)."""
        known = self._blocks
        same = len(blocks) >= len(known) and all(
            a is b or a == b for a, b in zip(known, blocks, strict=False)
        )
        if same and len(blocks) == len(known) and tail == self._tail:
            return
        cursor = QTextCursor(self.document())
        if not same:  # blocks changed (a code fence closed into one box): start over
            self.document().clear()
            self._blocks, self._tail_start = [], 0
        # The document: block, separator, block, ..., separator, open block. Only what
        # follows the last separator is taken out, so the blocks above are not laid out again.
        cursor.setPosition(self._tail_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        new = blocks[len(self._blocks) :]
        for number, block in enumerate(new):
            if number:
                self._separate(cursor)
            cursor.insertHtml(block)
        if new:
            self._separate(cursor)
            self._tail_start = cursor.position()
        self._blocks = list(blocks)
        if tail:
            cursor.insertHtml(tail)
        self._tail = tail
        self.updateGeometry()

    @staticmethod
    def _separate(cursor: QTextCursor) -> None:
        """A new block of its own: HTML inserted at the end of a list item or a quote would
        otherwise continue it."""
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())

    def clear_blocks(self) -> None:
        self.document().clear()
        self._blocks, self._tail_start, self._tail = [], 0, ""

    # --- size: as tall as the text -----------------------------------------------------

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        document = self.document()
        if document.textWidth() != width:
            document.setTextWidth(width)
        return math.ceil(document.size().height())

    def sizeHint(self) -> QSize:
        width = max(1, self.width())
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The chat view scrolls (its scroll bar takes the wheel), not this text."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is None:
            event.ignore()
        else:
            QApplication.sendEvent(parent.verticalScrollBar(), event)

    def _on_anchor(self, url: QUrl) -> None:
        self.link_activated.emit(url.toString())
