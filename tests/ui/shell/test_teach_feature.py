"""⋯ → Teach… in the window: refused in a sentence without the store, offered the
llama-family models otherwise, and "Chat with it" starts a new chat on the model with the
adapter (its decrypted copy reaches the engine's load), with a scripted engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.chat.profiles import ChatProfiles
from desktop.core.types import LoadOptions
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.storage.adapters import AdapterStore
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow
from desktop.ui.shell.teach import NO_STORE, TeachFeature
from tests import tinymodels
from tests.integration.test_adapters import tiny_adapter


@pytest.fixture
def app(
    qtbot: QtBot, tmp_path: Path, inference: InferenceThread, store: ConversationStore
) -> Iterator[tuple[ChatController, MainWindow, ChatProfiles, list[LoadOptions]]]:
    model = tinymodels.write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    profiles = ChatProfiles(
        ModelLibrary(tmp_path / "models", tmp_path / "models.json", model),
        AssistantStore(builtin_assistants_dir(), tmp_path / "assistants"),
    )
    controller = ChatController(inference, store=store, profiles=profiles)
    loads: list[LoadOptions] = []
    controller.load_requested.connect(lambda _id, _path, options: loads.append(options))
    window = build_main_window(controller)
    qtbot.addWidget(window)
    yield controller, window, profiles, loads
    controller.stop()
    controller.close()


def test_teach_opens_only_with_the_store_and_chat_with_it_uses_the_adapter(
    qtbot: QtBot,
    tmp_path: Path,
    store: ConversationStore,
    app: tuple[ChatController, MainWindow, ChatProfiles, list[LoadOptions]],
) -> None:
    controller, window, profiles, loads = app
    feature = TeachFeature(window, controller, profiles, missing=lambda: None)
    assert feature.open_page() is None
    assert window.error_label.text() == NO_STORE

    profiles.adapters = AdapterStore(store.db)
    page = feature.open_page()
    assert page is not None and page.isVisible()
    assert page.model_combo.count() == 1 and page.model_combo.itemText(0) == "tiny"
    data = tiny_adapter(tmp_path / "sea.gguf").read_bytes()
    profiles.adapters.add("sea", EMBEDDED_KEY, data, 4, "taught from 10 examples")

    feature.chat_with("adapter:sea")
    assert controller.conversation_id is None and not page.isVisible()  # a new chat, in front
    assert controller.profile is not None and controller.profile.model_key == "adapter:sea"
    adapter = loads[-1].adapter
    assert adapter is not None and Path(adapter).read_bytes() == data
    qtbot.waitUntil(lambda: controller.model_ready, timeout=5000)
    assert window.model_label.text().endswith(" · with adapter sea")  # it says it is on
    controller.unload_model()
    assert not Path(adapter).exists()  # the decrypted copy goes with the model
    feature.shutdown()


def test_a_training_component_added_meanwhile_is_seen_when_the_page_is_reopened(
    store: ConversationStore,
    app: tuple[ChatController, MainWindow, ChatProfiles, list[LoadOptions]],
) -> None:
    controller, window, profiles, _loads = app
    profiles.adapters = AdapterStore(store.db)
    reason: list[str | None] = ["Teaching is an add-on this build of Hearth does not include."]
    feature = TeachFeature(window, controller, profiles, missing=lambda: reason[0])
    page = feature.open_page()
    assert page is not None and page.missing_note.isVisible()
    assert page.missing_note.text() == reason[0]
    page.hide()

    reason[0] = None  # the add-on was installed while the window stayed open
    assert feature.open_page() is page
    assert page.missing is None and not page.missing_note.isVisible()
    feature.shutdown()
