"""The search palette (Ctrl+K): full-text search over every message, as a command palette.

`SearchDialog` is a frameless popup centred over its parent window (modal to it), its
corners rounded by a mask (no translucent window, whose corners turn black on a desktop
without a compositor): a query
line, the matching messages (the conversation's title and a snippet with the hits
highlighted) and a status line. Typing searches after a short pause (`DEBOUNCE_MS`);
Up/Down/PageUp/PageDown move the selection while the focus stays in the query line; Enter
or a click opens the selected message; Esc, or switching to another window, closes it.

The search is injected: `search(query) -> list[SearchHit]` (e.g. `ConversationStore.search`).
A `HearthError` it raises (a damaged or locked database) is shown in the status line;
anything else is a bug and goes on to `sys.excepthook` after the status line says so.

`SearchResultsModel` holds the hits (named roles); `SearchHitDelegate` paints one hit: the
title in semibold on the first line, the snippet (rich text, at most two lines, elided) below,
in the colours of the view's palette (light or dark).

Signals of `SearchDialog`: result_chosen(conversation_id: int, message_id: int), emitted just
before the palette closes.
Thread: GUI thread only; `search` is called on it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QRegion,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.palette import DARK, LIGHT
from desktop.core.errors import HearthError
from desktop.storage.conversations import SearchHit
from desktop.ui.conversations.sidebar import UNTITLED

#: How long typing must pause before the query runs (milliseconds).
DEBOUNCE_MS = 120
PLACEHOLDER = "Search all conversations"
TYPE_TO_SEARCH = "Type to search"
KEYS_HINT = "↑↓ to move · Enter to open · Esc to close"
UNEXPECTED_FAILURE = "Search failed unexpectedly; the details were logged."
PALETTE_SIZE = QSize(640, 420)
#: The radius of the palette's corners (its frame's border-radius in `SEARCH_STYLE`).
CORNER_RADIUS = 10
SNIPPET_LINES = 2

SearchFunction = Callable[[str], Sequence[SearchHit]]
_Index = QModelIndex | QPersistentModelIndex
_MOVE_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}
_TAGS = re.compile(r"</?b>")


def plain_snippet(snippet_html: str) -> str:
    """A snippet's text without its `<b>` marks (for tooltips and screen readers)."""
    return html.unescape(_TAGS.sub("", snippet_html))


def _mix(front: QColor, back: QColor, amount: float) -> QColor:
    """`front` laid over `back` at opacity `amount`."""

    f = (front.redF(), front.greenF(), front.blueF())
    b = (back.redF(), back.greenF(), back.blueF())
    return QColor.fromRgbF(*(f[i] * amount + b[i] * (1 - amount) for i in range(3)))


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Text).lightness() > 128  # light text: dark theme


