"""The real window, worker thread and embedded model together, driven like a person would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import GenerationParams, GenerationStats, LoadOptions
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow

pytestmark = pytest.mark.slow


@pytest.fixture
def real_app(qtbot: QtBot, embedded_model: Path) -> Iterator[tuple[ChatController, MainWindow]]:
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(
        inference,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        params=GenerationParams(max_tokens=64, temperature=0.0),
    )
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
        controller.load_model(embedded_model, LoadOptions(n_ctx=2048, n_threads=2))
    yield controller, window
    controller.stop()
    controller.close()
    assert inference.stop()
    assert inference.qthread.wait(5000)


def test_asks_and_streams_the_answer(
    qtbot: QtBot, real_app: tuple[ChatController, MainWindow]
) -> None:
    controller, window = real_app
    assert "SmolLM2" in window.model_label.text() or "Smollm2" in window.model_label.text()
    tokens: list[str] = []
    controller.assistant_text_changed.connect(tokens.append)
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000) as ended:
        qtbot.keyClicks(window.composer, "What is the capital of France?")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    stats = ended.args[0]
    assert isinstance(stats, GenerationStats)
    assert stats.generated_tokens > 2
    answer = [text for role, text in window.chat_view.messages() if role == "assistant"][-1]
    assert "Paris" in answer
    assert len(tokens) >= 1  # the text arrived while it streamed


def test_stop_ends_a_long_real_generation_quickly(
    qtbot: QtBot, real_app: tuple[ChatController, MainWindow]
) -> None:
    controller, window = real_app
    controller.params = GenerationParams(max_tokens=1000, temperature=0.0)
    with qtbot.waitSignal(controller.assistant_text_changed, timeout=30_000):
        qtbot.keyClicks(window.composer, "Write a very long story about a lighthouse keeper.")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    with qtbot.waitSignal(controller.generation_ended, timeout=5000) as ended:
        pressed = time.monotonic()
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    elapsed = time.monotonic() - pressed
    assert ended.args[0].cancelled
    assert elapsed < 0.2, f"Stop took {elapsed * 1000:.0f} ms"
    # A follow-up still works, and sees the earlier turn.
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000):
        qtbot.keyClicks(window.composer, "What is the capital of France?")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    answer = [text for role, text in window.chat_view.messages() if role == "assistant"][-1]
    assert "Paris" in answer


def test_a_stopped_real_reply_continues_where_it_stopped(
    qtbot: QtBot, real_app: tuple[ChatController, MainWindow]
) -> None:
    controller, window = real_app
    controller.params = GenerationParams(max_tokens=48, temperature=0.0)
    pieces: list[str] = []
    controller.assistant_text_changed.connect(pieces.append)
    with qtbot.waitSignal(controller.generation_ended, timeout=30_000):
        qtbot.keyClicks(window.composer, "Write a short poem about the sea.")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: len(pieces) >= 3, timeout=30_000)
        controller.stop()
    partial = controller.items[-1].content
    assert partial.strip() and controller.items[-1].status == "cancelled"
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000) as ended:
        assert controller.continue_reply()
    continued = controller.items[-1].content
    assert continued.startswith(partial) and len(continued) > len(partial)
    assert ended.args[0].generated_tokens > 0
    assert window.chat_view.messages()[-1] == ("assistant", continued)


def test_a_chat_longer_than_the_context_keeps_answering_with_old_turns_marked(
    qtbot: QtBot, real_app: tuple[ChatController, MainWindow], embedded_model: Path
) -> None:
    """The embedded model with a 256-token window: the fourth long question pushes the
    first exchanges out; the reply still comes, and those messages are marked."""
    controller, window = real_app
    with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
        controller.load_model(embedded_model, LoadOptions(n_ctx=256, n_threads=2))
    qtbot.waitUntil(lambda: controller.model_ready, timeout=30_000)
    controller.params = GenerationParams(max_tokens=40, temperature=0.0)
    left_out: list[int] = []
    controller.left_out_changed.connect(left_out.append)
    topics = ["lighthouses", "sailing ships", "tide tables", "storm lanterns"]
    for topic in topics:
        question = f"Tell me three facts about {topic}, the people who used them, and why."
        with qtbot.waitSignal(controller.generation_ended, timeout=60_000) as ended:
            window.composer.setPlainText(question)
            qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        assert ended.args[0] is not None, window.error_label.text()
        assert not window.error_banner.isVisible()
        assert window.chat_view.messages()[-1][1].strip()
    view = window.chat_view
    assert max(left_out) >= 2 and view.left_out >= 2
    assert view.is_left_out(0) and not view.is_left_out(len(view.bubbles) - 1)
    assert view.left_out_note.isVisible()
