"""The data dir's write lock: exclusive between processes, released when its holder dies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import DatabaseError, StoreInUseError
from desktop.storage.lock import OWNER_FILE, LockOwner, WriteLock

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from desktop.storage.lock import WriteLock
lock = WriteLock(Path(sys.argv[1]), sys.argv[2])
assert lock.try_acquire()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the write lock on `tmp_path` as a command."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "command line"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    process.kill()
    process.wait(5)
    process.stdout.close()


def test_a_second_lock_on_the_same_dir_is_refused_until_released(tmp_path: Path) -> None:
    first, second = WriteLock(tmp_path, "window"), WriteLock(tmp_path, "command line")
    assert first.try_acquire()
    assert first.held
    assert not second.try_acquire()
    assert not second.held
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_other_data_dirs_are_independent(tmp_path: Path) -> None:
    with WriteLock(tmp_path / "a", "window"), WriteLock(tmp_path / "b", "window") as b:
        assert b.held


def test_refusal_names_the_holder(tmp_path: Path) -> None:
    with WriteLock(tmp_path, "window"):
        contender = WriteLock(tmp_path, "command line")
        assert contender.owner() == LockOwner("window", os.getpid())
        with pytest.raises(StoreInUseError) as caught:
            contender.acquire()
    assert caught.value.holder_kind == "window"
    assert caught.value.holder_pid == os.getpid()
    assert f"in use by the Hearth window (process {os.getpid()})" in str(caught.value)


def test_the_owner_record_holds_no_more_than_pid_and_kind(tmp_path: Path) -> None:
    with WriteLock(tmp_path, "command line"):
        assert (tmp_path / OWNER_FILE).read_text() == (
            f'{{"pid": {os.getpid()}, "kind": "command line"}}'
        )
    assert not (tmp_path / OWNER_FILE).exists()


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"pid": "7", "kind": 3}'])
def test_an_unreadable_owner_record_means_an_unknown_holder(tmp_path: Path, content: str) -> None:
    (tmp_path / OWNER_FILE).write_text(content)
    owner = WriteLock(tmp_path, "window").owner()
    assert owner == LockOwner()
    assert owner.describe() == "another Hearth process"


def test_waiting_gets_the_lock_when_its_holder_lets_go(tmp_path: Path) -> None:
    first = WriteLock(tmp_path, "command line")
    first.acquire()
    releaser = threading.Timer(0.3, first.release)
    releaser.start()
    started = time.monotonic()
    second = WriteLock(tmp_path, "window")
    try:
        assert second.try_acquire(timeout=5)
        assert 0.2 <= time.monotonic() - started < 3
    finally:
        releaser.join()
        second.release()


def test_waiting_gives_up_after_the_timeout(tmp_path: Path) -> None:
    with WriteLock(tmp_path, "window"):
        started = time.monotonic()
        assert not WriteLock(tmp_path, "window").try_acquire(timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 2


def test_a_lock_held_by_another_process_is_refused(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    lock = WriteLock(tmp_path, "window")
    assert not lock.try_acquire()
    assert lock.owner() == LockOwner("command line", holder.pid)
    with pytest.raises(StoreInUseError, match=rf"a hearth command \(process {holder.pid}\)"):
        lock.acquire(timeout=0.1)


def test_killing_the_holder_releases_the_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    lock = WriteLock(tmp_path, "window")
    assert not lock.try_acquire()
    holder.kill()  # SIGKILL: no cleanup code runs in the holder
    holder.wait(5)
    assert lock.try_acquire(timeout=5)
    assert lock.owner() == LockOwner("window", os.getpid())  # the stale record was replaced
    lock.release()


def test_a_data_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot create its lock file"):
        WriteLock(blocker / "data", "window").try_acquire()
