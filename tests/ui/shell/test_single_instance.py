"""The local socket that lets a second launch bring the running window forward."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.ui.shell.single_instance import (
    InstanceServer,
    bring_to_front,
    request_activation,
    server_name,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InstanceServer]:
    instance = InstanceServer(server_name(tmp_path / "data"))
    assert instance.listen(replace_stale=True)
    yield instance
    instance.close()


def test_server_names_are_short_stable_and_per_data_dir(tmp_path: Path) -> None:
    name = server_name(tmp_path / "data")
    assert name == server_name(tmp_path / "other" / ".." / "data")
    assert name != server_name(tmp_path / "data2")
    assert name.startswith("hearth-")
    assert len(name) <= 30


def test_an_activate_request_is_acknowledged_and_signalled(
    qtbot: QtBot, server: InstanceServer
) -> None:
    client = QLocalSocket()
    with qtbot.waitSignal(server.activation_requested, timeout=5000):
        client.connectToServer(server.name)
        client.write(b"activ")
        client.flush()
        qtbot.wait(50)  # the request may arrive in pieces
        client.write(b"ate\n")
    received = bytearray()

    def acknowledged() -> bool:
        received.extend(client.readAll().data())
        return bytes(received) == b"ok\n"

    qtbot.waitUntil(acknowledged, timeout=5000)
    client.abort()


def test_an_unknown_request_is_ignored_and_disconnected(
    qtbot: QtBot, server: InstanceServer
) -> None:
    client = QLocalSocket()
    with (
        qtbot.assertNotEmitted(server.activation_requested, wait=200),
        qtbot.waitSignal(client.disconnected, timeout=5000),
    ):
        client.connectToServer(server.name)
        client.write(b"quit\n")
    assert client.readAll().data() == b""


def test_request_activation_from_another_process(qtbot: QtBot, server: InstanceServer) -> None:
    script = (
        "import sys; from desktop.ui.shell.single_instance import request_activation; "
        "print(request_activation(sys.argv[1], timeout_s=5))"
    )
    with qtbot.waitSignal(server.activation_requested, timeout=10000):
        process = subprocess.Popen(
            [sys.executable, "-c", script, server.name],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=10000)
    assert process.communicate()[0].strip() == "True"


def test_request_activation_without_a_window_is_false(qtbot: QtBot, tmp_path: Path) -> None:
    assert not request_activation(server_name(tmp_path / "nobody"), timeout_s=0.5)


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave nothing behind")
def test_a_stale_socket_left_by_a_crash_is_replaced(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(tmp_path / "crashed")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(os.path.join(QDir.tempPath(), name))
    stale.close()  # the file stays, as after a crash
    assert not request_activation(name, timeout_s=0.5)
    server = InstanceServer(name)
    try:
        assert server.listen(replace_stale=True)
        with qtbot.waitSignal(server.activation_requested, timeout=5000):
            client = QLocalSocket()
            client.connectToServer(name)
            client.write(b"activate\n")
        client.abort()
    finally:
        server.close()


def test_a_live_window_is_never_displaced(qtbot: QtBot, server: InstanceServer) -> None:
    latecomer = InstanceServer(server.name)
    try:
        assert not latecomer.listen(replace_stale=False)
        assert not latecomer.listening
        with (
            qtbot.assertNotEmitted(latecomer.activation_requested, wait=100),
            qtbot.waitSignal(server.activation_requested, timeout=5000),
        ):
            client = QLocalSocket()
            client.connectToServer(server.name)
            client.write(b"activate\n")
        client.abort()
    finally:
        latecomer.close()


def test_bring_to_front_restores_a_minimized_window(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()
    assert window.isMinimized()
    bring_to_front(window)
    assert not window.isMinimized()
    assert window.isVisible()


def test_an_activation_heard_before_the_window_exists_is_applied_to_it(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second launch may knock while the store is being unlocked (the event loop turns
    then): the request is kept and the window comes forward once it exists."""

    from desktop import app as hearth_app

    brought: list[QWidget] = []
    monkeypatch.setattr(hearth_app, "bring_to_front", brought.append)
    activation = hearth_app._Activation()
    activation.requested()
    window = QWidget()
    qtbot.addWidget(window)
    assert brought == []
    activation.attach(window)
    assert brought == [window]
    activation.requested()
    assert brought == [window, window]
