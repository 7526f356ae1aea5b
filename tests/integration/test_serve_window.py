"""`hearth serve` from the window: the Privacy page's switch starts the API, answered by the
window's own inference thread and engine host (one process, the model the window loaded).
API requests queue with the window's replies; a client leaving stops only its request; the
window's Stop leaves the API's request alone. Driven with the official `openai` client."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import psutil
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import GenerationParams, LoadOptions
from desktop.paths import AppPaths
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.privacy.serve import ServeSection
from desktop.ui.shell.serve import WindowServe, serve_section, window_serve
from tests.integration.llama_server import free_port
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow
MODEL = "SmolLM2-135M-Instruct.Q4_1"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
LONG = "Write a very long story about a lighthouse keeper and his cat."


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _engine_hosts() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "desktop.inference.host.server" in " ".join(child.cmdline())
    ]


@dataclass
class Window:
    controller: ChatController
    inference: InferenceThread
    serve: WindowServe
    section: ServeSection
    token: str = ""

    def client(self) -> openai.OpenAI:
        base = f"http://127.0.0.1:{self.serve.port}/v1"
        return openai.OpenAI(base_url=base, api_key=self.token, max_retries=0)


@pytest.fixture
def window(
    qtbot: QtBot, tmp_path: Path, embedded_model: Path, memory_keyring: MemoryKeyring
) -> Iterator[Window]:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(
        inference,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        params=GenerationParams(max_tokens=64, temperature=0.0),
    )
    with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
        controller.load_model(embedded_model, LoadOptions(n_ctx=2048, n_threads=2))
    serve = window_serve(paths, inference, None)  # type: ignore[arg-type]
    serve.port = free_port()
    section = serve_section(serve)
    qtbot.addWidget(section)
    section.switch.setChecked(True)  # as a person would
    qtbot.waitUntil(lambda: _listening(serve.port), timeout=30_000)
    opened = Window(controller, inference, serve, section, section.status.text().rsplit(" ")[-1])
    yield opened
    serve.stop()
    controller.stop()
    controller.close()
    assert inference.stop()
    assert inference.qthread.wait(5000)


def _ask_in_a_thread(window: Window, max_tokens: int, leave_after: int = 0) -> dict[str, object]:
    """Stream a chat request from another thread; what came back, and when, in the dict."""
    got: dict[str, object] = {"pieces": []}

    def ask() -> None:
        stream = window.client().chat.completions.create(
            model=MODEL, messages=QUESTION, max_tokens=max_tokens, temperature=0, stream=True
        )
        pieces: list[str] = got["pieces"]  # type: ignore[assignment]
        for chunk in stream:
            piece = chunk.choices[0].delta.content if chunk.choices else None
            if piece:
                got.setdefault("first_at", time.monotonic())
                pieces.append(piece)
            if chunk.choices and chunk.choices[0].finish_reason:
                got["finish"] = chunk.choices[0].finish_reason
            if leave_after and len(pieces) >= leave_after:
                stream.close()  # the client goes away mid-stream
                break
        got["done_at"] = time.monotonic()

    thread = threading.Thread(target=ask, daemon=True)
    got["thread"] = thread
    thread.start()
    return got


def _joined(qtbot: QtBot, got: dict[str, object], timeout_s: float = 120) -> None:
    thread: threading.Thread = got["thread"]  # type: ignore[assignment]
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=int(timeout_s * 1000))


def test_the_switch_serves_the_window_model_with_one_engine_host(
    qtbot: QtBot, window: Window
) -> None:
    status = window.section.status.text()
    assert status.startswith(f"Serving on 127.0.0.1:{window.serve.port}/v1 — token (shown once")
    client = window.client()
    assert [m.id for m in client.models.list()] == [MODEL]
    reply = client.chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        max_tokens=16,
        temperature=0,  # type: ignore[arg-type]
    )
    assert "Paris" in (reply.choices[0].message.content or "")
    completion = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0
    )
    assert "Paris" in completion.choices[0].text
    with pytest.raises(openai.NotFoundError, match=f'no model "nope"; Hearth offers: {MODEL}'):
        client.chat.completions.create(model="nope", messages=QUESTION)  # type: ignore[arg-type]
    assert len(_engine_hosts()) == 1  # the window's: the API loaded no model of its own
    window.section.switch.setChecked(False)
    assert not _listening(window.serve.port) and window.section.status.text() == "Off."
    window.serve.set_serving(True)  # again: the token is the one kept, not shown again
    assert window.section.status.text().endswith("token: the one shown when it was made.")


def test_an_api_request_waits_for_the_window_reply(qtbot: QtBot, window: Window) -> None:
    controller = window.controller
    controller.params = GenerationParams(max_tokens=60, temperature=0.0)
    ended_at: list[float] = []  # on the inference thread, as the window's reply ends
    window.inference.worker.generation_finished.connect(
        lambda *_: ended_at.append(time.monotonic()), Qt.ConnectionType.DirectConnection
    )
    with qtbot.waitSignal(controller.assistant_text_changed, timeout=30_000):
        controller.send(LONG)
    got = _ask_in_a_thread(window, max_tokens=16)
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000) as ended:
        pass
    assert not ended.args[0].cancelled and ended.args[0].generated_tokens > 20
    _joined(qtbot, got)
    assert "Paris" in "".join(got["pieces"])  # type: ignore[arg-type]
    assert ended_at and got["first_at"] > ended_at[0]  # type: ignore[operator]
    assert len(_engine_hosts()) == 1


def test_a_client_leaving_stops_only_its_request_and_stop_only_the_window(
    qtbot: QtBot, window: Window, caplog: pytest.LogCaptureFixture
) -> None:
    controller = window.controller
    caplog.set_level(logging.INFO, logger="desktop.chat.serve_backend")
    # The API streams first; the window's question waits; the client leaves.
    got = _ask_in_a_thread(window, max_tokens=2000, leave_after=3)
    qtbot.waitUntil(lambda: len(got["pieces"]) >= 1, timeout=60_000)  # type: ignore[arg-type]
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000) as ended:
        controller.send("What is the capital of France?")
    _joined(qtbot, got)
    assert not ended.args[0].cancelled
    answer = controller.messages[-1].content
    assert "Paris" in answer
    cancelled = re.findall(r"a generation was cancelled after (\d+) tokens", caplog.text)
    assert cancelled and int(cancelled[0]) < 2000
    # The window's Stop, while an API request streams, stops only the window's reply.
    controller.params = GenerationParams(max_tokens=200, temperature=0.0)
    got = _ask_in_a_thread(window, max_tokens=24)
    qtbot.waitUntil(lambda: len(got["pieces"]) >= 1, timeout=60_000)  # type: ignore[arg-type]
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000) as ended:
        controller.send(LONG)
        controller.stop()
    _joined(qtbot, got)
    assert ended.args[0] is None or ended.args[0].cancelled
    assert got.get("finish") in ("length", "stop") and len(got["pieces"]) > 5  # type: ignore[arg-type]


def test_a_taken_port_is_said(qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    inference = InferenceThread(make_engine_factory()[0])
    serve = window_serve(paths, inference, None)  # type: ignore[arg-type]
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
