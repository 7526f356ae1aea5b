"""HTML, EPUB and ODT into `Section`s (runs in the parser child).

HTML goes through Beautiful Soup with the lxml parser; `h1`-`h6` give the heading path,
block elements break paragraphs, scripts, styles and navigation are left out. An EPUB is a
zip of XHTML chapters read in the order of its spine; an ODT is a zip whose `content.xml`
holds `text:h` (with an outline level) and `text:p` elements. Zip archives are checked
before anything is unpacked: more than `max_unpacked` bytes in all is refused as a zip bomb.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, NavigableString, Tag
from lxml import etree

from desktop.core.errors import DocumentError
from desktop.documents.chunk import Section

_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SKIP = {"script", "style", "noscript", "template", "nav", "head", "svg", "math"}
_BLOCKS = {
    "p", "div", "li", "pre", "blockquote", "tr", "td", "th", "dt", "dd", "br", "hr",
    "section", "article", "table", "ul", "ol", "dl", "figcaption", "caption", "header",
    "footer", "aside", "main", "address", "details", "summary",
}  # fmt: skip
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OPF_NS = {"opf": "http://www.idpf.org/2007/opf"}
_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def html_sections(data: bytes) -> Iterator[Section]:
    soup = BeautifulSoup(data, "lxml")
    yield from _soup_sections(soup, [])


def _soup_sections(soup: BeautifulSoup, headings: list[tuple[int, str]]) -> Iterator[Section]:
    paragraphs: list[str] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            paragraphs.append(" ".join(words))
            words.clear()

    def section() -> Section:
        flush()
        text = "\n\n".join(paragraphs)
        paragraphs.clear()
        return Section(text, tuple(title for _, title in headings))

    root = soup.body or soup
    skip_until: Any = None  # the element after a skipped subtree
    for node in root.descendants:
        if skip_until is not None:
            if node is not skip_until:
                continue
            skip_until = None
        if isinstance(node, Tag):
            name = node.name.lower()
            if name in _SKIP or name in _HEADINGS:
                skip_until = _after(node)
            if name in _HEADINGS:
                yield section()
                level, title = _HEADINGS[name], " ".join(node.get_text(" ").split())
                headings[:] = [(lvl, t) for lvl, t in headings if lvl < level]
                headings.append((level, title))
                if skip_until is None:
                    break
            elif name in _SKIP and skip_until is None:
                break
            elif name in _BLOCKS:
                flush()
        elif isinstance(node, NavigableString) and type(node) is NavigableString:
            words.extend(node.split())
    yield section()


def _after(node: Tag) -> Any:
    """The first node after `node`'s subtree in document order (None at the end)."""
    current: Any = node
    while current is not None:
        if current.next_sibling is not None:
            return current.next_sibling
        current = current.parent
    return None


def _open_zip(path: Path, max_unpacked: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as error:
        raise DocumentError(f"damaged: not a readable zip archive ({error})") from error
    total = sum(info.file_size for info in archive.infolist())
    if total > max_unpacked:
        archive.close()
        raise DocumentError(
            f"unpacks to {total / 2**20:,.0f} MB, more than the {max_unpacked / 2**20:,.0f} MB "
            "limit (a zip bomb?)"
        )
    return archive


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError as error:
        raise DocumentError(f"damaged: {name} is missing") from error
    except (zipfile.BadZipFile, RuntimeError, EOFError) as error:
        message = str(error)
        if "encrypted" in message or "password" in message:
            raise DocumentError("encrypted with a password; Hearth cannot read it") from error
        raise DocumentError(f"damaged: {name} cannot be unpacked ({message})") from error


def _xml(data: bytes, name: str) -> Any:
    try:
        return etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError as error:
        raise DocumentError(f"damaged: {name} is not valid XML ({error})") from error


def epub_sections(path: Path, max_unpacked: int) -> Iterator[Section]:
    with _open_zip(path, max_unpacked) as archive:
        container = _xml(_read_member(archive, "META-INF/container.xml"), "container.xml")
        rootfiles = container.xpath("//c:rootfile/@full-path", namespaces=_CONTAINER_NS)
        if not rootfiles:
            raise DocumentError("damaged: the EPUB names no package file")
        opf_name = str(rootfiles[0])
        opf = _xml(_read_member(archive, opf_name), opf_name)
        base = posixpath.dirname(opf_name)
        manifest = {
            item.get("id"): item.get("href")
            for item in opf.xpath("//opf:manifest/opf:item", namespaces=_OPF_NS)
        }
        headings: list[tuple[int, str]] = []
        for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=_OPF_NS):
            href = manifest.get(ref)
            if not href:
                continue
            member = posixpath.normpath(posixpath.join(base, href.split("#")[0]))
            soup = BeautifulSoup(_read_member(archive, member), "lxml")
            yield from _soup_sections(soup, headings)


def odt_sections(path: Path, max_unpacked: int) -> Iterator[Section]:
    with _open_zip(path, max_unpacked) as archive:
        root = _xml(_read_member(archive, "content.xml"), "content.xml")
    headings: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    h, p = f"{{{_TEXT_NS}}}h", f"{{{_TEXT_NS}}}p"
    for element in root.iter(h, p):
        if _inside_paragraph(element, (h, p)):
            continue  # a note's paragraph: already in its paragraph's text
        text = " ".join(_odt_text(element).split())
        if element.tag == p:
            if text:
                paragraphs.append(text)
            continue
        yield Section("\n\n".join(paragraphs), tuple(t for _, t in headings))
        paragraphs = []
        level = int(element.get(f"{{{_TEXT_NS}}}outline-level", "1") or 1)
        headings = [(lvl, t) for lvl, t in headings if lvl < level] + [(level, text)]
    yield Section("\n\n".join(paragraphs), tuple(t for _, t in headings))


def _inside_paragraph(element: Any, tags: tuple[str, str]) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.getparent()
    return False


def _odt_text(element: Any) -> str:
    """The text of an ODF paragraph, with `text:s`, `text:tab` and line breaks as spaces."""
    parts = [element.text or ""]
    for child in element:
        local = etree.QName(child).localname
        if local in ("s", "tab", "line-break"):
            parts.append(" ")
        elif local == "note":  # a footnote inside the paragraph: a word of its own
            parts.append(f" {_odt_text(child)} ")
        else:
            parts.append(_odt_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
