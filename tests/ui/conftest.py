"""Fixtures for the GUI tests: a scripted engine, the inference thread, controller, window.

Every fixture that starts the inference thread stops and joins it in its teardown
(a QThread destroyed while running aborts the process).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run straight from a checkout, before `pip install -e`
    sys.path.insert(0, str(ROOT))

from desktop.storage.conversations import ConversationStore  # noqa: E402
from desktop.storage.migrations import open_and_migrate  # noqa: E402
from desktop.ui.chat.controller import ChatController  # noqa: E402
from desktop.ui.chat.worker import InferenceThread  # noqa: E402
from desktop.ui.shell.app_window import build_main_window  # noqa: E402
from tests.ui.fakes import ChatApp, FakeEngineFactory  # noqa: E402


@pytest.fixture
def factory() -> FakeEngineFactory:
    return FakeEngineFactory()


@pytest.fixture
def inference(factory: FakeEngineFactory) -> Iterator[InferenceThread]:
    thread = InferenceThread(factory)
    thread.start()
    yield thread
    assert thread.stop(), "the inference thread did not stop"
    assert thread.qthread.wait(5000)
    assert all(engine.closed for engine in factory.engines)


@pytest.fixture
def chat_app(
    qtbot: QtBot, factory: FakeEngineFactory, inference: InferenceThread
) -> Iterator[ChatApp]:
    controller = ChatController(inference, system_prompt="You are a test.")
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield ChatApp(factory, inference, controller, window, qtbot)
    # `inference` (requested above) is stopped after this fixture's teardown.
    controller.stop()
    controller.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hearth.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[ConversationStore]:
    """A real (SQLCipher) database in a temporary directory, closed in teardown."""
    db = open_and_migrate(db_path, backup_dir=db_path.parent / "backups")
    yield ConversationStore(db)
    db.close()


@pytest.fixture
def stored_app(
    qtbot: QtBot, factory: FakeEngineFactory, inference: InferenceThread, store: ConversationStore
) -> Iterator[ChatApp]:
    """The `chat_app` with a conversation store: the window has a sidebar."""
    controller = ChatController(inference, system_prompt="You are a test.", store=store)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield ChatApp(factory, inference, controller, window, qtbot)
    if controller.generating:  # let the reply end while the store is still open
        with qtbot.waitSignal(controller.generation_ended, timeout=3000):
            controller.stop()
    controller.close()
