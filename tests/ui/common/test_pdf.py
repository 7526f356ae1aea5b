"""PDF exports laid out by Qt: pages, header title, page numbers, extractable text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.ui.common.pdf import write_pdf


def pdf_text(path: Path) -> tuple[int, str]:
    """(page count, text) of a PDF, read with poppler's tools."""
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdftotext, pdfinfo) is not installed; .ci/run installs it")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    [count] = [line.split()[1] for line in info.stdout.splitlines() if line.startswith("Pages:")]
    pages = int(count)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return pages, text


def test_a_long_conversation_spans_numbered_pages_with_its_title(
    qtbot: QtBot, tmp_path: Path
) -> None:
    paragraphs = "".join(f"<p>Paragraph {n} of the answer, long enough.</p>" for n in range(120))
    html = (
        "<h1>First chat</h1>" + paragraphs + '<h1 style="page-break-before: always;">Second</h1>'
        "<table border=1><tr><th>Cell A</th><td>Cell B</td></tr></table>"
    )
    data = write_pdf(html, "My export")
    assert data.startswith(b"%PDF")
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    pages, text = pdf_text(path)
    assert pages >= 3
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert text.count("My export") == pages  # the header of every page
    assert "Paragraph 119" in text and "Cell A" in text and "Cell B" in text
    last_page = text.split("\f")[pages - 1]
    assert "Second" in last_page  # the second conversation starts on its own page
