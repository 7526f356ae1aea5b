"""A scrolled column of rows of which only those near the screen exist as widgets.

`RowColumn` is the virtual layout under the chat view: every row has a height in a
`RowGeometry` (an estimate until the row has been on screen), rows within
`MARGIN_SCREENS` of the screen are created (or taken from a pool of parked rows, which
costs a fraction of styling new widgets), measured and placed; rows more than twice that
far away are parked or deleted. When measured heights differ from their estimates, the
row at the top of the screen keeps its place; while `following`, the bottom stays in view.
Ctrl+Home / Ctrl+End go to the top / bottom (Page Up/Down and arrows scroll as usual).

Subclasses say how many rows there are and create them (`_row_count`, `_create`,
`_apply_widths`), and may keep rows alive (`_keep`) or tidy one before it goes
(`_release`). No signals. Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from desktop.ui.chat.message_row import MessageRow
from desktop.ui.chat.rows import RowGeometry

#: Left and right margin of the column.
SIDE_MARGIN = 28
#: How close to the bottom (pixels) still counts as "at the bottom".
FOLLOW_SLACK = 24
#: Rows exist this many screen heights above and below the screen (dropped beyond twice).
MARGIN_SCREENS = 1.0
#: Rows kept for reuse (per role) when they scroll away.
POOL_SIZE = 12
PARKED_Y = -100_000


class RowColumn(QAbstractScrollArea):
    """The virtual column; see the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._geometry = RowGeometry()
        self._rows: dict[int, MessageRow] = {}  # the rows that exist as widgets
        self._pool: dict[str, list[MessageRow]] = {"user": [], "assistant": []}
        self._follow = True
        self._pin: tuple[int, int] | None = None  # (row, y on screen) to hold while laying out
        self._laying_out = False
        self._layout_pending = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().setSingleStep(40)

    # --- for subclasses ----------------------------------------------------------------

    def _row_count(self) -> int:
        raise NotImplementedError

    def _create(self, row: int) -> MessageRow:
        raise NotImplementedError

    def _apply_widths(self, widget: MessageRow) -> None:
        raise NotImplementedError

    def _keep(self, row: int, widget: MessageRow) -> bool:
        """Whether `row` stays however far it scrolls away."""
        return False

    def _release(self, widget: MessageRow) -> None:
        """`widget` is about to be parked or deleted."""

    def _show_empty(self, empty: bool) -> None:
        """There are no rows (`empty`), or there are."""

    def _laid_out(self, value: int, height: int) -> None:
        """A layout pass ended with the screen at content height `value`."""

    def _take_from_pool(self, role: str) -> MessageRow | None:
        pool = self._pool.get(role)
        return pool.pop() if pool else None

    # --- the column --------------------------------------------------------------------

    @property
    def following(self) -> bool:
        """Whether the view keeps scrolling to the bottom as text arrives."""
        return self._follow

    def scroll_to_bottom(self) -> None:
        self._follow = True
        self._layout_rows()

    def _drop_rows(self, rows: set[int]) -> None:
        for row in rows:
            widget = self._rows.pop(row)
            self._release(widget)
            pool = self._pool.get(widget.bubble.role)
            if pool is not None and len(pool) < POOL_SIZE and not widget.bubble.editing:
                # Parked out of sight but not hidden: showing a widget again costs as
                # much as styling a new one. Out of the Tab order until it is reused.
                widget.set_tab_stops(False)
                widget.move(0, PARKED_Y)
                pool.append(widget)
            else:
                widget.hide()
                widget.deleteLater()

    def _layout_rows(self) -> None:
        """Create the rows near the screen, measure new ones, place them; drop far ones.

        When measured heights differ from their estimates, the row at the top of the
        screen keeps its place (or the bottom stays in view while following)."""
        if self._laying_out:
            return
        self._laying_out = True
        try:
            self._layout_pass()
        finally:
            self._laying_out = False

    def _layout_pass(self) -> None:
        geometry, bar = self._geometry, self.verticalScrollBar()
        count = self._row_count()
        self._show_empty(count == 0)
        if not count:
            bar.setRange(0, 0)
            return
        height = self.viewport().height()
        margin = int(height * MARGIN_SCREENS)
        for _attempt in range(6):
            value = bar.value()
            anchor = geometry.row_at(value)
            anchor_offset = geometry.top(anchor) - value
            if self._pin is not None:
                anchor, anchor_offset = self._pin
            first = geometry.row_at(value - margin)
            last = geometry.row_at(value + height + margin)
            changed = False
            for row in range(first, last + 1):
                widget = self._rows.get(row) or self._create(row)
                if not geometry.measured(row):
                    changed |= geometry.set_height(row, widget.measure(self._row_width())) != 0
            bar.setRange(0, max(0, geometry.total() - height))
            bar.setPageStep(height)
            if self._follow:
                bar.setValue(bar.maximum())
            else:
                bar.setValue(geometry.top(anchor) - anchor_offset)
            if not changed and bar.value() == value:
                break
        value = bar.value()
        low = geometry.row_at(value - 2 * margin)
        high = geometry.row_at(value + height + 2 * margin)
        far = {r for r, w in self._rows.items() if not low <= r <= high and not self._keep(r, w)}
        self._drop_rows(far)
        width = self._row_width()
        for row, widget in self._rows.items():
            widget.setGeometry(SIDE_MARGIN, geometry.top(row) - value, width, geometry.height(row))
        self._laid_out(value, height)

    def _insert_above(self, heights: list[int]) -> None:
        """Rows were added above the first: the rows on screen stay where they are."""
        geometry, bar = self._geometry, self.verticalScrollBar()
        value = bar.value()
        anchor = geometry.row_at(value) if len(geometry) else 0
        offset = geometry.top(anchor) - value if len(geometry) else 0
        geometry.prepend(heights)
        self._rows = {row + len(heights): widget for row, widget in self._rows.items()}
        self._laying_out = True
        try:
            bar.setRange(0, max(0, geometry.total() - self.viewport().height()))
            if not self._follow:
                bar.setValue(geometry.top(anchor + len(heights)) - offset)
        finally:
            self._laying_out = False
        self._pin = None if self._follow else (anchor + len(heights), offset)
        try:
            self._layout_rows()
        finally:
            self._pin = None

    def _schedule_layout(self) -> None:
        if not self._layout_pending:
            self._layout_pending = True
            QTimer.singleShot(0, self, self._deferred_layout)

    def _deferred_layout(self) -> None:
        self._layout_pending = False
        for row, widget in self._rows.items():
            height = widget.measure(self._row_width())
            if height != self._geometry.height(row):
                self._geometry.set_height(row, height)
        self._layout_rows()

    def _scroll_to(self, y: int) -> None:
        bar = self.verticalScrollBar()
        self._laying_out = True
        try:
            bar.setValue(max(0, min(y, bar.maximum())))
        finally:
            self._laying_out = False
        self._layout_rows()

    def _row_width(self) -> int:
        return max(200, self.viewport().width() - 2 * SIDE_MARGIN)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._geometry.forget_measures()
            for widget in self._rows.values():
                self._apply_widths(widget)
        self._layout_rows()

    def scrollContentsBy(self, _dx: int, _dy: int) -> None:
        if not self._laying_out:  # the user scrolled: follow only from the bottom
            bar = self.verticalScrollBar()
            self._follow = bar.value() >= bar.maximum() - FOLLOW_SLACK
        self._layout_rows()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self._schedule_layout()  # a row's content changed size (edit box, actions…)
        return super().viewportEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        control = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if event.key() == Qt.Key.Key_Home and control:
            self._follow = False
            self._scroll_to(0)
        elif event.key() == Qt.Key.Key_End and control:
            self.scroll_to_bottom()
        else:
            super().keyPressEvent(event)
