"""Writing small files so that a crash never leaves half of one."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from desktop.core.errors import OutputFileError


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once: a temporary file, fsync, rename.

    The folder is created if needed. Raises `OSError`; the old file is then unchanged.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_disk_full(error: BaseException) -> bool:
    """True for the operating system's "no space left" (or "quota exceeded") errors."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def os_problem(error: OSError) -> str:
    """One sentence for a person about a failed file operation."""
    where = f" {error.filename}" if error.filename else ""
    if is_disk_full(error):
        return f"The disk is full, so Hearth could not write{where}. Free some space and try again."
    reason = error.strerror or str(error)
    return f"Hearth could not use{where} ({reason}). Check the path and its permissions."


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path`, or atomically replace the regular file there, with `data`, mode 0600.

    Only regular files are written: a link, folder, device, pipe or socket at `path` is
    refused with `OutputFileError` (never written through or replaced), and so is a missing
    folder. The data goes to a temporary file in the same folder first, renamed over `path`
    when complete; on any failure the temporary file is removed and `path` is untouched.
    """
    if not path.name or path.name in (".", "..") or str(path).endswith(("/", os.sep)):
        raise OutputFileError(f"{path} is a folder. Give the name of a file to write, inside it.")
    try:
        state = os.lstat(path)
    except FileNotFoundError:
        state = None
    except OSError as error:
        raise OutputFileError(f"{_unwritable(path, error)}") from error
    if state is not None:
        if stat.S_ISLNK(state.st_mode):
            raise OutputFileError(
                f"{path} is a link; Hearth does not write through links. Give the name of a "
                "new file or of a regular file to replace."
            )
        if stat.S_ISDIR(state.st_mode):
            raise OutputFileError(
                f"{path} is a folder. Give the name of a file to write, inside it."
            )
        if not stat.S_ISREG(state.st_mode):
            raise OutputFileError(
                f"{path} is not a regular file (a device, pipe or socket); Hearth writes only "
                "regular files. Give the name of a new file."
            )
    folder = path.parent
    if not folder.is_dir():
        raise OutputFileError(f"The folder {folder} does not exist. Create it, or choose another.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise OutputFileError(_unwritable(path, error)) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputFileError(_unwritable(path, error)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unwritable(path: Path, error: OSError) -> str:
    if is_disk_full(error):
        return f"The disk is full, so Hearth could not write {path}. Free some space and try again."
    reason = error.strerror or str(error)
    return f"Hearth could not write {path} ({reason.lower()}); nothing was written."


def file_sha256(path: Path) -> str:
    """The file's SHA-256 in hex, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def private_temp_folder(kind: str) -> Path:
    """A new folder only this user can open (0700), in memory where the system has /dev/shm,
    named `hearth-<kind>-<pid>-…`. Folders of that kind left by processes that no longer
    run (killed before they could clean up) are removed first."""
    shm = Path("/dev/shm")
    root = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    for stale in root.glob(f"hearth-{kind}-*-*"):
        pid = stale.name.split("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            _remove_tree(stale)
    return Path(tempfile.mkdtemp(prefix=f"hearth-{kind}-{os.getpid()}-", dir=root))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (PermissionError): leave its folder alone
        return True
    return True


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
