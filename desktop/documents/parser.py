"""Parsing untrusted files without risk to Hearth: one child process, limits on each file.

`DocumentParser.parse(path, fmt)` hands the file to a long-lived child (`desktop.documents.
child`) and waits at most `limits.time_s` for its answer. A file that hangs the parser gets
the child killed; one that crashes it (a signal, an abort) or exhausts its memory limit ends
that child. Either way the file gets a one-line reason and the next file gets a new child,
so indexing goes on. Files larger than `limits.max_file_bytes` and anything that is not a
regular file are refused before a child sees them.

Thread: one caller at a time (the indexer's thread). Close it (or use `with`) to end the child.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import queue
import stat
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from desktop.core.errors import DocumentError
from desktop.documents.chunk import Passage
from desktop.inference.child_process import (
    child_command,
    child_env,
    crash_detail,
    describe_exit,
    group_kwargs,
    kill_group,
)

FROZEN_COMMAND = "__parse-documents"
_STDERR_KEEP = 64


@dataclass(frozen=True)
class ParseLimits:
    """What one file may cost: seconds, memory of the child, size on disk and unpacked."""

    time_s: float = 60.0
    memory_mb: int = 1536
    max_file_bytes: int = 512 * 2**20
    max_unpacked_mb: int = 512
    max_chars: int = 20_000_000


#: Seconds a page may take to be drawn (a page of a heavy scan on a slow core).
RENDER_TIME_S = 20.0


@dataclass(frozen=True)
class PageImage:
    """A PDF page drawn by the parser child: RGB rows, and boxes [x, y, w, h] in pixels."""

    width: int
    height: int
    rgb: bytes
    marks: tuple[tuple[float, float, float, float], ...]
    pages: int
    found: int  # occurrences of the words (a word may take several marks)


def _box(values: list[float]) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in values)
    return (x, y, w, h)


@dataclass(frozen=True)
class ParseOutcome:
    """A parsed file's passages (and pages, hash, note), or the reason it was not read."""

    passages: tuple[Passage, ...] = ()
    pages: int | None = None
    sha256: str | None = None
    note: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def size_text(size: int) -> str:
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{size / 2**20:,.0f} MB"


def precheck(path: Path, limits: ParseLimits) -> str | None:
    """The reason a file is refused before any parser sees it, or None."""
    try:
        info = path.stat()
    except OSError as error:
        if error.errno == 40 or "symbolic links" in str(error):  # ELOOP
            return "a symbolic link loop"
        return f"cannot be read ({(error.strerror or str(error)).lower()})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > limits.max_file_bytes:
        return (
            f"too large to index ({size_text(info.st_size)}; the limit is "
            f"{size_text(limits.max_file_bytes)})"
        )
    if info.st_size == 0:
        return "empty"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


class _Child:
    """One running parser child with threads draining its stdout and stderr."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            **group_kwargs(),
        )
        self.answers: queue.Queue[bytes | None] = queue.Queue()
        self.stderr: collections.deque[bytes] = collections.deque(maxlen=_STDERR_KEEP)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.answers.put(line)
        self.answers.put(None)

    def _drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.stderr.append(line)

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def end(self, kill: bool) -> int:
        if kill:
            kill_group(self.process)
        elif self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                kill_group(self.process)
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(self.process)
            code = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr, self.process.stdin):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()
        return code


class DocumentParser:
    """Parses files in a child process; see the module docstring."""

    def __init__(
        self,
        limits: ParseLimits | None = None,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.limits = limits or ParseLimits()
        self.command = list(command) if command is not None else default_command()
        self._env = child_env(env)
        self._child: _Child | None = None
        self.children_started = 0

    def parse(self, path: Path, fmt: str) -> ParseOutcome:
        problem = precheck(path, self.limits)
        if problem is not None:
            return ParseOutcome(reason=problem)
        report = self._ask({"path": str(path), "format": fmt}, self.limits.time_s)
        return _outcome(report)

    def render_page(self, path: Path, page: int, terms: Sequence[str], width: int) -> PageImage:
        """Page `page` of the PDF at `path` as RGB pixels, `width` wide, with the boxes of
        `terms` on it; raises `DocumentError` with the reason it cannot be shown."""
        problem = precheck(path, self.limits)
        if problem is None:
            request = {
                "op": "render_page", "path": str(path), "page": page,
                "terms": list(terms), "width": width,
            }  # fmt: skip
            report = self._ask(request, RENDER_TIME_S)
            if report.get("ok"):
                return PageImage(
                    int(report["width"]),
                    int(report["height"]),
                    base64.b64decode(report["rgb"]),
                    tuple(_box(box) for found in report["marks"] for box in found),
                    int(report["pages"]),
                    len(report["marks"]),
                )
            problem = str(report.get("reason") or "the parser gave no reason")
        raise DocumentError(f"Page {page} of “{path.name}” cannot be shown: {problem}.")

    def _ask(self, request: dict[str, Any], time_s: float) -> dict[str, Any]:
        """One request to the child: its answer, or `{"ok": False, "reason": ...}` when it
        hangs (killed) or crashes."""
        child = self._running_child()
        try:
            child.send(request)
        except OSError:  # it died between files: one more try with a new one
            self._stop(kill=True)
            child = self._running_child()
            child.send(request)
        try:
            line = child.answers.get(timeout=time_s)
        except queue.Empty:
            self._stop(kill=True)
            return {"ok": False, "reason": f"reading it did not finish within {time_s:g} seconds"}
        if line is None:  # the child ended without answering: a crash
            code = self._stop(kill=False)
            detail = crash_detail(b"".join(child.stderr))
            reason = f"the parser {describe_exit(code)} on it{f': {detail}' if detail else ''}"
            return {"ok": False, "reason": reason}
        report: dict[str, Any] = json.loads(line)
        if report.get("last"):  # it ends after this answer (out of memory): wait for it
            self._stop(kill=False)
        return report

    def _running_child(self) -> _Child:
        if self._child is not None and self._child.process.poll() is not None:
            self._stop(kill=False)
        if self._child is None:
            self._child = _Child(self._argv(), self._env)
            self.children_started += 1
        return self._child

    def _argv(self) -> list[str]:
        return [
            *self.command,
            "--memory-mb", str(self.limits.memory_mb),
            "--max-unpacked-mb", str(self.limits.max_unpacked_mb),
            "--max-chars", str(self.limits.max_chars),
        ]  # fmt: skip

    def _stop(self, kill: bool) -> int:
        child, self._child = self._child, None
        return 0 if child is None else child.end(kill)

    def close(self) -> None:
        self._stop(kill=False)

    def __enter__(self) -> DocumentParser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def default_command() -> list[str]:
    return child_command("desktop.documents.child", FROZEN_COMMAND)


def _outcome(report: dict[str, Any]) -> ParseOutcome:
    if not report.get("ok"):
        return ParseOutcome(reason=str(report.get("reason") or "the parser gave no reason"))
    return ParseOutcome(
        passages=tuple(Passage.from_json(item) for item in report["passages"]),
        pages=report.get("pages"),
        sha256=report.get("sha256"),
        note=report.get("note"),
    )
