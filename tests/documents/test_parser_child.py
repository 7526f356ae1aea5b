"""Hostile files against the real parser child: each gets a one-line reason, and the next
file is still parsed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from desktop.core.errors import DocumentError
from desktop.documents.parser import DocumentParser, ParseLimits
from tests import sample_docs

pytestmark = pytest.mark.slow

CRASHING = Path(__file__).with_name("crashing_parser.py")


def good_file(folder: Path) -> Path:
    path = folder / "good.md"
    path.write_text("# Kestrels\nKestrels hover over verges.", encoding="utf-8")
    return path


def test_a_document_is_parsed_in_a_child_with_its_page_numbers(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(sample_docs.pdf_bytes([["Owls."], ["Voles."]], outline=[("Night", 1)]))
    with DocumentParser() as parser:
        outcome = parser.parse(pdf, "pdf")
    assert outcome.ok and outcome.pages == 2
    assert [(p.text, p.heading, p.page) for p in outcome.passages] == [
        ("Owls.", "", 1),
        ("Voles.", "Night", 2),
    ]
    assert outcome.sha256 is not None and len(outcome.sha256) == 64


def test_a_file_that_takes_too_long_is_stopped_and_the_next_one_parsed(tmp_path: Path) -> None:
    slow = tmp_path / "huge.txt"
    slow.write_bytes(b"lorem ipsum dolor sit amet\n" * 2_000_000)  # ~54 MB: seconds of work
    with DocumentParser(ParseLimits(time_s=1.0)) as parser:
        parser.parse(good_file(tmp_path), "markdown")  # the child is up: the limit is the file's
        start = time.monotonic()
        outcome = parser.parse(slow, "text")
        assert time.monotonic() - start < 5
        assert outcome.reason == "reading it did not finish within 1 seconds"
        assert parser.parse(good_file(tmp_path), "markdown").ok
        assert parser.children_started == 2


def test_a_file_that_exhausts_the_memory_limit_is_refused(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("the memory limit is POSIX-only")
    big = tmp_path / "words.txt"
    big.write_bytes(b"a b c d e f g h\n" * 8_000_000)  # 128 MB of one-letter words
    with DocumentParser(ParseLimits(memory_mb=300, time_s=60)) as parser:
        outcome = parser.parse(big, "text")
        assert outcome.reason == "needs more than 300 MB of memory"
        assert parser.parse(good_file(tmp_path), "markdown").ok


def test_a_parser_crash_is_a_reason_and_indexing_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"%CRASH and burn")
    command = [sys.executable, str(CRASHING)]
    with DocumentParser(command=command) as parser:
        outcome = parser.parse(bad, "text")
        assert outcome.reason == "the parser crashed (SIGABRT) on it"
        assert parser.parse(good_file(tmp_path), "markdown").ok


def test_files_refused_before_any_parser_sees_them(tmp_path: Path) -> None:
    huge = sample_docs.write_sparse(tmp_path / "huge.pdf", 2 * 2**30)
    one, _ = sample_docs.symlink_loop(tmp_path)
    (tmp_path / "empty.txt").touch()
    with DocumentParser() as parser:
        assert parser.parse(huge, "pdf").reason == (
            "too large to index (2.0 GB; the limit is 512 MB)"
        )
        assert parser.parse(one, "text").reason == "a symbolic link loop"
        assert parser.parse(tmp_path / "empty.txt", "text").reason == "empty"
        assert parser.parse(tmp_path, "text").reason == "not a regular file"
        assert parser.children_started == 0


@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path: Path) -> None:
    locked = good_file(tmp_path)
    locked.chmod(0)
    with DocumentParser() as parser:
        assert parser.parse(locked, "markdown").reason == "cannot be read (permission denied)"


def test_a_pdf_page_is_drawn_in_the_child_with_the_words_marked(tmp_path: Path) -> None:
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(
        sample_docs.pdf_bytes([["Contents."], ["To reset the boiler, hold the red button."]])
    )
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    with DocumentParser() as parser:
        image = parser.render_page(pdf, 2, ["reset", "BOILER", "absent"], 400)
        assert (image.width, image.pages) == (400, 2)
        assert len(image.rgb) == 3 * image.width * image.height
        assert image.found == 2 and len(image.marks) >= 2  # "reset", "boiler"; not "absent"
        x, y, w, h = image.marks[0]
        assert 0 < x < 400 and 0 < y < image.height and w > 0 and h > 0
        with pytest.raises(DocumentError, match="it has no page 3 \\(it has 2\\)"):
            parser.render_page(pdf, 3, [], 400)
        with pytest.raises(DocumentError, match="cannot be opened as a PDF"):
            parser.render_page(broken, 1, [], 400)
        # The child keeps serving after refusing.
        assert parser.render_page(pdf, 1, [], 200).width == 200
