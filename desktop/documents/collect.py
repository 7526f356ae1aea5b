"""Finding the files of a collection's sources (files and folders) on disk.

A folder is walked recursively; hidden entries (names starting with ".") are left out,
folder links are followed once (a link back to a folder already seen is not walked again).
Files in a format Hearth does not read are skipped, and so are files without a suffix that
look binary; a file named as a source itself is always reported. What cannot be looked at
(a link loop, a broken link, an unreadable folder) is reported as a `Found` with a reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop.core.files import file_sha256 as file_sha256  # the parser child's hash
from desktop.documents.formats import SUPPORTED, TEXT, format_of
from desktop.documents.parse_text import SNIFF_BYTES, looks_binary


@dataclass(frozen=True)
class Found:
    """A file to index (format, size, mtime), or something that could not be (`problem`)."""

    path: str
    format: str
    size: int = 0
    mtime_ns: int = 0
    problem: str | None = None


def describe_os_error(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link loop"
    if error.errno == errno.ENOENT:
        return "a broken link (its target does not exist)"
    return f"cannot be read ({(error.strerror or str(error)).lower()})"


def find_files(source: str) -> Iterator[Found]:
    """The files of one source; a missing source yields one `Found` with its problem."""
    path = Path(source)
    try:
        info = path.stat()
    except OSError as error:
        yield Found(source, "", problem=describe_os_error(error))
        return
    if path.is_dir():
        yield from _walk(path, {(info.st_dev, info.st_ino)})
        return
    fmt = format_of(path)
    if fmt is None:
        yield Found(source, "", problem=f"not a format Hearth reads ({SUPPORTED})")
    else:
        yield Found(source, fmt, info.st_size, info.st_mtime_ns)


def _walk(folder: Path, seen: set[tuple[int, int]]) -> Iterator[Found]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield Found(str(folder), "folder", problem=describe_os_error(error))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            info = entry.stat()  # follows links
        except OSError as error:
            if entry.is_symlink() and format_of(Path(entry.name)) is not None:
                yield Found(entry.path, "", problem=describe_os_error(error))
            continue
        if entry.is_dir():
            key = (info.st_dev, info.st_ino)
            if key not in seen:
                seen.add(key)
                yield from _walk(Path(entry.path), seen)
            continue
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device: never opened
            continue
        fmt = format_of(Path(entry.name))
        if fmt is None or (fmt == TEXT and Path(entry.name).suffix == "" and _binary(entry.path)):
            continue
        yield Found(entry.path, fmt, info.st_size, info.st_mtime_ns)


def _binary(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return looks_binary(stream.read(SNIFF_BYTES))
    except OSError:
        return False  # the parser will say why it cannot be read
