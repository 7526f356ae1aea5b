"""PDF and DOCX into `Section`s (runs in the parser child).

PDF: pypdfium2 (PDFium), one section per page with its 1-based page number; the outline
(bookmarks), when the file has one, gives each page its heading path. A password-protected
file and a file with no text on any page (a scan) are refused with a reason.
DOCX: python-docx, paragraphs and tables in document order; `Title` and `Heading N`
paragraph styles give the heading path, each table row becomes one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop.core.errors import DocumentError
from desktop.documents.chunk import Section

NO_TEXT_LAYER = "no text layer; OCR is not supported yet"
_PDFIUM_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


def pdf_sections(path: Path) -> tuple[list[Section], int]:
    """The pages' sections and the number of pages."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code == _PDFIUM_PASSWORD_ERROR:
            raise DocumentError("encrypted with a password; Hearth cannot read it") from error
        raise DocumentError("damaged: PDFium cannot open it as a PDF") from error
    try:
        outline = _outline(pdf)
        sections: list[Section] = []
        found_text = False
        headings: tuple[str, ...] = ()
        for index in range(len(pdf)):
            headings = outline.get(index, headings)
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n")
                textpage.close()
            finally:
                page.close()
            found_text = found_text or bool(text.strip())
            sections.append(Section(text, headings, index + 1))
        if not found_text:
            raise DocumentError(NO_TEXT_LAYER)
        return sections, len(pdf)
    finally:
        pdf.close()


def _outline(pdf: Any) -> dict[int, tuple[str, ...]]:
    """Page index -> the heading path of the last bookmark that starts on it."""
    pages: dict[int, tuple[str, ...]] = {}
    path: list[str] = []
    for bookmark in pdf.get_toc(max_depth=6):
        title = " ".join((bookmark.get_title() or "").split())
        del path[bookmark.level :]
        path.append(title)
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if index is not None and index >= 0:
            pages[index] = tuple(path)
    return pages


def docx_sections(path: Path) -> Iterator[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as error:
        raise DocumentError("damaged: not a readable Word document") from error
    headings: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            paragraphs.append("\n".join(_row_text(row) for row in block.rows))
            continue
        text = block.text.strip()
        level = _heading_level(block.style.name if block.style is not None else "")
        if level is None:
            if text:
                paragraphs.append(text)
            continue
        yield Section("\n\n".join(paragraphs), tuple(t for _, t in headings))
        paragraphs = []
        headings = [(lvl, t) for lvl, t in headings if lvl < level] + [(level, text)]
    yield Section("\n\n".join(paragraphs), tuple(t for _, t in headings))


def _row_text(row: Any) -> str:
    cells: list[str] = []
    for cell in row.cells:
        text = " ".join(cell.text.split())
        if text and (not cells or cells[-1] != text):  # merged cells repeat their text
            cells.append(text)
    return " | ".join(cells)


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading "):
        number = style.removeprefix("Heading ").strip()
        return int(number) if number.isdigit() else None
    return None
