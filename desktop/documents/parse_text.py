"""Plain text, Markdown and source code into `Section`s (runs in the parser child).

Bytes are decoded as UTF-8 (with or without a BOM), else UTF-16 with a BOM, else
Windows-1252 with unknown bytes replaced; a file with NUL bytes and no BOM is binary.
Markdown headings (`#` lines and underlined lines, not inside code fences) give the heading
path; in source code, top-level definitions (`def`, `class`, `fn`, `func`, ...) do.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from desktop.core.errors import DocumentError
from desktop.documents.chunk import Section

SNIFF_BYTES = 4096
_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_DEFINITION = re.compile(
    r"^(?:export\s+|pub\s+|public\s+|async\s+|static\s+)*"
    r"(?:def|class|fn|func|function|struct|impl|interface|enum|trait|module|type)\s+(\w+(?:(?:\.|::)\w+)*)"
)


def looks_binary(head: bytes) -> bool:
    """True for bytes that are not text: a NUL byte without a UTF-16/32 byte-order mark."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head[:SNIFF_BYTES]


def decode(data: bytes) -> str:
    if looks_binary(data):
        raise DocumentError("a binary file, not text")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def plain_sections(text: str) -> list[Section]:
    return [Section(text)]


def markdown_sections(text: str) -> Iterator[Section]:
    headings: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def section() -> Section:
        return Section("\n".join(lines), tuple(title for _, title in headings))

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        atx = None if in_fence else _ATX.match(line)
        setext = None if in_fence or not lines or not lines[-1].strip() else _SETEXT.match(line)
        if atx is None and setext is None:
            lines.append(line)
            continue
        if atx is not None:
            level, title = len(atx.group(1)), atx.group(2)
        else:
            assert setext is not None
            level, title = (1 if setext.group(1)[0] == "=" else 2), lines.pop()
        yield section()
        lines = []
        headings = [(lvl, t) for lvl, t in headings if lvl < level] + [(level, title.strip())]
    yield section()


def code_sections(text: str) -> Iterator[Section]:
    """Source code: a new section at each top-level definition, named after it."""
    lines: list[str] = []
    name: tuple[str, ...] = ()
    for line in text.splitlines():
        match = _DEFINITION.match(line)
        if match is not None and lines:
            yield Section("\n".join(lines), name)
            lines = []
        if match is not None:
            name = (match.group(1),)
        lines.append(line)
    yield Section("\n".join(lines), name)
