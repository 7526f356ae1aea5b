"""Downloading one model file from the Hub into Hearth's own folder: resumable and verified.

`Downloader.download(request, on_progress, stopping, on_contact)`:
1. asks the Hub for the file's metadata (size, LFS sha256, download address): the sha256
   expected is the catalogue's when it has one (and must equal the repository's), else the
   repository's; a file without a sha256 is refused, since it could not be verified;
2. checks the disk space before any byte is fetched (what is left to fetch plus a margin);
3. appends to `<folder>/<stem>.partial` from where it stopped (an HTTP Range request), with
   a small `<stem>.partial.json` naming the file version it belongs to, so an interruption,
   a pause or a restart of Hearth resumes it; a server that ignores the range restarts it;
4. retries a dropped connection, a timeout or a 5xx answer with growing waits (the count
   starts again whenever bytes arrive), then gives up with a sentence;
5. hashes while writing (after re-reading what was kept), and only a file of the right size
   and sha256 becomes `<folder>/<file>`; a wrong one is deleted.
`stopping()` is asked between chunks: "pause" keeps the partial file, "cancel" deletes it;
either raises `DownloadStopped`. Plain Python; runs on the caller's thread.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from desktop.core.downloads import DownloadError, DownloadRequest
from desktop.core.memory import format_bytes
from desktop.inference.hub import HubClient, RemoteFile, TransientError

log = logging.getLogger(__name__)

PAUSE, CANCEL = "pause", "cancel"
#: Space left free on the disk after a download.
DISK_MARGIN = 256 * 1024 * 1024
CHUNK = 1024 * 1024


class DownloadStopped(Exception):
    """The user paused (`how == "pause"`) or cancelled the download."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


def disk_free(folder: Path) -> int:
    return shutil.disk_usage(folder).free


