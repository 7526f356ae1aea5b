"""The real app kept in the tray: closing the window hides it while the built-in model goes
on answering, and the tray's Quit ends Hearth for good, also in the middle of a reply
(engine host stopped, the store closed with the reply so far in it, the data folder free
for the next writer)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.storage.lock import WriteLock
from tests.integration.test_cli import hearth

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "tray test passphrase"

#: Runs Hearth with a tray (offscreen Qt has none: the availability check is forced, the
#: rest is real) and, once the model is ready, asks a question, closes the window, waits
#: for the reply to grow while the window is hidden, then chooses Quit in the tray's menu
#: while it is still being written.
DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSystemTrayIcon
import desktop.ui.shell.tray as tray_module

QSystemTrayIcon.isSystemTrayAvailable = staticmethod(lambda: True)
original = tray_module.install_tray

def install(app, window, behaviour, save, available=None):
    tray = original(app, window, behaviour, save, True)
    phase = ["loading"]

    def step():
        messages = window.chat_view.messages()
        if phase[0] == "loading" and not window.status_line.model_dot.isHidden():
            phase[0] = "answering"
            window.send_requested.emit("Write a long story about a lighthouse keeper.")
            window.close()
            print("hidden", not window.isVisible(), window.keep_in_tray, flush=True)
        elif phase[0] == "answering" and len(messages) == 2 and len(messages[1][1]) >= 40:
            phase[0] = "quitting"  # the reply grew while hidden; Quit while it streams
            print("written while hidden", window.stop_button.isEnabled(), flush=True)
            tray.quit_action.trigger()

    timer = QTimer(window)
    timer.timeout.connect(step)
    timer.start(100)
    return tray

tray_module.install_tray = install
from desktop.app import main
sys.exit(main(["--data-dir", sys.argv[1]]))
"""


@pytest.mark.slow
def test_the_tray_keeps_hearth_answering_and_quit_ends_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({"keep_in_tray": True}))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HEARTH_PASSPHRASE": PASSPHRASE,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "hidden True True" in done.stdout
    assert "written while hidden True" in done.stdout  # still streaming when Quit came

    log = (data / "logs" / "hearth.log").read_text(encoding="utf-8")
    started = re.findall(r"engine host (\d+) loading", log)
    ended = re.findall(r"engine host (\d+) ended", log)
    assert started and set(started) <= set(ended), log
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    assert "Hearth exiting (0)" in log

    lock = WriteLock(data, "window")
    assert lock.try_acquire()  # the store was closed and the folder released
    lock.release()
    export = tmp_path / "chats.json"
    secrets = {key: env[key] for key in ("HEARTH_PASSPHRASE", "PYTHON_KEYRING_BACKEND")}
    exported = hearth(data, "export", "--format", "json", str(export), **secrets)
    assert exported.returncode == 0, exported.stderr
    messages = json.loads(export.read_text())["conversations"][0]["messages"]
    reply = [m for m in messages if m["role"] == "assistant"]
    assert len(reply) == 1 and reply[0]["status"] != "streaming"
    assert len(reply[0]["content"]) >= 40  # what was written while hidden was kept
