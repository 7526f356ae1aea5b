"""One writer per data dir: an exclusive OS lock on `<data_dir>/hearth.lock`.

A process holds a `WriteLock` for as long as it may write the conversation database: the
window for its whole life, a `hearth ask` or `hearth import` for the command's duration.
The lock is the operating system's (`flock` on Linux/macOS, `msvcrt.locking` on Windows),
taken on an open file descriptor, so it is released when the process exits, however it
exits (even killed); a lock file left on disk means nothing by itself. The descriptor is
not inherited by child processes.

Beside it, `hearth.lock.owner` records who holds it: the process id and the kind of
process ("window" or "command line"), never anything the user wrote. Only the holder
writes that file, so it may be stale after a crash; it is informative only, for messages.

Thread: a lock belongs to the object, not a thread; use it from one thread.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from desktop.core.errors import DatabaseError, StoreInUseError

log = logging.getLogger(__name__)

HolderKind = Literal["window", "command line"]
LOCK_FILE = "hearth.lock"
OWNER_FILE = "hearth.lock.owner"
POLL_INTERVAL_S = 0.05
_OWNER_WAIT_S = 0.3  # a holder writes the owner file right after locking
_CONTENDED = {errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK, errno.EDEADLK}

if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@dataclass(frozen=True)
class LockOwner:
    """Who holds the lock, as far as its owner file says (None: not recorded)."""

    kind: str | None = None
    pid: int | None = None

    def describe(self) -> str:
        """E.g. "the Hearth window (process 4242)", for a sentence."""
        what = {
            "window": "the Hearth window",
            "command line": "a hearth command",
        }.get(self.kind or "", "another Hearth process")
        return f"{what} (process {self.pid})" if self.pid else what


class WriteLock:
    """The exclusive right to write the conversations in one data dir.

    `try_acquire()` never raises for a lock held elsewhere (it returns False);
    `acquire()` raises `StoreInUseError` naming the holder. Both raise `DatabaseError` when
    the lock file itself cannot be opened or locked (e.g. a read-only folder).
    """

    def __init__(self, data_dir: Path, kind: HolderKind) -> None:
        self.data_dir = Path(data_dir)
        self.kind: HolderKind = kind
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.data_dir / LOCK_FILE

    @property
    def owner_path(self) -> Path:
        return self.data_dir / OWNER_FILE

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, timeout: float = 0.0) -> bool:
        """Take the lock, waiting up to `timeout` seconds for its holder; True when held."""
        if self._fd is not None:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._try_once():
                self._write_owner()
                log.info("write lock %s taken (%s)", self.path, self.kind)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(POLL_INTERVAL_S, remaining))

    def acquire(self, timeout: float = 0.0) -> None:
        """Like `try_acquire()`, but a lock held elsewhere raises `StoreInUseError`."""
        if self.try_acquire(timeout):
            return
        owner = self.owner()
        raise StoreInUseError(
            f"Your conversations in {self.data_dir} are in use by {owner.describe()}.",
            holder_kind=owner.kind,
            holder_pid=owner.pid,
        )

    def release(self) -> None:
        """Give the lock back (nothing happens if it is not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.owner_path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("cannot remove %s: %s", self.owner_path, error)
        try:
            _unlock(fd)
        except OSError as error:  # closing the descriptor releases it anyway
            log.warning("cannot unlock %s: %s", self.path, error)
        finally:
            os.close(fd)
        log.info("write lock %s released", self.path)

    def owner(self) -> LockOwner:
        """The holder recorded in the owner file (the lock itself is not checked)."""
        deadline = time.monotonic() + _OWNER_WAIT_S
        while True:
            try:
                record = json.loads(self.owner_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                if time.monotonic() >= deadline:
                    return LockOwner()
                time.sleep(POLL_INTERVAL_S)
                continue
            except (OSError, ValueError):
                return LockOwner()
            if not isinstance(record, dict):
                return LockOwner()
            kind, pid = record.get("kind"), record.get("pid")
            return LockOwner(
                kind if isinstance(kind, str) else None,
                pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            )

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _try_once(self) -> bool:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise DatabaseError(
                f"Hearth cannot create its lock file {self.path} ({error}). Check that the "
                "folder may be written."
            ) from error
        try:
            _lock(fd)
        except OSError as error:
            os.close(fd)
            if error.errno in _CONTENDED:
                return False
            raise DatabaseError(
                f"Hearth cannot lock {self.path} ({error}), so it cannot make sure it is the "
                "only program writing your conversations."
            ) from error
        self._fd = fd
        return True

    def _write_owner(self) -> None:
        record = json.dumps({"pid": os.getpid(), "kind": self.kind})
        temporary = self.owner_path.with_name(f"{OWNER_FILE}.{os.getpid()}.tmp")
        try:
            temporary.write_text(record, encoding="utf-8")
            os.replace(temporary, self.owner_path)
        except OSError as error:  # only messages suffer: the lock itself is held
            log.warning("cannot record the lock's owner in %s: %s", self.owner_path, error)
            try:
                temporary.unlink(missing_ok=True)
            except OSError as cleanup:
                log.warning("cannot remove %s: %s", temporary, cleanup)
