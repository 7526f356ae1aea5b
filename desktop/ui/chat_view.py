"""The conversation view: a scroll area of message bubbles, with an empty-state hint.

User messages are plain text in tinted bubbles on the right; assistant replies are
Markdown rendered to rich text (`desktop.ui.markdown`) on the left. The last assistant
bubble can be updated while it streams; the view stays scrolled to the bottom while text
grows unless the user has scrolled up to read.

No signals of its own. Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.markdown import MarkdownRenderer

#: The widest a user bubble gets, as a fraction of the view.
USER_BUBBLE_FRACTION = 0.75
#: The widest an assistant reply gets, in pixels (a comfortable reading measure).
READING_WIDTH = 860
#: How close to the bottom (pixels) still counts as "at the bottom".
FOLLOW_SLACK = 24
_THINKING_HTML = '<span style="color:#8a9099;">Thinking…</span>'
_STOPPED_HTML = '<span style="color:#8a9099;"><i>Stopped before any text.</i></span>'
#: The note under a stored reply that did not end normally, by its status.
STATUS_NOTES = {"incomplete": "(interrupted)", "cancelled": "(stopped)", "error": "(failed)"}


class MessageBubble(QFrame):
    """One message: a selectable label in a frame styled by its role."""

    def __init__(
        self, role: str, text: str, renderer: MarkdownRenderer, status: str = "complete"
    ) -> None:
        super().__init__()
        self.role = role
        self.status = status
        self._renderer = renderer
        self._text = ""
        self.setObjectName("userBubble" if role == "user" else "assistantBubble")
        self.label = QLabel()
        self.label.setObjectName("messageText")
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(False)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.label.setTextFormat(
            Qt.TextFormat.PlainText if role == "user" else Qt.TextFormat.RichText
        )
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        if role == "user":
            layout.setContentsMargins(14, 10, 14, 10)
        else:
            layout.setContentsMargins(2, 4, 2, 4)
            name = QLabel("Hearth")
            name.setObjectName("speakerName")
            layout.addWidget(name)
        layout.addWidget(self.label)
        self.status_note: QLabel | None = None
        note = STATUS_NOTES.get(status)
        if note is not None:
            self.status_note = QLabel(note)
            self.status_note.setObjectName("statusNote")
            layout.addWidget(self.status_note)
        self.set_text(text)

    @property
    def text(self) -> str:
        """The message as written (Markdown source for assistant replies)."""
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        if self.role == "user":
            self.label.setText(text)
        elif text:
            self.label.setText(self._renderer.render(text))
        else:
            self.label.setText(_THINKING_HTML)

    def show_stopped_placeholder(self) -> None:
        self.label.setText(_STOPPED_HTML)


class ChatView(QScrollArea):
    """Shows the conversation; append, stream into the last reply, clear."""

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._bubbles: list[MessageBubble] = []
        self._streaming: MessageBubble | None = None
        self._follow = True
        self.setObjectName("chatView")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        container = QWidget()
        container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(container)
        self._layout.setContentsMargins(28, 20, 28, 20)
        self._layout.setSpacing(14)
        self.empty_state = self._make_empty_state()
        self._layout.addWidget(self.empty_state, 1)
        self._layout.addStretch(0)
        # Let the scroll area size the container by height-for-width alone; the default
        # minimum (every label wrapped at its narrowest) would leave blank space below.
        self._layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)
        container.setMinimumHeight(1)
        self.setWidget(container)

        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # --- queries (also used by tests) --------------------------------------------------

    @property
    def bubbles(self) -> list[MessageBubble]:
        return list(self._bubbles)

    def messages(self) -> list[tuple[str, str]]:
        """(role, text) of every bubble, oldest first."""
        return [(bubble.role, bubble.text) for bubble in self._bubbles]

    @property
    def following(self) -> bool:
        """Whether the view keeps scrolling to the bottom as text arrives."""
        return self._follow

    # --- updates -----------------------------------------------------------------------

    def append_message(self, role: str, text: str, status: str = "complete") -> MessageBubble:
        """Add a bubble. An *empty* assistant bubble is a reply about to stream: it becomes
        the one `set_streaming_text` updates until `finish_streaming`. A stored reply
        whose `status` is not `complete` carries a note such as "(interrupted)"."""
        self.empty_state.hide()
        bubble = MessageBubble(role, text, self._renderer, status)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if role == "user":
            row.addStretch(1)
            row.addWidget(bubble)
        else:
            row.addWidget(bubble, 1)
            row.addStretch(0)
            if not text:
                self._streaming = bubble
        self._layout.insertLayout(self._layout.count() - 1, row)
        self._bubbles.append(bubble)
        self._apply_widths(bubble)
        if role == "user":
            self.scroll_to_bottom()
        return bubble

    def set_streaming_text(self, text: str) -> None:
        """Replace the text of the reply being streamed (its Markdown so far)."""
        if self._streaming is not None:
            self._streaming.set_text(text)

    def finish_streaming(self, failed: bool = False) -> None:
        """The reply is final; an empty one is removed (failed) or marked as stopped."""
        bubble, self._streaming = self._streaming, None
        if bubble is None or bubble.text:
            return
        if failed:
            self._remove(bubble)
        else:
            bubble.show_stopped_placeholder()

    def clear(self) -> None:
        for bubble in list(self._bubbles):
            self._remove(bubble)
        self._streaming = None
        self.empty_state.show()
        self._follow = True

    def scroll_to_bottom(self) -> None:
        self._follow = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # --- internals ---------------------------------------------------------------------

    def _make_empty_state(self) -> QWidget:
        widget = QWidget()
        widget.setObjectName("emptyState")
        layout = QVBoxLayout(widget)
        layout.addStretch(1)
        title = QLabel("How can I help?")
        title.setObjectName("emptyTitle")
        hint = QLabel(
            "Hearth runs a language model right here on this computer.\n"
            "Nothing you type is sent anywhere."
        )
        hint.setObjectName("emptyHint")
        for label in (title, hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            layout.addWidget(label)
        layout.addStretch(1)
        return widget

    def _remove(self, bubble: MessageBubble) -> None:
        self._bubbles.remove(bubble)
        for index in range(self._layout.count()):
            item = self._layout.itemAt(index)
            row = item.layout() if item is not None else None
            if row is not None and row.indexOf(bubble) >= 0:
                self._layout.takeAt(index)
                row.removeWidget(bubble)
                row.deleteLater()
                break
        bubble.hide()
        bubble.deleteLater()

    def _apply_widths(self, bubble: MessageBubble) -> None:
        available = max(200, self.viewport().width() - 56)
        if bubble.role == "user":
            widest = int(available * USER_BUBBLE_FRACTION) - 28
            metrics = bubble.label.fontMetrics()
            natural = max(metrics.horizontalAdvance(line) for line in bubble.text.split("\n"))
            # As wide as the text needs (no early wrapping of short messages), up to `widest`.
            bubble.label.setMinimumWidth(min(natural + 4, widest))
            bubble.label.setMaximumWidth(widest)
        else:
            bubble.setMaximumWidth(min(available, READING_WIDTH))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for bubble in self._bubbles:
            self._apply_widths(bubble)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - FOLLOW_SLACK
