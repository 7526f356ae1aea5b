"""An assistant's document collections: chosen in its editor's Documents tab, saved in its
file, and taken by each new chat with it (real assistant store, real encrypted store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.chat.profiles import ChatProfiles
from desktop.core.assistants import AssistantError, assistant_from_dict
from desktop.inference.library import ModelLibrary
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from desktop.storage.documents import DocumentStore
from desktop.ui.assistants.collections import NONE_YET
from desktop.ui.assistants.page import AssistantsPage
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from tests.tinymodels import write_tiny_llama_gguf


@pytest.fixture
def profiles(tmp_path: Path) -> ChatProfiles:
    models = tmp_path / "models"
    models.mkdir()
    embedded = write_tiny_llama_gguf(tmp_path / "built-in.gguf", name="built-in")
    library = ModelLibrary(models, tmp_path / "models.json", embedded)
    return ChatProfiles(library, AssistantStore(builtin_assistants_dir(), tmp_path / "mine"))


@pytest.fixture
def controller(
    inference: InferenceThread, store: ConversationStore, profiles: ChatProfiles
) -> Iterator[ChatController]:
    controller = ChatController(inference, store=store, profiles=profiles, documents=True)
    controller.start()
    yield controller
    controller.stop()
    controller.close()


def test_an_assistants_collections_are_chosen_saved_and_used_by_its_new_chats(
    qtbot: QtBot,
    docs: DocumentStore,
    profiles: ChatProfiles,
    controller: ChatController,
    tmp_path: Path,
) -> None:
    contracts = docs.collection_id("Contracts", create=True)
    notes = docs.collection_id("Notes", create=True)
    assert contracts is not None and notes is not None
    mine = profiles.assistants.create("Lawyer", "You read contracts.", ())
    page = AssistantsPage(
        profiles.assistants,
        lambda: [],
        collection_choices=lambda: [(c.id, c.name) for c in docs.collections()],
    )
    qtbot.addWidget(page)
    page.select(mine.id)
    chooser = page.editor.documents
    names = [chooser.list.item(r).text() for r in range(chooser.list.count())]
    assert names == ["Contracts", "Notes"]
    chooser.list.item(0).setCheckState(Qt.CheckState.Checked)
    assert page.editor.is_dirty()
    page.save()
    saved = json.loads((tmp_path / "mine" / f"{mine.id}.json").read_text(encoding="utf-8"))
    assert saved["collections"] == [contracts]

    controller.choose_assistant(mine.id)  # a chat no document has answered in yet
    assert controller.collections == (contracts,)
    controller.set_collections([notes])  # the chat may change them
    assert controller.new_conversation()
    assert controller.collections == (contracts,)  # a new chat starts from the assistant's

    docs.remove_collection(contracts)  # a collection that is gone stays named, marked so
    page.editor.load(profiles.assistants.get(mine.id))
    assert chooser.list.item(chooser.list.count() - 1).text().startswith("A removed collection")


def test_without_collections_the_tab_says_where_to_add_them(
    qtbot: QtBot, profiles: ChatProfiles
) -> None:
    page = AssistantsPage(profiles.assistants, lambda: [], collection_choices=lambda: [])
    qtbot.addWidget(page)
    page.select("general")
    assert page.editor.documents.hint.text() == NONE_YET
    assert not page.editor.documents.list.isEnabled()  # a built-in is read-only


def test_a_damaged_collections_entry_is_refused_with_a_reason() -> None:
    data = {"id": "x", "name": "X", "system_prompt": "", "collections": ["Contracts"]}
    with pytest.raises(AssistantError, match="collections are not a list of collection numbers"):
        assistant_from_dict(data)
    data["collections"] = [3, 3, 5]
    assert assistant_from_dict(data).collections == (3, 5)
