"""The conversation view: a scroll area of message bubbles, with an empty-state hint.

User messages sit in tinted bubbles on the right, assistant replies on the left (see
`desktop.ui.bubble`), each with its actions underneath. The last reply can be updated
while it streams; the view stays scrolled to the bottom while text grows unless the
user has scrolled up to read.

Signals (positions are indexes into the branch shown, as the controller counts them):
    edit_submitted(int, str), regenerate_requested(int), continue_requested(int),
    version_requested(int, int), copied()
`set_left_out(n)` dims the first `n` messages (the model no longer sees them: the chat has
outgrown its context window) and puts a note under the last of them.
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.bubble import MessageBubble
from desktop.ui.markdown import MarkdownRenderer
from desktop.ui.session import MessageItem

#: The widest a user bubble gets, as a fraction of the view.
USER_BUBBLE_FRACTION = 0.75
#: The widest an assistant reply gets, in pixels (a comfortable reading measure).
READING_WIDTH = 860
#: How close to the bottom (pixels) still counts as "at the bottom".
FOLLOW_SLACK = 24
#: How long a message found by search stays highlighted.
HIGHLIGHT_MS = 2000
LEFT_OUT_NOTE = (
    "↑ {n} earlier messages are not sent to the model: this chat is longer than its "
    "context window. The assistant's instructions and examples are kept while they fit."
)


class ChatView(QScrollArea):
    """Shows the conversation; rebuild, append, stream into the last reply, focus."""

    edit_submitted = Signal(int, str)
    regenerate_requested = Signal(int)
    continue_requested = Signal(int)
    version_requested = Signal(int, int)
    copied = Signal()

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._bubbles: list[MessageBubble] = []
        self._rows: dict[MessageBubble, QWidget] = {}
        self._streaming: MessageBubble | None = None
        self._follow = True
        self._actions_enabled = True
        self._left_out = 0
        self.setObjectName("chatView")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        container = QWidget()
        container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(container)
        self._layout.setContentsMargins(28, 20, 28, 20)
        self._layout.setSpacing(10)
        self.empty_state = self._make_empty_state()
        self._layout.addWidget(self.empty_state, 1)
        self._layout.addStretch(0)
        # Let the scroll area size the container by height-for-width alone; the default
        # minimum (every label wrapped at its narrowest) would leave blank space below.
        self._layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)
        container.setMinimumHeight(1)
        self.left_out_note = QLabel()
        self.left_out_note.setObjectName("leftOutNote")
        self.left_out_note.setWordWrap(True)
        self.left_out_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.left_out_note.hide()
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

    def bubble_at(self, index: int) -> MessageBubble | None:
        """The bubble of the message at branch position `index` (None if not shown)."""
        return next((b for b in self._bubbles if b.index == index), None)

    @property
    def left_out(self) -> int:
        """How many messages at the top are marked as not sent to the model."""
        return self._left_out

    def is_left_out(self, index: int) -> bool:
        bubble = self.bubble_at(index)
        return bubble is not None and bool(self._rows[bubble].property("leftOut"))

    @property
    def following(self) -> bool:
        """Whether the view keeps scrolling to the bottom as text arrives."""
        return self._follow

    # --- updates -----------------------------------------------------------------------

    def set_messages(self, items: list[MessageItem]) -> None:
        """Show exactly `items` (a branch): failed replies without text are left out."""
        self.clear()
        for index, item in enumerate(items):
            if item.content or item.status != "error":
                self.append_message(item, index)
        self.scroll_to_bottom()

    def append_message(self, item: MessageItem, index: int | None = None) -> MessageBubble:
        """Add a bubble. A `streaming` reply becomes the one `set_streaming_text` updates."""
        self.empty_state.hide()
        if index is None:
            index = self._bubbles[-1].index + 1 if self._bubbles else 0
        bubble = MessageBubble(item, index, self._renderer)
        bubble.edit_submitted.connect(self.edit_submitted)
        bubble.version_requested.connect(self.version_requested)
        bubble.copied.connect(self.copied)
        bubble.action_requested.connect(self._on_action)
        bubble.set_actions_enabled(self._actions_enabled)
        self._layout.insertWidget(self._layout.count() - 1, self._make_row(bubble))
        self._bubbles.append(bubble)
        if item.status == "streaming":
            self._streaming = bubble
        elif not item.content and item.status == "cancelled":
            bubble.show_stopped_placeholder()
        self._apply_widths(bubble)
        if item.role == "user":
            self.scroll_to_bottom()
        return bubble

    def set_streaming_text(self, text: str) -> None:
        """Replace the text of the reply being streamed (its Markdown so far)."""
        if self._streaming is not None:
            self._streaming.set_text(text)

    def finish_message(self, item: MessageItem) -> None:
        """The streaming reply is final: its status, versions and actions are updated.

        A failed reply without text is removed; a stopped one without text says so."""
        bubble, self._streaming = self._streaming, None
        if bubble is None:
            bubble = self._bubbles[-1] if self._bubbles else None
        if bubble is None:
            return
        bubble.update_item(item)
        if not item.content:
            if item.status == "error":
                self._remove(bubble)
            else:
                bubble.show_stopped_placeholder()

    def set_left_out(self, count: int) -> None:
        """Mark the first `count` messages as left out of the model's context (greyed)."""
        self._left_out = max(0, count)
        self._layout.removeWidget(self.left_out_note)
        self.left_out_note.hide()
        last_row: QWidget | None = None
        for bubble in self._bubbles:
            row = self._rows[bubble]
            dim = bubble.index < self._left_out
            if bool(row.property("leftOut")) != dim:
                row.setProperty("leftOut", dim)
                for widget in (row, *row.findChildren(QWidget)):
                    self._restyle(widget)
            if dim:
                last_row = row
        if last_row is not None:
            hidden = sum(1 for b in self._bubbles if b.index < self._left_out)
            self.left_out_note.setText(LEFT_OUT_NOTE.format(n=hidden))
            self._layout.insertWidget(self._layout.indexOf(last_row) + 1, self.left_out_note)
            self.left_out_note.show()

    def set_actions_enabled(self, enabled: bool) -> None:
        self._actions_enabled = enabled
        for bubble in self._bubbles:
            bubble.set_actions_enabled(enabled)

    def focus_message(self, index: int) -> None:
        """Scroll to the message at `index` and highlight it for a moment."""
        bubble = self.bubble_at(index)
        if bubble is None:
            return
        self._follow = False
        row = self._rows[bubble]
        # Timers with a context object die with it: a view or bubble closed meanwhile is fine.
        QTimer.singleShot(0, row, lambda: self.ensureWidgetVisible(row, 0, 40))
        bubble.setProperty("highlighted", True)
        self._restyle(bubble)

        def unhighlight() -> None:
            bubble.setProperty("highlighted", False)
            self._restyle(bubble)

        QTimer.singleShot(HIGHLIGHT_MS, bubble, unhighlight)

    def clear(self) -> None:
        self.set_left_out(0)
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

    def _make_row(self, bubble: MessageBubble) -> QWidget:
        row = QWidget()
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        if bubble.role == "user":
            line.addStretch(1)
            line.addWidget(bubble)
        else:
            line.addWidget(bubble, 1)
            line.addStretch(0)
        column.addLayout(line)
        column.addWidget(bubble.action_bar)
        self._rows[bubble] = row
        return row

    def _on_action(self, name: str, index: int) -> None:
        if name == "regenerate":
            self.regenerate_requested.emit(index)
        elif name == "continue":
            self.continue_requested.emit(index)

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)

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
        if bubble is self._streaming:
            self._streaming = None
        row = self._rows.pop(bubble)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()

    def _apply_widths(self, bubble: MessageBubble) -> None:
        available = max(200, self.viewport().width() - 56)
        if bubble.role == "user":
            widest = int(available * USER_BUBBLE_FRACTION) - 28
            bubble.label.ensurePolished()  # measure in the style sheet's font, not the default
            metrics = bubble.label.fontMetrics()
            natural = max(metrics.horizontalAdvance(line) for line in bubble.text.split("\n"))
            # As wide as the text needs (no early wrapping of short messages), up to `widest`.
            bubble.label.setMinimumWidth(min(natural + 4, widest))
            bubble.label.setMaximumWidth(widest)
        else:
            bubble.setMaximumWidth(min(available, READING_WIDTH))
            bubble.action_bar.setMaximumWidth(min(available, READING_WIDTH))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for bubble in self._bubbles:
            self._apply_widths(bubble)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - FOLLOW_SLACK
