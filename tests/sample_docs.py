"""Small real documents of every format Hearth reads, and hostile ones, written for tests.

PDFs are written object by object (text with the standard Helvetica font, an outline, a
page with no text, a password-protected file whose password is unknown); DOCX with
python-docx; ODT and EPUB as the zip archives their specifications describe.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def pdf_bytes(
    pages: Sequence[Sequence[str]],
    outline: Sequence[tuple[str, int]] = (),
    encrypted: bool = False,
) -> bytes:
    """A PDF whose page n shows the lines `pages[n]`; `outline`: (title, page index) items."""
    objects: dict[int, bytes] = {}
    n_pages = len(pages)
    font, first_page = 3, 4
    page_ids = [first_page + 2 * i for i in range(n_pages)]
    outline_id = first_page + 2 * n_pages
    catalog = "<< /Type /Catalog /Pages 2 0 R"
    catalog += f" /Outlines {outline_id} 0 R >>" if outline else " >>"
    objects[1] = catalog.encode()
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode()
    objects[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for page_id, lines in zip(page_ids, pages, strict=True):
        if lines:
            body = "BT /F1 11 Tf 14 TL 72 740 Td " + " ".join(
                f"{_pdf_string(line)} Tj T*" for line in lines
            )
            body += " ET"
        else:  # a scanned page: something drawn, no text
            body = "0.5 g 72 72 400 600 re f"
        stream = body.encode("latin-1")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    if outline:
        items = [outline_id + 1 + i for i in range(len(outline))]
        objects[outline_id] = (
            f"<< /Type /Outlines /First {items[0]} 0 R /Last {items[-1]} 0 R /Count {len(items)} >>"
        ).encode()
        for i, (title, page) in enumerate(outline):
            links = f" /Prev {items[i - 1]} 0 R" if i else ""
            links += f" /Next {items[i + 1]} 0 R" if i + 1 < len(items) else ""
            objects[items[i]] = (
                f"<< /Title {_pdf_string(title)} /Parent {outline_id} 0 R{links} "
                f"/Dest [{page_ids[page]} 0 R /Fit] >>"
            ).encode()
    trailer_extra = ""
    if encrypted:  # the standard handler; no empty password opens it
        encrypt_id = max(objects) + 1
        objects[encrypt_id] = (
            f"<< /Filter /Standard /V 1 /R 2 /O <{'7a' * 32}> /U <{'3c' * 32}> /P -44 >>"
        ).encode()
        trailer_extra = f" /Encrypt {encrypt_id} 0 R /ID [<{'11' * 16}> <{'11' * 16}>]"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {size} /Root 1 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Garden handbook", 0)
    document.add_heading("Watering", 1)
    document.add_paragraph("Water the tomatoes at dawn so the leaves dry before noon.")
    document.add_heading("Pests", 2)
    document.add_paragraph("Aphids leave when ladybirds arrive.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Plant", "Spacing"
    table.cell(1, 0).text, table.cell(1, 1).text = "Courgette", "ninety centimetres"
    document.save(str(path))
    return path


_ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
 <office:body><office:text>
  <text:h text:outline-level="1">Lighthouse log</text:h>
  <text:p>The keeper trimmed the wick<text:s/>at dusk.</text:p>
  <text:h text:outline-level="2">Storms</text:h>
  <text:p>In the great gale the lens survived.<text:note><text:note-body><text:p>A
  footnote about brass.</text:p></text:note-body></text:note></text:p>
 </office:text></office:body>
</office:document-content>"""


def _zip(path: Path, mimetype: str, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # stored, first
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def write_odt(path: Path) -> Path:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return _zip(
        path,
        "application/vnd.oasis.opendocument.text",
        {"content.xml": _ODT_CONTENT, "META-INF/manifest.xml": manifest},
    )


def _chapter(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
    )


def write_epub(path: Path, extra: dict[str, str | bytes] | None = None) -> Path:
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        "<metadata/><manifest>"
        '<item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>'
        '</manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>'
    )
    members: dict[str, str | bytes] = {
        "META-INF/container.xml": container,
        "OEBPS/content.opf": opf,
        "OEBPS/text/one.xhtml": _chapter("The Harbour", "Gulls circled the herring boats."),
        "OEBPS/text/two.xhtml": _chapter("The Voyage", "The schooner reached Tromsø in May."),
    }
    return _zip(path, "application/epub+zip", {**members, **(extra or {})})


def write_zip_bomb(path: Path, unpacked_mb: int) -> Path:
    """An EPUB with one member of `unpacked_mb` MB of zeros (a few KB once compressed)."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("OEBPS/text/bomb.xhtml", "w", force_zip64=True) as member,
    ):
        block = bytes(1 << 20)
        for _ in range(unpacked_mb):
            member.write(block)
    return path


def write_sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes taking no disk space (a "2 GB" file in milliseconds)."""
    with path.open("wb") as stream:
        stream.truncate(size)
    return path


def symlink_loop(folder: Path) -> tuple[Path, Path]:
    one, two = folder / "one.txt", folder / "two.txt"
    os.symlink(two, one)
    os.symlink(one, two)
    return one, two
