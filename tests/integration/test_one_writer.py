"""One writer per data dir: windows and `hearth` commands as the separate processes they are.

The window runs headless (offscreen) with a model path that does not exist, so it starts in
a second and loads nothing. Its log (`<data_dir>/logs/hearth.log`) says what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import ALREADY_RUNNING, InstanceClaim, _claim_single_instance
from desktop.cli import main as cli
from desktop.cli.store import open_store
from desktop.cli.vault import database_key, make_vault
from desktop.core.errors import DatabaseError
from desktop.paths import AppPaths
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import open_database
from desktop.storage.lock import WriteLock
from desktop.storage.migrations import open_and_migrate
from desktop.ui.shell.single_instance import request_activation, server_name

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LISTENING = "listening for later launches"
ACTIVATED = "window activated by a second launch"
WINDOW_LOCKED = "taken (window)"

# Another process holding the lock (argv: data dir, kind) until a line arrives on its stdin.
# As a "window" it is in the middle of a reply (a message still `streaming`), as the real
# window would be.
HOLDER = """
import sys
from pathlib import Path
from desktop.storage.conversations import ConversationStore
from desktop.storage.lock import WriteLock
from desktop.storage.migrations import open_and_migrate
data_dir, kind = Path(sys.argv[1]), sys.argv[2]
lock = WriteLock(data_dir, kind)
assert lock.try_acquire()
if kind == "window":  # the window's store: encrypted, its key kept as the window keeps it
    from desktop.cli.vault import database_key, make_vault
    from desktop.paths import AppPaths
    key = database_key(make_vault(AppPaths.resolve(data_dir)), interactive=False)
    store = ConversationStore(open_and_migrate(data_dir / "hearth.db", key=key))
    conversation = store.create_conversation(title="Bread")
    question = store.add_message(conversation.id, "user", "How long does sourdough rise?")
    store.add_message(conversation.id, "assistant", "Usually four to", status="streaming")
