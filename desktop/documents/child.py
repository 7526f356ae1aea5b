"""The document parser child: reads files named on stdin, answers one JSON line each.

Started by `desktop.documents.parser.DocumentParser` as `python -m desktop.documents.child`
(in a frozen build: the app's executable with the hidden `__parse-documents` command). It
limits its own address space (`--memory-mb`, POSIX) before touching any file, then for each
request line `{"path": ..., "format": ...}` prints `{"ok": true, "passages": [...], "pages":
N, "sha256": ..., "note": ...}` or `{"ok": false, "reason": "..."}` on its original stdout
(`{"op": "render_page", "path", "page", "terms", "width"}`: a PDF page as an image, see
`page_image`);
whatever a library prints goes to stderr. After running out of memory it answers and exits
(its heap is no longer trustworthy); the parent starts a new child for the next file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from desktop.core.errors import DocumentError
from desktop.documents import formats
from desktop.documents.chunk import Passage, Section, passages
from desktop.documents.collect import file_sha256
from desktop.documents.page_image import render_page
from desktop.documents.parse_text import code_sections, decode, markdown_sections, plain_sections

EXIT_OUT_OF_MEMORY = 5


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0 or sys.platform == "win32":
        return
    import resource

    limit = megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def sections_of(path: Path, fmt: str, max_unpacked: int) -> tuple[Iterable[Section], int | None]:
    """The file's sections and its page count (PDF only)."""
    if fmt == formats.PDF:
        from desktop.documents.parse_office import pdf_sections

        return pdf_sections(path)
    if fmt == formats.DOCX:
        from desktop.documents.parse_office import docx_sections

        return docx_sections(path), None
    if fmt in (formats.HTML, formats.EPUB, formats.ODT):
        from desktop.documents import parse_markup

        if fmt == formats.HTML:
            return parse_markup.html_sections(path.read_bytes()), None
        if fmt == formats.EPUB:
            return parse_markup.epub_sections(path, max_unpacked), None
        return parse_markup.odt_sections(path, max_unpacked), None
    text = decode(path.read_bytes())
    if fmt == formats.MARKDOWN:
        return markdown_sections(text), None
    if fmt == formats.CODE:
        return code_sections(text), None
    return plain_sections(text), None


def parse_file(path: Path, fmt: str, max_unpacked: int, max_chars: int) -> dict[str, Any]:
    sections, pages = sections_of(path, fmt, max_unpacked)
    kept: list[Passage] = []
    chars = 0
    note = None
    for passage in passages(sections):
        chars += len(passage.text)
        if chars > max_chars:
            note = f"only the first {max_chars:,} characters were indexed"
            break
        kept.append(passage)
    if not kept:
        raise DocumentError("no text found in it")
    return {
        "ok": True,
        "passages": [p.to_json() for p in kept],
        "pages": pages,
        "sha256": file_sha256(path),
        "note": note,
    }


def _answer(out: TextIO, report: dict[str, Any]) -> None:
    out.write(json.dumps(report, ensure_ascii=False) + "\n")
    out.flush()


def child_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hearth-parse-documents")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--max-unpacked-mb", type=int, default=512)
    parser.add_argument("--max-chars", type=int, default=20_000_000)
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # a library's prints must not mix with the answers
    sys.stdout = sys.stderr
    _limit_memory(args.memory_mb)
    for line in sys.stdin:
        request = json.loads(line)
        path, fmt = Path(request["path"]), str(request.get("format", ""))
        try:
            if request.get("op") == "render_page":
                terms = [str(t) for t in request.get("terms", [])]
                report = render_page(path, int(request["page"]), terms, int(request["width"]))
            else:
                report = parse_file(path, fmt, args.max_unpacked_mb * 2**20, args.max_chars)
        except DocumentError as error:
            report = {"ok": False, "reason": str(error)}
        except MemoryError:
            reason = f"needs more than {args.memory_mb:,} MB of memory"
            report = {"ok": False, "reason": reason, "last": True}  # the parent starts anew
            _answer(out, report)
            return EXIT_OUT_OF_MEMORY
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            report = {"ok": False, "reason": f"cannot be read ({reason})"}
        except RecursionError:
            report = {"ok": False, "reason": "nested too deeply to read"}
        except Exception as error:  # a parser's bug on a strange file: the file's status
            traceback.print_exc()
            report = {"ok": False, "reason": f"the parser failed ({type(error).__name__})"}
        _answer(out, report)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
