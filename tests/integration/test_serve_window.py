"""`hearth serve` from the window: the Privacy page's switch starts the API (its own engine
host with the built-in model), the status line shows the address and the token, and the
official `openai` client chats through it; switching off closes the port."""

from __future__ import annotations

import socket
from pathlib import Path

import openai
import pytest
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.paths import AppPaths
from desktop.ui.privacy.serve import ServeSection
from desktop.ui.shell.serve import serve_section, window_serve
from tests.integration.llama_server import free_port
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_switch_serves_the_model_and_stops(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    serve = window_serve(paths, make_engine_factory()[0], None)  # type: ignore[arg-type]
    serve.port = free_port()
    section: ServeSection = serve_section(serve)
    qtbot.addWidget(section)
    section.switch.setChecked(True)  # as a person would
    qtbot.waitUntil(lambda: _listening(serve.port), timeout=30_000)
    status = section.status.text()
    assert status.startswith(f"Serving on 127.0.0.1:{serve.port}/v1 — token (shown once, kept")
    token = status.rsplit(" ", 1)[1]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{serve.port}/v1", api_key=token)
    reply = client.chat.completions.create(
        model="SmolLM2-135M-Instruct.Q4_1",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=16,
        temperature=0,
    )
    assert "Paris" in (reply.choices[0].message.content or "")
    section.switch.setChecked(False)
    assert not _listening(serve.port) and section.status.text() == "Off."
    serve.set_serving(True)  # again: the token is the one kept, not shown again
    assert section.status.text().endswith("token: the one shown when it was made.")
    serve.stop()


def test_a_taken_port_is_said(qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    serve = window_serve(paths, make_engine_factory()[0], None)  # type: ignore[arg-type]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        serve.port = taken.getsockname()[1]
        with qtbot.waitSignal(serve.status_changed, timeout=30_000):
            serve.set_serving(True)
            qtbot.waitUntil(lambda: not serve.serving, timeout=30_000)
    assert (
        serve.status
        == f"Port {serve.port} of 127.0.0.1 is taken (Address already in use). Not serving."
    )