print("locked", flush=True)
sys.stdin.readline()
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def hearth(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One `hearth` run (window or command) to its end."""
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def key_of(data_dir: Path) -> bytes | None:
    """The store's key, as any Hearth process gets it (here: HEARTH_PASSPHRASE or keychain)."""
    return database_key(make_vault(AppPaths.resolve(data_dir)), interactive=False)


def log_text(data_dir: Path) -> str:
    path = data_dir / "logs" / "hearth.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def wait_for_log(data_dir: Path, text: str, count: int = 1, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while log_text(data_dir).count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} x{count} not logged:\n{log_text(data_dir)}"
        time.sleep(0.05)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def launch(data_dir: Path, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start windows on `data_dir` (appended to the list); all are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait(10)


def start_window(data_dir: Path, started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "--model", "none.gguf"],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.append(process)
    return process


@pytest.fixture
def holder(data_dir: Path, request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock as `request.param` (a kind) until told to stop."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), request.param],
        cwd=ROOT,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    process.kill()
    process.wait(10)
    process.stdout.close()
    process.stdin.close()


def test_a_second_launch_brings_the_window_forward_and_a_killed_window_frees_the_dir(
    data_dir: Path, launch: list[subprocess.Popen[bytes]]
) -> None:
    first = start_window(data_dir, launch)
    wait_for_log(data_dir, LISTENING)
    second = hearth(data_dir, "--model", "none.gguf")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == ALREADY_RUNNING
    wait_for_log(data_dir, ACTIVATED)
    assert first.poll() is None
    assert log_text(data_dir).count(WINDOW_LOCKED) == 1  # the second never took the lock

    first.kill()  # no clean-up runs: the lock and the socket file are left to the OS
    first.wait(10)
    start_window(data_dir, launch)
    wait_for_log(data_dir, LISTENING, count=2)  # took the lock and replaced the stale socket
    assert log_text(data_dir).count(WINDOW_LOCKED) == 2
    fourth = hearth(data_dir, "--model", "none.gguf")
    assert fourth.returncode == 0, fourth.stderr
    wait_for_log(data_dir, ACTIVATED, count=2)


def test_commands_that_write_refuse_while_the_window_runs(
    data_dir: Path, tmp_path: Path, launch: list[subprocess.Popen[bytes]]
) -> None:
    window = start_window(data_dir, launch)
    wait_for_log(data_dir, LISTENING)
    holder = f"in use by the Hearth window (process {window.pid})"

    asked = hearth(data_dir, "ask", "--model", "none.gguf", "Remember Quillbury")
    assert asked.returncode == 1
    assert holder in asked.stderr
    assert "Close it to save this exchange, or add --no-save" in asked.stderr
    assert "does not exist" not in asked.stderr  # refused before even looking for the model

    source = tmp_path / "in.json"
    source.write_text(json.dumps(_export_of("Imported Quillbury")))
    imported = hearth(data_dir, "import", str(source))
    assert imported.returncode == 1
    assert holder in imported.stderr
    assert "Nothing was imported; close it" in imported.stderr
    assert "Traceback" not in asked.stderr + imported.stderr

    assert hearth(data_dir, "search", "Quillbury").returncode == 1  # reads work: no match
    window.kill()
    window.wait(10)
    again = hearth(data_dir, "import", str(source))  # the dead window's lock is gone
    assert again.returncode == 0, again.stderr
    assert "Imported Quillbury" in hearth(data_dir, "search", "Quillbury").stdout


@pytest.mark.parametrize("holder", ["window"], indirect=True)
def test_reads_beside_the_window_leave_its_streaming_reply_alone(
    data_dir: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    found = hearth(data_dir, "search", "sourdough")
    assert found.returncode == 0, found.stderr
    assert "How long does **sourdough** rise?" in found.stdout
    out = tmp_path / "out.json"
    exported = hearth(data_dir, "export", "--format", "json", str(out))
    assert exported.returncode == 0, exported.stderr
    messages = json.loads(out.read_text())["conversations"][0]["messages"]
    assert [m["status"] for m in messages] == ["complete", "streaming"]
    db = open_database(data_dir / "hearth.db", key=key_of(data_dir))
    try:
        assert db.scalar("SELECT status FROM messages WHERE role = 'assistant'") == "streaming"
    finally:
        db.close()


@pytest.mark.parametrize("holder", ["command line"], indirect=True)
def test_a_window_waits_for_a_command_to_finish_saving(
    data_dir: Path, holder: subprocess.Popen[str], launch: list[subprocess.Popen[bytes]]
) -> None:
    start_window(data_dir, launch)
    wait_for_log(data_dir, f"waiting for a hearth command (process {holder.pid})")
    assert WINDOW_LOCKED not in log_text(data_dir)
    assert holder.stdin is not None
    holder.stdin.write("done\n")  # the command finishes
    holder.stdin.flush()
    assert holder.wait(10) == 0
    wait_for_log(data_dir, WINDOW_LOCKED)
    wait_for_log(data_dir, LISTENING)
    assert "will not save" not in log_text(data_dir)


def test_a_window_opens_without_saving_while_a_command_keeps_the_lock(
    qtbot: QtBot, data_dir: Path
) -> None:
    paths = AppPaths.resolve(data_dir).ensure()
    with WriteLock(data_dir, "command line"):
        claim = _claim_single_instance(paths, wait_s=0.2)
        assert isinstance(claim, InstanceClaim)
        try:
            assert claim.lock is None
            assert claim.refusal is not None
            assert f"a hearth command (process {os.getpid()})" in claim.refusal
            assert "will not be saved" in claim.refusal
            assert claim.server is not None and claim.server.listening  # reachable for later
        finally:
            claim.release()


def test_a_window_that_does_not_answer_is_reported(
    qtbot: QtBot, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = AppPaths.resolve(data_dir).ensure()
    with WriteLock(data_dir, "window"):  # a window that never listens (hung)
        assert _claim_single_instance(paths, answer_wait_s=0.3) == 1
    assert "Hearth is already running" in capsys.readouterr().err
    assert not request_activation(server_name(data_dir), timeout_s=0.2)


def test_a_read_that_needs_a_migration_is_refused_while_the_window_writes(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_database(data_dir / "hearth.db").close()  # schema version 0
    with WriteLock(data_dir, "window"):
        code = cli.main(["--data-dir", str(data_dir), "search", "bread"], out=StringIO())
    assert code == 1
    assert "needs upgrading" in capsys.readouterr().err
    db = open_database(data_dir / "hearth.db", key=key_of(data_dir))
    try:
        assert db.scalar("PRAGMA user_version") == 0  # nothing was written
    finally:
        db.close()


def test_a_read_beside_the_window_cannot_write(data_dir: Path) -> None:
    paths = AppPaths.resolve(data_dir)
    open_and_migrate(paths.database_path).close()
    with WriteLock(data_dir, "window"), open_store(paths, writing=False) as store:
        with pytest.raises(DatabaseError):
            store.create_conversation(title="sneaky")
        assert store.list_conversations() == []


def test_a_write_waits_for_another_command(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps(_export_of("Patient import")))
    other = WriteLock(data_dir, "command line")
    other.acquire()
    releaser = threading.Timer(0.3, other.release)
    releaser.start()
    try:
        out = StringIO()
        assert cli.main(["--data-dir", str(data_dir), "import", str(source)], out=out) == 0
    finally:
        releaser.join()
    assert "Imported 1 conversation" in out.getvalue()
    store = ConversationStore(open_and_migrate(data_dir / "hearth.db", key=key_of(data_dir)))
    try:
        assert [c.title for c in store.list_conversations()] == ["Patient import"]
    finally:
        store.db.close()


def _export_of(title: str) -> dict[str, object]:
    now = "2026-01-31T12:00:00+00:00"
    return {
        "format": "hearth-conversations",
        "version": 1,
        "conversations": [
            {
                "title": title,
                "created_at": now,
                "updated_at": now,
                "pinned": False,
                "current_leaf_id": 1,
                "messages": [
                    {
                        "id": 1,
                        "parent_id": None,
                        "role": "user",
                        "content": title,
                        "status": "complete",
                        "created_at": now,
                    }
                ],
            }
        ],
    }
