"""The window names each reply's conversation to the engine (so its model state can be kept
on disk), and deleting the conversation deletes its kept states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.inference.kv_disk import DiskStates, KeptStates, label_for
from desktop.inference.kv_states import SavedState
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.conversations.sidebar import Sidebar
from desktop.ui.shell.app_window import build_main_window
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp, FakeEngineFactory


@pytest.fixture
def kept(tmp_path: Path) -> KeptStates:
    states = KeptStates(tmp_path / "states", budget=1 << 20)
    states.unlock(bytes(range(32)))
    return states


@pytest.fixture
def app(
    qtbot: QtBot,
    factory: FakeEngineFactory,
    inference: InferenceThread,
    store: ConversationStore,
    kept: KeptStates,
) -> Iterator[ChatApp]:
    controller = ChatController(inference, store=store, forget_states=kept.forget)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    yield ChatApp(factory, inference, controller, window, qtbot)
    controller.close()


def test_a_reply_names_its_conversation_and_deleting_it_forgets_its_state(
    app: ChatApp, kept: KeptStates
) -> None:
    app.load()
    ask(app, "Keep my state")
    conversation = app.controller.conversation_id
    assert conversation is not None
    assert app.factory.last.params[-1].state_label == label_for(conversation)
    config = kept.config()
    assert config is not None
    states = DiskStates(config)
    state = SavedState("prompt", (1,), (1, 2), b"kv" * 100)
    states.write("model", label_for(conversation), state)
    states.write("model", label_for(conversation + 1), SavedState("other", (1,), (1,), b"x"))
    sidebar = app.window.sidebar
    assert isinstance(sidebar, Sidebar)
    sidebar.delete_conversation(conversation)
    assert states.find("model", "prompt and more") is None
    assert states.find("model", "other and more") is not None  # another chat's stays
