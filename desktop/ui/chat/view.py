"""The conversation view: message bubbles in a scrolled column, with an empty-state hint.

User messages sit in tinted bubbles on the right, assistant replies on the left (see
`desktop.ui.chat.bubble`), each with its actions underneath. The view is virtual: it keeps
every message's text, but only the messages on screen plus a margin of about a screen
above and below exist as widgets; the others have a height (estimated from their text
until they have been shown, see `desktop.ui.chat.rows`), so opening or scrolling a chat
of 5,000 messages costs what a chat of ten does. A conversation opens at its end, with
only its newest messages read; when the screen comes within `LOAD_SCREENS` of the first
message read, `older_wanted` asks for the messages above it, and `prepend_messages` adds
them without moving what is on screen. When a message's real height differs from its
estimate the row at the top of the screen stays where it is. The last reply can be
updated while it streams (block by block, at a frame rate that adapts to what rendering
costs); the view stays scrolled to the bottom while text grows unless the user has
scrolled up to read.

Signals (positions are places in the whole branch, `MessageItem.position`):
    edit_submitted(int, str), regenerate_requested(int), continue_requested(int),
    version_requested(int, int), copied(), older_wanted(),
    source_requested(Cited, int) (a reply's sources and the number of the one clicked)
Tab goes through the messages that exist as widgets in screen order (each message's text,
then its actions), after the view itself and before what follows it; a message the
keyboard reaches is scrolled into sight (`tab_stops()` lists them for the window's chain).
`set_left_out(n)` dims the first `n` messages (the model no longer sees them: the chat has
outgrown its context window) and puts a note under the last of them.
Thread: GUI thread only.
"""

from __future__ import annotations

import dataclasses
import time
from bisect import bisect_left

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.markdown import MarkdownRenderer
from desktop.chat.session import MessageItem
from desktop.ui.chat.bubble import MessageBubble
from desktop.ui.chat.message_row import MessageRow
from desktop.ui.chat.row_column import RowColumn
from desktop.ui.chat.rows import estimate_height

#: The widest a user bubble gets, as a fraction of the view.
USER_BUBBLE_FRACTION = 0.75
#: The widest an assistant reply gets, in pixels (a comfortable reading measure).
READING_WIDTH = 860
#: How long a message found by search stays highlighted.
HIGHLIGHT_MS = 2000
#: Streaming frames: at least this far apart, and spaced so that the GUI thread's CPU time
#: while a reply streams (frames, painting, tokens arriving) stays within `STREAM_CPU_SHARE`
#: of one core: on a laptop the model's threads use every core, and each millisecond the
#: GUI thread takes from them is a millisecond the reply waits.
MIN_FRAME_MS = 66
MAX_FRAME_MS = 400
STREAM_CPU_SHARE = 0.03
#: Older messages are asked for when the screen is this many screens from the first one.
LOAD_SCREENS = 2.0
#: Room left above or below a message the keyboard reaches (pixels).
REVEAL_MARGIN = 12
LEFT_OUT_NOTE = (
    "↑ {n} earlier messages are not sent to the model: this chat is longer than its "
    "context window. The assistant's instructions and examples are kept while they fit."
)