class SearchResultsModel(QAbstractListModel):
    """The hits of the last search, best first."""

    ConversationIdRole = Qt.ItemDataRole.UserRole + 1
    MessageIdRole = Qt.ItemDataRole.UserRole + 2
    TitleRole = Qt.ItemDataRole.UserRole + 3
    SnippetHtmlRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        hit = self.hit(index.row()) if index.isValid() else None
        if hit is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.title or UNTITLED
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleDescriptionRole):
            return plain_snippet(hit.snippet_html)
        return {
            self.ConversationIdRole: hit.conversation_id,
            self.MessageIdRole: hit.message_id,
            self.TitleRole: hit.title,
            self.SnippetHtmlRole: hit.snippet_html,
        }.get(role)

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names[self.ConversationIdRole] = QByteArray(b"conversationId")
        names[self.MessageIdRole] = QByteArray(b"messageId")
        names[self.TitleRole] = QByteArray(b"title")
        names[self.SnippetHtmlRole] = QByteArray(b"snippetHtml")
        return names

    def set_hits(self, hits: Sequence[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None


class SearchHitDelegate(QStyledItemDelegate):
    """Paints a hit: a semibold title line, then its snippet (two lines at most, hits marked)."""

    PAD_X, PAD_Y, GAP, INSET = 14, 8, 3, 6

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        title_height = QFontMetrics(self._title_font(option.font)).height()
        snippet_height = QFontMetrics(option.font).lineSpacing() * SNIPPET_LINES
        height = 2 * self.PAD_Y + title_height + self.GAP + snippet_height
        return QSize(max(option.rect.width(), 200), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        palette: QPalette = option.palette
        state = option.state
        rect: QRect = option.rect.adjusted(self.INSET, 1, -self.INSET, -1)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if state & (QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver):
            selected = bool(state & QStyle.StateFlag.State_Selected)
            tint = QColor(palette.color(QPalette.ColorRole.Highlight))
            tint.setAlphaF(0.22 if selected else 0.09)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            painter.drawRoundedRect(rect, 7, 7)
        inner = rect.adjusted(self.PAD_X - self.INSET, self.PAD_Y, -(self.PAD_X - self.INSET), 0)
        text = palette.color(QPalette.ColorRole.Text)
        title_font = self._title_font(option.font)
        metrics = QFontMetrics(title_font)
        title = metrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, inner.width())
        painter.setFont(title_font)
        painter.setPen(text)
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width(), metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            title,
        )
        snippet = str(index.data(SearchResultsModel.SnippetHtmlRole) or "")
        document = snippet_document(snippet, option.font, inner.width(), palette)
        top = inner.top() + metrics.height() + self.GAP
        height = rect.bottom() - top
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(
            QPalette.ColorRole.Text, _mix(text, palette.color(QPalette.ColorRole.Base), 0.72)
        )
        context.clip = QRectF(0, 0, inner.width(), height)
        painter.translate(inner.left(), top)
        painter.setClipRect(context.clip)
        document.documentLayout().draw(painter, context)
        painter.restore()

    @staticmethod
    def _title_font(font: QFont) -> QFont:
        title = QFont(font)
        title.setWeight(QFont.Weight.DemiBold)
        return title


def snippet_document(
    snippet_html: str, font: QFont, width: int, palette: QPalette
) -> QTextDocument:
    """The snippet laid out in `width`, hits marked, cut to `SNIPPET_LINES` lines with "…"."""
    dark = _is_dark(palette)
    colours = DARK if dark else LIGHT
    mark_back, mark_text = colours.highlight, colours.text
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(font)
    document.setDefaultStyleSheet(
        f"b {{ background-color: {mark_back}; color: {mark_text}; font-weight: 600; }}"
    )
    document.setHtml(snippet_html)
    document.setTextWidth(width)
    cut = _end_of_line(document, SNIPPET_LINES)
    if cut is None:
        return document
    cursor = QTextCursor(document)
    cursor.setPosition(cut)
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    cursor.removeSelectedText()
    while cursor.position() > 0 and document.characterAt(cursor.position() - 1).isspace():
        cursor.deletePreviousChar()
    cursor.insertText("…", QTextCharFormat())
    while _end_of_line(document, SNIPPET_LINES) is not None and cursor.position() > 1:
        cursor.setPosition(cursor.position() - 1)  # before the "…"
        cursor.deletePreviousChar()
        cursor.movePosition(QTextCursor.MoveOperation.End)
    return document


def _end_of_line(document: QTextDocument, lines: int) -> int | None:
    """The document position where line `lines` ends, or None if it has no more lines."""
    document.size()  # lays the document out
    seen = 0
    block = document.begin()
    while block.isValid():
        layout = block.layout()
        for number in range(layout.lineCount()):
            seen += 1
            if seen == lines + 1:
                return block.position() + layout.lineAt(number).textStart()
        block = block.next()
    return None


class SearchDialog(QDialog):
    """The search palette; see the module docstring."""

    result_chosen = Signal(int, int)

    def __init__(self, search: SearchFunction, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Dialog | Qt.WindowType.FramelessWindowHint)
        self._search = search
        self._was_active = False
        self.setObjectName("searchDialog")
        self.setWindowTitle("Search")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(PALETTE_SIZE)

        self.query_edit = QLineEdit()
        self.query_edit.setObjectName("searchQuery")
        self.query_edit.setPlaceholderText(PLACEHOLDER)
        self.query_edit.setAccessibleName(PLACEHOLDER)
        self.query_edit.setClearButtonEnabled(True)
        for clear in self.query_edit.findChildren(QToolButton):  # Qt's clear button
            clear.setToolTip("Clear the search")
            clear.setAccessibleName("Clear the search")
        self.query_edit.installEventFilter(self)
        self.query_edit.textChanged.connect(self._on_text_changed)
        self.query_edit.returnPressed.connect(self.choose_current)

        self.model = SearchResultsModel(self)
        self.results_view = QListView()
        self.results_view.setObjectName("searchResults")
        self.results_view.setAccessibleName("Search results")
        self.results_view.setModel(self.model)
        self.results_view.setItemDelegate(SearchHitDelegate(self.results_view))
        self.results_view.setUniformItemSizes(True)
        self.results_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the query
        self.results_view.setMouseTracking(True)
        self.results_view.setFrameShape(QFrame.Shape.NoFrame)
        self.results_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results_view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.results_view.clicked.connect(self._choose_index)
        self.results_view.activated.connect(self._choose_index)

        self.status_label = QLabel(TYPE_TO_SEARCH)
        self.status_label.setObjectName("searchStatus")
        self.status_label.setWordWrap(True)  # a long error message must not widen the palette
        self.keys_label = QLabel(KEYS_HINT)
        self.keys_label.setObjectName("searchKeys")
        self._layout()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_search)

    def _layout(self) -> None:
        frame = QFrame(self)
        frame.setObjectName("searchFrame")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        column = QVBoxLayout(frame)
        column.setContentsMargins(1, 1, 1, 1)
        column.setSpacing(0)
        column.addWidget(self.query_edit)
        separator = QFrame()
        separator.setObjectName("searchSeparator")
        separator.setFixedHeight(1)
        column.addWidget(separator)
        column.addSpacing(4)
        column.addWidget(self.results_view, 1)
        footer = QFrame()
        footer.setObjectName("searchFooter")
        row = QHBoxLayout(footer)
        row.setContentsMargins(14, 7, 14, 8)
        row.addWidget(self.status_label, 1)
        row.addWidget(self.keys_label)
        column.addWidget(footer)

    # --- commands -------------------------------------------------------------------------

    def open_with(self, query: str = "") -> None:
        """Show the palette over its parent with `query` (or the last one), all of it selected."""
        if query:
            self.query_edit.setText(query)
        self._place()
        self._was_active = False
        if self.isVisible():
            self.raise_()
        self.show()
        self.activateWindow()
        self.run_search()  # the stored messages may have changed since the last time
        self.query_edit.selectAll()
        self.query_edit.setFocus(Qt.FocusReason.PopupFocusReason)

    @Slot()
    def run_search(self) -> None:
        """Search for the query now (typing waits for a pause first)."""
        self._timer.stop()
        query = " ".join(self.query_edit.text().split())
        if not query:
            self._show([], TYPE_TO_SEARCH)
            return
        try:
            hits = self._search(query)
        except HearthError as error:
            self._show([], str(error), error=True)
            return
        except Exception:
            self._show([], UNEXPECTED_FAILURE, error=True)
            raise
        count = len(hits)
        if count:
            self._show(hits, f"{count} result" + ("" if count == 1 else "s"))
        else:
            self._show([], f"No conversation contains “{query}”")

    @Slot()
    def choose_current(self) -> None:
        """Open the selected hit (the first one if none is selected)."""
        if self._timer.isActive():
            self.run_search()  # Enter right after typing: search what was typed
        index = self.results_view.currentIndex()
        self._choose_index(index if index.isValid() else self.model.index(0))

    # --- internals ------------------------------------------------------------------------

    def _show(self, hits: Sequence[SearchHit], status: str, *, error: bool = False) -> None:
        self.model.set_hits(hits)
        if hits:
            self.results_view.setCurrentIndex(self.model.index(0))
            self.results_view.scrollToTop()
        self.status_label.setText(status)
        self.status_label.setProperty("error", error)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        if text.strip():
            self._timer.start()  # restarts: one search once typing pauses
        else:
            self._timer.stop()
            self._show([], TYPE_TO_SEARCH)

    @Slot(QModelIndex)
    def _choose_index(self, index: QModelIndex) -> None:
        hit = self.model.hit(index.row()) if index.isValid() else None
        if hit is None or not self.isVisible():  # a click's `activated` after `clicked`
            return
        self.result_chosen.emit(hit.conversation_id, hit.message_id)
        self.accept()

    def _place(self) -> None:
        parent = self.parentWidget()
        anchor = parent.window().frameGeometry() if parent is not None else None
        screen = (
            parent.screen() if parent is not None else None
        ) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)
        bounds = anchor if anchor is not None else area
        width = max(360, min(PALETTE_SIZE.width(), bounds.width() - 48))
        height = max(240, min(PALETTE_SIZE.height(), bounds.height() - 48))
        self.resize(width, height)
        x = bounds.center().x() - width // 2
        y = bounds.center().y() - height // 2
        x = max(area.left(), min(x, area.right() - width + 1))
        y = max(area.top(), min(y, area.bottom() - height + 1))
        self.move(x, y)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Round the corners by masking them off: nothing is drawn there at all."""
        super().resizeEvent(event)
        outline = QPainterPath()
        # A little tighter than the frame's curve, so the mask never eats its border.
        radius = CORNER_RADIUS - 2
        outline.addRoundedRect(QRectF(self.rect()), radius, radius)
        self.setMask(QRegion(outline.toFillPolygon().toPolygon()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.query_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _MOVE_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            QApplication.sendEvent(self.results_view, event)
            return True
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isVisible():
            if self.isActiveWindow():
                self._was_active = True
            elif self._was_active:  # the user went to another window: like a popup, close
                self.reject()

    def done(self, result: int) -> None:
        self._timer.stop()
        self._was_active = False  # losing the focus while closing must not reject it
        super().done(result)


SEARCH_STYLE = """
#searchDialog { background: $surface; }
#searchFrame { background: $surface; border: 1px solid $control_border; border-radius: 10px; }
QLineEdit#searchQuery, QLineEdit#searchQuery:focus { background: transparent; color: $text;
    border: none; font-size: $fs_large; padding: 12px 14px; }
#searchSeparator { background: $border; border: none; }
#searchResults, #searchResults:focus { background: $surface; border: none; }
#searchFooter { background: transparent; border-top: 1px solid $border; }
#searchStatus, #searchKeys { color: $muted; font-size: $fs_small; background: transparent; }
#searchStatus[error="true"] { color: $error_text; }
"""
