"""The side panel that shows one source of a reply: the passage, with the words of the
question highlighted, where it is (file, page, heading), for a PDF the page itself with
those words marked (`PageView`), and a button to open the file.

`open_file` opens a file with the system's application, `renderer` draws PDF pages
(injected; tests record them). Thread: GUI thread only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout

from desktop.chat.cited import Cited, highlight_spans
from desktop.chat.grounding import Source
from desktop.ui.documents.page_view import PageDialog, PageRenderer, PageView, ParserPages

PANEL_WIDTH = 360
MARGIN = 12
PAGE_SCROLLBAR = 18  # room for the page's scroll bar
MARK_OPEN = '<span style="background-color: #ffe066; color: #1a1a1a;">'


def marked_html(text: str, terms: tuple[str, ...]) -> str:
    """`text` as HTML with the words starting with `terms` highlighted (Qt's rich text
    has no <mark>: a span with a background)."""
    parts, at = [], 0
    for start, end in highlight_spans(text, terms):
        parts.append(html.escape(text[at:start]))
        parts.append(f"{MARK_OPEN}{html.escape(text[start:end])}</span>")
        at = end
    parts.append(html.escape(text[at:]))
    return "".join(parts).replace("\n", "<br>")


class SourcePanel(QFrame):
    """See the module docstring."""

    def __init__(
        self,
        open_file: Callable[[str], bool] | None = None,
        renderer: PageRenderer | None = None,
    ) -> None:
        super().__init__()
        self._open_file = open_file or open_with_system
        self._own_pages: ParserPages | None = None
        if renderer is None:
            renderer = self._own_pages = ParserPages()
        self._renderer = renderer
        self.page_view = PageView(renderer)
        self.page_view.enlarge_requested.connect(self.enlarge_page)
        self.page_dialog: PageDialog | None = None
        self._page: tuple[Path, int, tuple[str, ...]] | None = None
        self.setObjectName("sourcePanel")
        self.setFixedWidth(PANEL_WIDTH)
        self.source: Source | None = None
        self.passage_html = ""
        self.title = QLabel()
        self.title.setObjectName("sourceTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.where = QLabel()
        self.where.setObjectName("sourceWhere")
        self.where.setWordWrap(True)
        self.note = QLabel()
        self.note.setObjectName("sourceNote")
        self.note.setWordWrap(True)
        self.passage = QTextBrowser()
        self.passage.setObjectName("sourcePassage")
        self.passage.setAccessibleName("Passage")
        self.open_button = QPushButton("Open the file")
        self.open_button.clicked.connect(self._open)
        close = QPushButton("Close")
        close.clicked.connect(self.hide)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        column = QVBoxLayout(self)
        column.setContentsMargins(MARGIN, MARGIN, MARGIN, MARGIN)
        column.addWidget(self.title)
        column.addWidget(self.where)
        column.addWidget(self.passage, 1)
        column.addWidget(self.page_view, 3)
        column.addWidget(self.note)
        column.addLayout(buttons)
        self.hide()

    def show_source(self, cited: Cited, number: int) -> None:
        """Show source `number` of a reply's sources."""
        source = next((s for s in cited.sources if s.number == number), None)
        if source is None:
            return
        self.source = source
        self.title.setText(f"[{source.number}] {Path(source.path).name}")
        where = [f"page {source.page}"] if source.page else []
        if source.heading:
            where.append(source.heading)
        where.append(source.path)
        self.where.setText(" · ".join(where))
        self.passage_html = marked_html(source.text, cited.terms)
        self.passage.setHtml(self.passage_html)
        exists = Path(source.path).exists()
        self.open_button.setEnabled(exists)
        self.note.setText("" if exists else "The file is no longer there; its passage was kept.")
        if exists and source.page and Path(source.path).suffix.lower() == ".pdf":
            width = PANEL_WIDTH - 2 * MARGIN - PAGE_SCROLLBAR
            self._page = (Path(source.path), source.page, tuple(cited.terms))
            self.page_view.show_page(*self._page, width)
        else:
            self._page = None
            self.page_view.clear()
        self.show()

    def enlarge_page(self) -> None:
        """The page shown, at a readable size in a window of its own."""
        if self._page is None:
            return
        if self.page_dialog is None:
            self.page_dialog = PageDialog(self._renderer, self.window())
        self.page_dialog.show_page(*self._page)

    def close_pages(self) -> None:
        """End the child that draws PDF pages (when the window closes)."""
        if self._own_pages is not None:
            self._own_pages.close()

    def _open(self) -> None:
        source = self.source
        if source is not None and not self._open_file(source.path):
            self.note.setText(f"No application on this computer opens “{Path(source.path).name}”.")


def open_with_system(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))