class Downloader:
    """See the module docstring. `free_space` and the waits are injectable for tests."""

    def __init__(
        self,
        folder: Path,
        hub: HubClient,
        *,
        free_space: Callable[[Path], int] = disk_free,
        attempts: int = 4,
        backoff_s: float = 1.0,
        margin: int = DISK_MARGIN,
        chunk: int = CHUNK,
    ) -> None:
        self.folder = Path(folder)
        self.hub = hub
        self._free_space = free_space
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._margin = margin
        self._chunk = chunk

    def partial_path(self, request: DownloadRequest) -> Path:
        return self.folder / f"{request.stem}.partial"

    def discard(self, request: DownloadRequest) -> None:
        """Delete what was kept of `request` (a cancel, or a refused file)."""
        partial = self.partial_path(request)
        partial.unlink(missing_ok=True)
        _sidecar(partial).unlink(missing_ok=True)

    def download(
        self,
        request: DownloadRequest,
        on_progress: Callable[[int, int | None], None],
        stopping: Callable[[], str | None] = lambda: None,
        on_contact: Callable[[str], None] = lambda host: None,
    ) -> Path:
        """The verified file in `folder`; `DownloadError` or `DownloadStopped` otherwise."""
        with self.hub.watching(f"Downloading {request.file}", on_contact):
            remote = self._retrying(lambda: self.hub.metadata(request.repo, request.file), stopping)
            expected = _expected_sha256(request, remote)
            size = remote.size or request.size_hint
            if size is None:
                raise DownloadError(f"The Hub did not say how big {request.file} is; try later.")
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.partial_path(request)
            have = self._kept(partial, expected, size)
            self._check_space(request, size - have)
            digest = _hash_of(partial, have)
            on_progress(have, size)
            failures = 0
            while have < size:
                how = stopping()
                if how is not None:
                    self._stop(request, how)
                before = have
                try:
                    have, digest = self._fetch(
                        request, remote, partial, (have, digest), size, on_progress, stopping
                    )
                    if have < size:
                        raise TransientError(
                            f"The connection closed before the end of {request.file}."
                        )
                except TransientError as error:
                    have = partial.stat().st_size if partial.exists() else 0
                    failures = 1 if have > before else failures + 1
                    if failures >= self._attempts:
                        raise DownloadError(
                            f"{error} Tried {failures} times; the part downloaded is kept, so "
                            "trying again later continues where it stopped."
                        ) from error
                    log.warning("download of %s: %s; retrying", request.file, error)
                    self._wait(self._backoff_s * 2 ** (failures - 1), request, stopping)
                    digest = _hash_of(partial, have)
            return self._finish(request, partial, digest.hexdigest(), expected, have, size)

    def _retrying(
        self, call: Callable[[], RemoteFile], stopping: Callable[[], str | None]
    ) -> RemoteFile:
        for failures in range(1, self._attempts + 1):
            try:
                return call()
            except TransientError as error:
                if failures >= self._attempts:
                    raise DownloadError(
                        f"{error} Tried {failures} times; try again later."
                    ) from error
                time.sleep(self._backoff_s * 2 ** (failures - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _kept(self, partial: Path, expected: str, size: int) -> int:
        """Bytes of an earlier attempt at the same file version, else 0 (a fresh start)."""
        sidecar = _sidecar(partial)
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            have = partial.stat().st_size
        except (OSError, ValueError):
            meta, have = None, 0
        if not isinstance(meta, dict) or meta.get("sha256") != expected or have > size:
            partial.unlink(missing_ok=True)
            have = 0
        sidecar.write_text(json.dumps({"sha256": expected, "size": size}), encoding="utf-8")
        return have

    def _check_space(self, request: DownloadRequest, remaining: int) -> None:
        free = self._free_space(self.folder)
        if free < remaining + self._margin:
            raise DownloadError(
                f"There is not enough disk space to download {request.file} "
                f"({format_bytes(remaining)} to fetch, {format_bytes(free)} free); free some "
                "space and try again. Nothing was downloaded."
            )

    def _fetch(
        self,
        request: DownloadRequest,
        remote: RemoteFile,
        partial: Path,
        kept: tuple[int, hashlib._Hash],
        size: int,
        on_progress: Callable[[int, int | None], None],
        stopping: Callable[[], str | None],
    ) -> tuple[int, hashlib._Hash]:
        """Append to `partial` what the server sends from `kept[0]` on; bytes and hash so far."""
        have, digest = kept
        with self.hub.stream(remote.url, have, request.file) as response:
            if have and response.status_code == 200:  # the server ignored the range
                have, digest = 0, hashlib.sha256()
            try:
                with partial.open("ab" if have else "wb") as out:
                    for chunk in response.iter_bytes(self._chunk):
                        out.write(chunk)
                        digest.update(chunk)
                        have += len(chunk)
                        on_progress(have, size)
                        if have > size:
                            break
                        how = stopping()
                        if how is not None:
                            out.close()
                            self._stop(request, how)
            except OSError as error:
                if error.errno in (errno.ENOSPC, errno.EDQUOT):
                    self.discard(request)
                    raise DownloadError(
                        f"The disk filled up while downloading {request.file}; the partial file "
                        "was deleted. Free some space and try again."
                    ) from error
                raise
        return have, digest

    def _stop(self, request: DownloadRequest, how: str) -> None:
        if how == CANCEL:
            self.discard(request)
        raise DownloadStopped(how)

    def _wait(
        self, seconds: float, request: DownloadRequest, stopping: Callable[[], str | None]
    ) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            how = stopping()
            if how is not None:
                self._stop(request, how)
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _finish(
        self,
        request: DownloadRequest,
        partial: Path,
        actual: str,
        expected: str,
        have: int,
        size: int,
    ) -> Path:
        if have != size or actual != expected:
            self.discard(request)
            what = (
                f"is {have:,} bytes instead of {size:,}"
                if have != size
                else f"has the sha256 {actual[:12]}… instead of {expected[:12]}…"
            )
            raise DownloadError(
                f"The downloaded {request.file} {what}, so it is not the published file; it was "
                "deleted."
            )
        target = self.folder / request.file
        partial.replace(target)
        _sidecar(partial).unlink(missing_ok=True)
        return target


def _expected_sha256(request: DownloadRequest, remote: RemoteFile) -> str:
    if request.sha256 and remote.sha256 and request.sha256 != remote.sha256:
        raise DownloadError(
            f"{request.file} in {request.repo} is no longer the file the catalogue names (its "
            "sha256 changed); it was not downloaded."
        )
    expected = request.sha256 or remote.sha256
    if expected is None:
        raise DownloadError(
            f"The repository gives no sha256 for {request.file}, so Hearth could not verify "
            "it; it was not downloaded."
        )
    return expected


def _sidecar(partial: Path) -> Path:
    return partial.with_name(partial.name + ".json")


def _hash_of(path: Path, length: int) -> hashlib._Hash:
    digest = hashlib.sha256()
    if length:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
    return digest
