"""The real window survives a model that aborts its engine, and goes on with another model.

A llama GGUF without byte tokens makes llama.cpp abort (uncaught C++ exception, SIGABRT) on
any text it cannot spell. The engine runs in the engine host process, so the window stays
up: the question is saved, the reply is saved with status error, the crash is said in the
chat, and choosing the built-in model answers the next question.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.chat.profiles import ChatProfiles
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.inference.registry import EngineRegistry
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from desktop.storage.migrations import open_and_migrate
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.pages import Pages
from tests.tinymodels import write_tiny_llama_gguf

pytestmark = pytest.mark.slow

CRASH_MESSAGE = (
    "The model crashed while reading your message (SIGABRT); your conversation is saved."
)


def type_text(widget: QWidget, text: str) -> None:
    """Type `text` key by key (QTest's keyClicks aborts on characters outside Latin-1)."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            QApplication.sendEvent(widget, event)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    db = open_and_migrate(tmp_path / "hearth.db", backup_dir=tmp_path / "backups")
    yield ConversationStore(db)
    db.close()


def test_a_model_that_aborts_the_engine_leaves_the_window_alive(
    qtbot: QtBot, tmp_path: Path, embedded_model: Path, store: ConversationStore
) -> None:
    aborting = write_tiny_llama_gguf(tmp_path / "no-bytes.gguf", byte_tokens=False)
    models = tmp_path / "models"
    models.mkdir()
    library = ModelLibrary(models, tmp_path / "models.json", embedded_model)
    profiles = ChatProfiles(
        library,
        AssistantStore(builtin_assistants_dir(), tmp_path / "assistants"),
        override_model=aborting,  # what `--model FILE` does
        session_settings={"context_length": 1024, "threads": 2},
    )
    factory, describer = make_engine_factory(EngineRegistry())
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(inference, store=store, profiles=profiles)
    window = build_main_window(controller)
    Pages(window, controller, profiles, BenchResults(tmp_path / "bench.json"))
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
            controller.start(str(aborting))
        assert controller.model is not None and controller.model.name == "no-bytes"

        # Typing measures the draft (the engine aborts then), sending aborts it again.
        type_text(window.composer, "café 你好")
        qtbot.wait(600)  # the context meter's delay, and its crash
        with qtbot.waitSignal(controller.generation_ended, timeout=30_000) as ended:
            qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        assert ended.args[0] is None  # failed
        assert window.isVisible()
        assert window.error_banner.isVisible()
        assert window.error_label.text() == CRASH_MESSAGE

        chat = controller.conversation_id
        assert chat is not None
        saved = store.branch(chat)
        assert [(m.role, m.content) for m in saved[:1]] == [("user", "café 你好")]
        assert saved[-1].role == "assistant" and saved[-1].status == "error"

        # Back to the built-in model: it answers, in the same window and conversation.
        with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
            controller.choose_model(EMBEDDED_KEY)
        qtbot.waitUntil(lambda: controller.model_ready, timeout=30_000)
        with qtbot.waitSignal(controller.generation_ended, timeout=60_000) as answered:
            window.composer.setPlainText("What is the capital of France?")
            qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        assert answered.args[0] is not None and answered.args[0].generated_tokens > 0
        reply = store.branch(chat)[-1]
        assert reply.status == "complete" and reply.content.strip()
        assert window.chat_view.messages()[-1] == ("assistant", reply.content)
    finally:
        controller.stop()
        controller.close()
        assert inference.stop()