class ChatView(RowColumn):
    """Shows the conversation; rebuild, append, stream into the last reply, focus."""

    edit_submitted = Signal(int, str)
    regenerate_requested = Signal(int)
    continue_requested = Signal(int)
    version_requested = Signal(int, int)
    copied = Signal()
    source_requested = Signal(object, int)
    older_wanted = Signal()

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._items: list[MessageItem] = []
        self._indexes: list[int] = []  # branch position of each row
        self._streaming: int | None = None  # the row of the reply being streamed
        self._actions_enabled = True
        self._left_out = 0
        self._older_asked = False
        self._highlighted: int | None = None
        self._pending_text: str | None = None
        self._frame_ms = float(MIN_FRAME_MS)
        self._last_frame = 0.0
        self._last_frame_cpu = 0.0  # the GUI thread's CPU clock at the last frame
        self._chained: list[QWidget] = []  # the tab stops in the order last set
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._render_frame)
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.viewport().setObjectName("chatContainer")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.empty_state = self._make_empty_state()
        self.left_out_note = QLabel(self.viewport())
        self.left_out_note.setObjectName("leftOutNote")
        self.left_out_note.setWordWrap(True)
        self.left_out_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.left_out_note.hide()

    # --- queries (also used by tests) --------------------------------------------------

    @property
    def bubbles(self) -> list[MessageBubble]:
        """The bubbles that exist now (the messages on screen and near it), oldest first."""
        return [self._rows[row].bubble for row in sorted(self._rows)]

    def messages(self) -> list[tuple[str, str]]:
        """(role, text) of every message shown, oldest first."""
        return [(item.role, item.content) for item in self._items]

    def bubble_at(self, index: int) -> MessageBubble | None:
        """The bubble of the message at branch position `index` (None if it has none now)."""
        row = self._row_of(index)
        widget = self._rows.get(row) if row is not None else None
        return widget.bubble if widget is not None else None

    @property
    def left_out(self) -> int:
        """How many messages at the top are marked as not sent to the model."""
        return self._left_out

    def tab_stops(self) -> list[QWidget]:
        """The widgets Tab visits in the messages, in screen order."""
        return [stop for row in sorted(self._rows) for stop in self._rows[row].bubble.tab_stops()]

    def is_left_out(self, index: int) -> bool:
        return self._row_of(index) is not None and index < self._left_out

    # --- updates -----------------------------------------------------------------------

    def set_messages(self, items: list[MessageItem]) -> None:
        """Show exactly `items` (a branch), from its end: failed replies without text are
        left out."""
        self._drop_rows(set(self._rows))
        self._items, self._indexes = _shown(items)
        self._older_asked = False
        self._streaming = next(
            (row for row, item in enumerate(self._items) if item.status == "streaming"), None
        )
        self._highlighted = None
        self._geometry.reset(self._estimate(self._items))
        self._follow = True
        self._layout_rows()

    def prepend_messages(self, items: list[MessageItem]) -> None:
        """Add older messages above the first one; what is on screen does not move."""
        older, indexes = _shown(items)
        self._older_asked = False
        if not older:
            return
        self._items[:0], self._indexes[:0] = older, indexes
        if self._streaming is not None:
            self._streaming += len(older)
        self._insert_above(self._estimate(older))
        self._place_note()

    def append_message(self, item: MessageItem, index: int | None = None) -> MessageBubble:
        """Add a message. A `streaming` reply becomes the one `set_streaming_text` updates."""
        if index is None and item.position >= 0:
            index = item.position
        if index is None:
            index = self._indexes[-1] + 1 if self._indexes else 0
        self._items.append(item)
        self._indexes.append(index)
        self._geometry.append(self._estimate([item])[0])
        row = len(self._items) - 1
        if item.status == "streaming":
            self._streaming = row
            self._frame_ms, self._last_frame_cpu = float(MIN_FRAME_MS), 0.0
        if item.role == "user":
            self._follow = True
        self._layout_rows()
        return self._rows[row].bubble if row in self._rows else self._create(row).bubble

    def set_streaming_text(self, text: str) -> None:
        """Replace the text of the reply being streamed (its Markdown so far).

        Frames are spaced by what they cost: the newest text is shown at the next frame."""
        if self._streaming is None:
            return
        self._pending_text = text
        wait = self._frame_ms - (time.monotonic() - self._last_frame) * 1000
        if wait <= 0:
            self._render_frame()
        elif not self._frame_timer.isActive():
            self._frame_timer.start(int(wait) + 1)

    def finish_message(self, item: MessageItem) -> None:
        """The streaming reply is final: its status, versions and actions are updated.

        A failed reply without text is removed; a stopped one without text says so."""
        self._frame_timer.stop()
        self._pending_text = None
        row, self._streaming = self._streaming, None
        if row is None:
            row = len(self._items) - 1 if self._items else None
        if row is None:
            return
        if not item.content and item.status == "error":
            self._remove(row)
            return
        self._items[row] = item
        widget = self._rows.get(row)
        if widget is not None:
            widget.bubble.update_item(item)
            if not item.content:
                widget.bubble.show_stopped_placeholder()
        self._layout_rows()

    def set_left_out(self, count: int) -> None:
        """Mark the first `count` messages as left out of the model's context (greyed)."""
        self._left_out = max(0, count)
        for row, widget in self._rows.items():
            widget.set_left_out(self._indexes[row] < self._left_out)
        self._place_note()
        self._layout_rows()

    def set_actions_enabled(self, enabled: bool) -> None:
        self._actions_enabled = enabled
        for widget in self._rows.values():
            widget.bubble.set_actions_enabled(enabled)

    def focus_message(self, index: int) -> None:
        """Scroll to the message at `index` and highlight it for a moment."""
        row = self._row_of(index)
        if row is None:
            return
        self._follow = False
        self._highlighted = index
        self._pin = (row, 40)  # rows above it may change height: it stays 40 px down
        self._scroll_to(self._geometry.top(row) - 40)
        self._pin = None
        widget = self._rows.get(row)
        if widget is not None:
            widget.bubble.setProperty("highlighted", True)
            _restyle(widget.bubble)

        def unhighlight() -> None:
            if self._highlighted != index:
                return
            self._highlighted = None
            current = self.bubble_at(index)
            if current is not None:
                current.setProperty("highlighted", False)
                _restyle(current)

        QTimer.singleShot(HIGHLIGHT_MS, self, unhighlight)

    def clear(self) -> None:
        self._left_out = 0
        self.set_messages([])

    def rerender(self) -> None:
        """Render the messages on screen again (the theme's colours changed)."""
        if self._streaming is None:
            self._drop_rows(set(self._rows))
            self._layout_rows()

    # --- rows --------------------------------------------------------------------------

    def _row_of(self, index: int) -> int | None:
        row = bisect_left(self._indexes, index)  # branch positions grow along the rows
        return row if row < len(self._indexes) and self._indexes[row] == index else None

    def _create(self, row: int) -> MessageRow:
        item = self._items[row]
        reused = self._take_from_pool(item.role)
        if reused is not None:
            widget = reused
            widget.bubble.rebind(item, self._indexes[row])
            widget.set_tab_stops(True)
        else:
            widget = MessageRow(item, self._indexes[row], self._renderer, self.viewport())
            widget.focus_entered.connect(self._reveal)
            bubble = widget.bubble
            bubble.edit_submitted.connect(self.edit_submitted)
            bubble.version_requested.connect(self.version_requested)
            bubble.copied.connect(self.copied)
            bubble.source_requested.connect(self.source_requested)
            bubble.action_requested.connect(self._on_action)
        bubble = widget.bubble
        bubble.set_actions_enabled(self._actions_enabled)
        if row == self._streaming and item.content:
            bubble.set_streaming_text(item.content)
        elif not item.content and item.status == "cancelled":
            bubble.show_stopped_placeholder()
        widget.set_left_out(self._indexes[row] < self._left_out)
        if self._highlighted == self._indexes[row]:
            bubble.setProperty("highlighted", True)
            _restyle(bubble)
        self._rows[row] = widget
        if self._note_row() == row:
            widget.set_note(self.left_out_note)
        widget.ensurePolished()
        self._apply_widths(widget)
        if widget.isHidden():
            widget.show()
        return widget

    def _remove(self, row: int) -> None:
        """Remove one row (a failed reply without text); the rows after it move up."""
        if row in self._rows:
            self._drop_rows({row})
        del self._items[row]
        del self._indexes[row]
        self._geometry.remove(row)
        self._rows = {(r - 1 if r > row else r): w for r, w in self._rows.items()}
        if self._streaming is not None and self._streaming > row:
            self._streaming -= 1
        self._layout_rows()

    def _row_count(self) -> int:
        return len(self._items)

    def _laid_out(self, value: int, height: int) -> None:
        self._chain_tab_order()
        near_top = value < height * LOAD_SCREENS
        if near_top and self._indexes and self._indexes[0] > 0 and not self._older_asked:
            self._older_asked = True  # until the page arrives; asked after this pass
            QTimer.singleShot(0, self, self.older_wanted.emit)

    def _show_empty(self, empty: bool) -> None:
        self.empty_state.setGeometry(self.viewport().rect())
        self.empty_state.setVisible(empty)

    def _keep(self, row: int, widget: MessageRow) -> bool:
        """Rows kept however far they scroll: the streaming reply, an open editor, focus."""
        focus = QApplication.focusWidget()
        return (
            row == self._streaming
            or widget.bubble.editing
            or (focus is not None and widget.isAncestorOf(focus))
        )

    def _render_frame(self) -> None:
        text, self._pending_text = self._pending_text, None
        row = self._streaming
        if text is None or row is None:
            return
        cpu = time.thread_time()
        if self._last_frame_cpu:
            # All the GUI thread did since the last frame (that frame's painting included),
            # spread so that it stays within the share: a costly frame waits longer.
            spent_ms = (cpu - self._last_frame_cpu) * 1000
            wanted = spent_ms / STREAM_CPU_SHARE
            self._frame_ms = min(MAX_FRAME_MS, max(MIN_FRAME_MS, (self._frame_ms + wanted) / 2))
        self._last_frame_cpu = cpu
        self._items[row] = dataclasses.replace(self._items[row], content=text)
        widget = self._rows.get(row) or self._create(row)
        widget.bubble.set_streaming_text(text)
        self._geometry.set_height(row, widget.measure(self._row_width()))
        self._layout_rows()  # painting follows in the event loop, which lets the worker run
        self._last_frame = time.monotonic()

    def _chain_tab_order(self) -> None:
        """Tab goes from the view through the messages in screen order, then on to what
        followed the view (rows created later would come last in the window's chain)."""
        stops = self.tab_stops()
        if stops == self._chained:
            return
        self._chained = stops
        previous: QWidget = self
        for stop in stops:
            QWidget.setTabOrder(previous, stop)
            previous = stop

    def _reveal(self, widget: QWidget) -> None:
        """Scroll so that `widget` (in a message the keyboard reached) is on screen."""
        row = next((r for r, w in self._rows.items() if w.isAncestorOf(widget)), None)
        if row is None:
            return
        top = widget.mapTo(self.viewport(), QPoint(0, 0)).y()
        bottom, height = top + widget.height(), self.viewport().height()
        if top < REVEAL_MARGIN:
            delta = top - REVEAL_MARGIN
        elif bottom > height - REVEAL_MARGIN:
            delta = min(bottom - height + REVEAL_MARGIN, top - REVEAL_MARGIN)
        else:
            return
        bar = self.verticalScrollBar()
        self._follow = False
        # The row stays there while the rows above it are measured.
        self._pin = (row, self._rows[row].y() - delta)
        self._scroll_to(bar.value() + delta)
        self._pin = None
        self._follow = bar.value() >= bar.maximum()

    # --- left-out note -----------------------------------------------------------------

    def _note_row(self) -> int | None:
        """The row under which the left-out note sits (the last left-out message)."""
        row = bisect_left(self._indexes, self._left_out) - 1
        return row if row >= 0 else None

    def _place_note(self) -> None:
        wanted = self._note_row()
        for row, widget in self._rows.items():
            if row != wanted:
                self._take_note(widget)
        if wanted is None:
            return
        self.left_out_note.setText(LEFT_OUT_NOTE.format(n=self._indexes[wanted] + 1))
        holder = self._rows.get(wanted)
        if holder is not None:
            holder.set_note(self.left_out_note)
            self._geometry.set_height(wanted, holder.measure(self._row_width()))

    def _release(self, widget: MessageRow) -> None:
        self._take_note(widget)

    def _take_note(self, widget: MessageRow) -> None:
        if widget.note is not None:
            widget.set_note(None)
            self.left_out_note.setParent(self.viewport())
            self.left_out_note.hide()

    # --- sizes -------------------------------------------------------------------------

    def _estimate(self, items: list[MessageItem]) -> list[int]:
        metrics = self.fontMetrics()
        width = min(self._row_width(), READING_WIDTH)
        char_width, line_height = metrics.averageCharWidth() * 1.1, metrics.lineSpacing() + 3
        return [
            estimate_height(item.content, item.role == "user", width, char_width, line_height)
            for item in items
        ]

    def _apply_widths(self, widget: MessageRow) -> None:
        available = self._row_width()
        bubble = widget.bubble
        if bubble.role == "user":
            widest = int(available * USER_BUBBLE_FRACTION) - 28
            metrics = bubble.label.fontMetrics()
            natural = max(metrics.horizontalAdvance(line) for line in bubble.text.split("\n"))
            frame = bubble.label.contentsMargins()  # the focus ring's room
            natural += frame.left() + frame.right() + 4
            # As wide as the text needs (no early wrapping of short messages), up to `widest`.
            bubble.label.setMinimumWidth(min(natural, widest))
            bubble.label.setMaximumWidth(widest)
        else:
            bubble.setMaximumWidth(min(available, READING_WIDTH))
            bubble.action_bar.setMaximumWidth(min(available, READING_WIDTH))

    # --- events ------------------------------------------------------------------------

    def _on_action(self, name: str, index: int) -> None:
        if name == "regenerate":
            self.regenerate_requested.emit(index)
        elif name == "continue":
            self.continue_requested.emit(index)

    def _make_empty_state(self) -> QScrollArea:
        """ "How can I help?" (and what the window adds under it, in `empty_content`),
        scrolled rather than squeezed when large text does not fit."""
        area = QScrollArea(self.viewport())
        area.setObjectName("emptyState")
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its buttons take the focus
        area.setWidgetResizable(True)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        widget = QWidget()
        widget.setObjectName("emptyContent")
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
        area.setWidget(widget)
        self.empty_content = widget
        return area


def _shown(items: list[MessageItem]) -> tuple[list[MessageItem], list[int]]:
    """The items that get a row (not failed replies without text), and their positions."""
    shown = [(i, item) for i, item in enumerate(items) if item.content or item.status != "error"]
    return [item for _, item in shown], [
        item.position if item.position >= 0 else i for i, item in shown
    ]


def _restyle(widget: QWidget) -> None:
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
