"""A PDF page as an image, with the words of a question marked, for the sources panel.

Runs in the document parser child (the PDF is the user's file, untrusted: PDFium parses it
there, never in the window's process). `render_page` answers a JSON-able dict: the page's
pixels as RGB rows (base64; the window makes a `QImage` of them), its size, and the
rectangles, in pixels, of each occurrence of each term on the page (one list per occurrence).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop.core.errors import DocumentError

#: The widest image made (pixels), whatever is asked: a page is ~2 MB of RGB at this width.
MAX_WIDTH = 1400
#: Marks drawn per term at most (a common word on a dense page).
MAX_MARKS = 200


def render_page(path: Path, page: int, terms: Sequence[str], width: int) -> dict[str, Any]:
    """Page `page` (1-based) of the PDF at `path`, `width` pixels wide, with the boxes of
    `terms` (case-insensitive, also as the start of longer words)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise DocumentError(f"it cannot be opened as a PDF ({error})") from error
    try:
        count = len(pdf)
        if not 1 <= page <= count:
            raise DocumentError(f"it has no page {page} (it has {count})")
        sheet = pdf[page - 1]
        page_width, page_height = sheet.get_size()
        scale = max(0.05, min(width, MAX_WIDTH) / max(page_width, 1.0))
        bitmap = sheet.render(scale=scale, rev_byteorder=True)  # RGB, not BGR
        pixels = bitmap.to_numpy()
        height, columns = int(pixels.shape[0]), int(pixels.shape[1])
        rows = pixels[:, :, :3].copy(order="C")
        marks = _marks(sheet.get_textpage(), terms, scale, page_height)
        return {
            "ok": True,
            "width": columns,
            "height": height,
            "rgb": base64.b64encode(rows.tobytes()).decode("ascii"),
            "marks": marks,
            "pages": count,
        }
    finally:
        pdf.close()


def _marks(
    text: Any, terms: Sequence[str], scale: float, page_height: float
) -> list[list[list[float]]]:
    """Each occurrence of each term: its pixel rectangles [x, y, w, h] (PDF points, y up,
    turned into pixels, y down), the pieces of one line joined (some PDFs place each
    letter on its own)."""
    found: list[list[list[float]]] = []
    for term in dict.fromkeys(t for t in terms if t.strip()):
        search = text.search(term, match_case=False)
        for _ in range(MAX_MARKS):
            hit = search.get_next()
            if not hit:
                break
            start, length = hit
            boxes = [text.get_rect(i) for i in range(text.count_rects(start, length))]
            found.append([_pixels(box, scale, page_height) for box in _joined(boxes)])
    return found


def _joined(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, ...]]:
    """(left, bottom, right, top) boxes, those on one line joined into one."""
    lines: list[list[float]] = []
    for left, bottom, right, top in boxes:
        line = next((b for b in lines if b[1] < top and bottom < b[3]), None)
        if line is None:
            lines.append([left, bottom, right, top])
        else:
            line[:] = [
                min(line[0], left),
                min(line[1], bottom),
                max(line[2], right),
                max(line[3], top),
            ]
    return [tuple(b) for b in lines]


def _pixels(box: tuple[float, ...], scale: float, page_height: float) -> list[float]:
    left, bottom, right, top = box
    return [
        left * scale,
        (page_height - top) * scale,
        (right - left) * scale,
        (top - bottom) * scale,
    ]
