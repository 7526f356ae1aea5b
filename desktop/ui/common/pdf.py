"""Rich text to PDF with Qt's own `QTextDocument` and `QPdfWriter` (no other dependency).

`write_pdf(html, title)` lays the document out on A4 pages and draws each page with the
title in the header and "Page N of M" in the footer. The window calls it directly; the
command line (which never imports Qt) runs it in a child process: `child_main` reads
`{"title", "html"}` as JSON on stdin and writes the PDF's bytes to stdout, on Qt's offscreen
platform, so no display is needed.

Thread: the thread that owns the QGuiApplication (the GUI thread, or the child's main).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)

RESOLUTION = 144  # dots per inch of the PDF's layout: text is vector, this sets the grid
MARGINS_MM = QMarginsF(18, 16, 18, 16)
BAND_MM = 9.0  # the header's and the footer's height, inside the margins


def write_pdf(html: str, title: str) -> bytes:
    """The PDF of `html` (Qt's rich-text subset), titled `title`, as bytes."""
    with tempfile.TemporaryDirectory(prefix="hearth-pdf-") as folder:
        path = Path(folder) / "export.pdf"
        _paint(html, title, path)
        return path.read_bytes()


def _paint(html: str, title: str, path: Path) -> int:
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setTitle(title)
    writer.setCreator("Hearth")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            MARGINS_MM,
            QPageLayout.Unit.Millimeter,
        )
    )
    area = writer.pageLayout().paintRectPixels(RESOLUTION)
    band = BAND_MM / 25.4 * RESOLUTION
    body = QSizeF(area.width(), area.height() - 2 * band)
    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)
    font = QFont()
    font.setPointSizeF(10.5)
    document.setDefaultFont(font)
    document.setHtml(html)
    document.setPageSize(body)
    pages = max(1, document.pageCount())
    painter = QPainter(writer)
    small = QFont(font)
    small.setPointSizeF(8.5)
    try:
        for page in range(pages):
            if page:
                writer.newPage()
            painter.save()
            painter.translate(0, band)
            painter.setClipRect(QRectF(0, 0, body.width(), body.height()))
            painter.translate(0, -page * body.height())
            document.drawContents(
                painter, QRectF(0, page * body.height(), body.width(), body.height())
            )
            painter.restore()
            painter.setFont(small)
            painter.setPen(Qt.GlobalColor.darkGray)
            header = QRectF(0, 0, area.width(), band * 0.8)
            painter.drawText(header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
            footer = QRectF(0, area.height() - band * 0.8, area.width(), band * 0.8)
            painter.drawText(
                footer,
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                f"Page {page + 1} of {pages}",
            )
    finally:
        painter.end()
    return pages


def child_main(argv: Sequence[str] = ()) -> int:
    """`hearth __html-to-pdf`: JSON {"title", "html"} on stdin, the PDF's bytes on stdout."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        html, title = str(request["html"]), str(request["title"])
    except (ValueError, KeyError, TypeError) as error:
        print(f"not a PDF request: {error}", file=sys.stderr)
        return 2
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    data = write_pdf(html, title)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    del app
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
