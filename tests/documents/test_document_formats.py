"""Each format Hearth reads, parsed as the parser child parses it (here in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import DocumentError
from desktop.documents import formats
from desktop.documents.child import parse_file
from desktop.documents.chunk import MAX_WORDS, Section, passages
from desktop.documents.parse_office import NO_TEXT_LAYER
from tests import sample_docs

MB = 2**20


def parsed(path: Path, fmt: str | None = None) -> list[tuple[str, str, int | None]]:
    fmt = fmt or formats.format_of(path)
    assert fmt is not None
    report = parse_file(path, fmt, 8 * MB, 1_000_000)
    return [tuple(item) for item in report["passages"]]


def test_plain_text_in_utf8_utf16_and_windows_1252(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Café au lait.\n\nSecond paragraph.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Zürich in winter.", encoding="utf-16")
    (tmp_path / "c.txt").write_bytes("Señor’s notes.".encode("cp1252"))
    assert parsed(tmp_path / "a.txt") == [("Café au lait. Second paragraph.", "", None)]
    assert parsed(tmp_path / "b.txt") == [("Zürich in winter.", "", None)]
    assert parsed(tmp_path / "c.txt") == [("Señor’s notes.", "", None)]


def test_markdown_headings_make_the_heading_path_but_not_inside_code(tmp_path: Path) -> None:
    text = "# Guide\nIntro.\n\n## Install\nRun it.\n```\n# a comment\n```\nSetup\n-----\nDone."
    path = tmp_path / "guide.md"
    path.write_text(text, encoding="utf-8")
    assert parsed(path) == [
        ("Intro.", "Guide", None),
        ("Run it. ``` # a comment ```", "Guide › Install", None),
        ("Done.", "Guide › Setup", None),
    ]


def test_html_keeps_headings_and_drops_scripts_and_navigation(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p{}</style></head><body><nav>Home | About</nav>"
        "<h1>Kettles</h1><p>Descale with <b>citric</b> acid.</p><script>alert(1)</script>"
        "<h2>Safety</h2><ul><li>Unplug first.</li><li>Let it cool.</li></ul></body></html>",
        encoding="utf-8",
    )
    assert parsed(path) == [
        ("Descale with citric acid.", "Kettles", None),
        ("Unplug first. Let it cool.", "Kettles › Safety", None),
    ]


def test_pdf_pages_and_outline_headings(tmp_path: Path) -> None:
    path = tmp_path / "owls.pdf"
    path.write_bytes(
        sample_docs.pdf_bytes(
            [["Barn owls hunt at night.", "They eat voles."], ["Badgers dig setts."]],
            outline=[("Owls", 0), ("Badgers", 1)],
        )
    )
    report = parse_file(path, formats.PDF, 8 * MB, 1_000_000)
    assert report["pages"] == 2
    assert [tuple(p) for p in report["passages"]] == [
        ("Barn owls hunt at night. They eat voles.", "Owls", 1),
        ("Badgers dig setts.", "Badgers", 2),
    ]


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    path = sample_docs.write_docx(tmp_path / "garden.docx")
    water = "Water the tomatoes at dawn so the leaves dry before noon."
    aphids = "Aphids leave when ladybirds arrive. Plant | Spacing Courgette | ninety centimetres"
    assert parsed(path) == [
        (water, "Garden handbook › Watering", None),
        (aphids, "Garden handbook › Watering › Pests", None),
    ]


def test_odt_headings_spaces_and_footnotes(tmp_path: Path) -> None:
    path = sample_docs.write_odt(tmp_path / "log.odt")
    gale = "In the great gale the lens survived. A footnote about brass."
    assert parsed(path) == [
        ("The keeper trimmed the wick at dusk.", "Lighthouse log", None),
        (gale, "Lighthouse log › Storms", None),
    ]


def test_epub_chapters_in_spine_order(tmp_path: Path) -> None:
    path = sample_docs.write_epub(tmp_path / "sea.epub")
    assert parsed(path) == [
        ("Gulls circled the herring boats.", "The Harbour", None),
        ("The schooner reached Tromsø in May.", "The Voyage", None),
    ]


def test_source_code_sections_are_named_after_definitions(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_text(
        '"""Tool."""\nimport os\n\ndef spin(x):\n    return x\n\nclass Wheel:\n    pass\n'
    )
    assert [heading for _, heading, _ in parsed(path)] == ["", "spin", "Wheel"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("scan.pdf", sample_docs.pdf_bytes([[], []]), NO_TEXT_LAYER),
        (
            "locked.pdf",
            sample_docs.pdf_bytes([["secret"]], encrypted=True),
            "encrypted with a password; Hearth cannot read it",
        ),
        ("broken.pdf", b"%PDF-1.4\nnot really", "damaged: PDFium cannot open it as a PDF"),
        ("blob.txt", b"\x7fELF\x00\x00binary", "a binary file, not text"),
        ("blank.md", b"\n\n   \n", "no text found in it"),
        ("fake.docx", b"PK not a zip", "damaged: not a readable Word document"),
    ],
)
def test_unreadable_documents_get_a_one_line_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as caught:
        parsed(path)
    assert str(caught.value) == reason


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = sample_docs.write_zip_bomb(tmp_path / "bomb.epub", unpacked_mb=20)
    assert path.stat().st_size < 100_000
    with pytest.raises(DocumentError, match=r"unpacks to 20 MB, more than the 8 MB limit"):
        parsed(path)


def test_passages_stay_within_their_section_and_size() -> None:
    long = " ".join(f"w{n}" for n in range(1000))
    cut = list(passages([Section(long, ("A",), 3), Section("tail", ("B",), 4)]))
    assert all(len(p.text.split()) <= MAX_WORDS for p in cut)
    assert " ".join(p.text for p in cut[:-1]) == long  # nothing lost, order kept
    assert {(p.heading, p.page) for p in cut[:-1]} == {("A", 3)}
    assert (cut[-1].text, cut[-1].heading, cut[-1].page) == ("tail", "B", 4)


def test_formats_by_name() -> None:
    assert formats.format_of(Path("a.PDF")) == formats.PDF
    assert formats.format_of(Path("README")) == formats.TEXT
    assert formats.format_of(Path("main.rs")) == formats.CODE
    assert formats.format_of(Path("photo.jpg")) is None
    assert formats.format_of(Path(".bashrc")) is None
