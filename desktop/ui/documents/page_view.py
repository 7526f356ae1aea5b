"""The page of a PDF source, drawn with the question's words marked, under its passage.

`PageView` asks a `PageRenderer` (in the app: the document parser child, so PDFium never
parses the user's file in the window's process) for the page on a background thread; a
newer request makes an older answer be dropped. The image is made for the screen's pixel
ratio and scrolled to the first mark. A page that cannot be drawn says why in a line.

Thread: GUI thread only (the rendering runs on a `BackgroundTask`'s thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.core.errors import HearthError
from desktop.documents.parser import DocumentParser, PageImage
from desktop.ui.common.tasks import BackgroundTask

log = logging.getLogger(__name__)

#: (path, page, terms, width in pixels) -> the page drawn, or `DocumentError`.
PageRenderer = Callable[[Path, int, Sequence[str], int], PageImage]
MARK = QColor(255, 214, 10, 110)


class ParserPages:
    """A `PageRenderer` over one parser child of its own, one page at a time."""

    def __init__(self) -> None:
        self._parser: DocumentParser | None = None
        self._lock = threading.Lock()

    def __call__(self, path: Path, page: int, terms: Sequence[str], width: int) -> PageImage:
        with self._lock:
            if self._parser is None:
                self._parser = DocumentParser()
            return self._parser.render_page(path, page, terms, width)

    def close(self) -> None:
        with self._lock:
            parser, self._parser = self._parser, None
        if parser is not None:
            parser.close()


class PageView(QWidget):
    """See the module docstring. Signal: enlarge_requested() (the page was clicked)."""

    enlarge_requested = Signal()

    def __init__(
        self, renderer: PageRenderer, parent: QWidget | None = None, enlargeable: bool = True
    ) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._enlargeable = enlargeable
        self._asked = 0
        self._tasks: set[BackgroundTask] = set()
        self.note = QLabel()
        self.note.setObjectName("pageNote")
        self.note.setWordWrap(True)
        self.image = QLabel()
        self.image.setObjectName("pageImage")
        self.image.setAccessibleName("The page")
        self.image.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.image.installEventFilter(self)
        self.scroller = QScrollArea()
        self.scroller.setWidget(self.image)
        self.scroller.setWidgetResizable(False)
        self.scroller.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.note)
        column.addWidget(self.scroller, 1)
        self.first_mark_y: float | None = None
        self.hide()

    def show_page(self, path: Path, page: int, terms: Sequence[str], width: int) -> None:
        """Draw `page` of `path` `width` logical pixels wide (in the background)."""
        self._asked += 1
        asked, ratio = self._asked, self.devicePixelRatioF()
        self.note.setText(f"Page {page}: drawing…")
        self.image.clear()
        self.first_mark_y = None
        self.show()
        pixels = max(1, round(width * ratio))
        task = BackgroundTask(lambda: self._renderer(path, page, tuple(terms), pixels))
        self._tasks.add(task)
        task.succeeded.connect(lambda image: self._shown(asked, page, image, ratio))
        task.failed.connect(lambda error: self._failed(asked, error))
        task.finished.connect(lambda: self._tasks.discard(task))
        task.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        released = event.type() == QEvent.Type.MouseButtonRelease
        if watched is self.image and released and self._enlargeable and self.has_page():
            self.enlarge_requested.emit()
            return True
        return super().eventFilter(watched, event)

    def has_page(self) -> bool:
        pixmap = self.image.pixmap()
        return pixmap is not None and not pixmap.isNull()

    def clear(self) -> None:
        self._asked += 1
        self.hide()

    def _shown(self, asked: int, page: int, drawn: PageImage, ratio: float) -> None:
        if asked != self._asked:
            return
        image = QImage(
            drawn.rgb, drawn.width, drawn.height, 3 * drawn.width, QImage.Format.Format_RGB888
        ).copy()
        painter = QPainter(image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        for x, y, w, h in drawn.marks:
            painter.fillRect(round(x) - 1, round(y) - 1, round(w) + 2, round(h) + 2, MARK)
        painter.end()
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)
        self.image.resize(pixmap.deviceIndependentSize().toSize())
        count = drawn.found
        found = f", {count} word{'s' * (count != 1)} of your question marked" if count else ""
        self.note.setText(f"Page {page} of {drawn.pages}{found}")
        self.image.setToolTip("Click to see the page larger" if self._enlargeable else "")
        if drawn.marks:
            self.first_mark_y = drawn.marks[0][1] / ratio
            self.scroller.verticalScrollBar().setValue(max(0, round(self.first_mark_y) - 60))

    def _failed(self, asked: int, error: object) -> None:
        if asked != self._asked:
            return
        if not isinstance(error, HearthError):
            log.error("drawing a page failed: %r", error)
        self.image.clear()
        self.note.setText(
            str(error) if isinstance(error, HearthError) else "The page cannot be shown."
        )


class PageDialog(QDialog):
    """The page at a readable size (a click on the panel's page opens it)."""

    WIDTH = 860

    def __init__(self, renderer: PageRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Page")
        self.view = PageView(renderer, enlargeable=False)
        column = QVBoxLayout(self)
        column.addWidget(self.view)
        self.resize(self.WIDTH + 48, 900)

    def show_page(self, path: Path, page: int, terms: Sequence[str]) -> None:
        self.setWindowTitle(f"{path.name}, page {page}")
        self.view.show_page(path, page, terms, self.WIDTH)
        self.show()
        self.raise_()
