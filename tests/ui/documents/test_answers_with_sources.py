"""Answers with sources in the window (scripted engine, real store, real indexing): a folder
dropped on the window is indexed, the chat answers from the chosen collection, the reply
lists its sources, a source opens in the side panel, and it all survives reopening."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.chat.request import ContextBudget
from desktop.core.errors import EmbeddingError
from desktop.documents.searcher import DocumentSearcher
from desktop.storage.conversations import ConversationStore
from desktop.storage.documents import DocumentStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.documents.indexing import IndexingThread
from desktop.ui.documents.source_panel import MARK_OPEN, SourcePanel
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.documents import DocumentsFeature
from tests.ui.fakes import ChatApp, FakeEngineFactory

pytestmark = pytest.mark.slow  # the parser runs in a child process


def no_model() -> Path:
    raise EmbeddingError("no embedding model in this test")


class DocsApp(ChatApp):
    feature: DocumentsFeature
    opened: list[str]


@pytest.fixture
def docs_app(
    qtbot: QtBot,
    factory: FakeEngineFactory,
    inference: InferenceThread,
    store: ConversationStore,
    docs: DocumentStore,
    indexing: IndexingThread,
) -> Iterator[DocsApp]:
    controller = ChatController(
        inference, system_prompt="You are a test.", store=store, documents=True
    )
    inference.set_searcher(partial(DocumentSearcher, docs.db.another_connection, no_model))
    window = build_main_window(controller)
    qtbot.addWidget(window)
    opened: list[str] = []

    def open_file(path: str) -> bool:
        opened.append(path)
        return not path.endswith(".md")  # as if no application opened Markdown

    feature = DocumentsFeature(window, controller, docs, indexing, SourcePanel(open_file))
    window.show()
    qtbot.waitExposed(window)
    app = DocsApp(factory, inference, controller, window, qtbot)
    app.feature, app.opened = feature, opened
    yield app
    if feature.page is not None:
        feature.page.detach()
    controller.close()


def test_a_dropped_folder_answers_with_sources_that_open(docs_app: DocsApp, tmp_path: Path) -> None:
    qtbot, window, controller = docs_app.qtbot, docs_app.window, docs_app.controller
    folder = tmp_path / "house"
    folder.mkdir()
    (folder / "boiler.md").write_text(
        "# Boiler\nTo reset the boiler, hold the red button for five seconds.", encoding="utf-8"
    )
    (folder / "garden.md").write_text("# Garden\nWater the roses weekly.", encoding="utf-8")
    with qtbot.waitSignal(docs_app.feature.indexing.run_finished, timeout=20_000):
        window.drop_files([folder])
    page = docs_app.feature.page
    assert page is not None and page.isVisible()
    collection = page.current_collection()
    assert collection is not None and collection.name == "house"
    picker = docs_app.feature.picker  # the chat answers from the folder dropped
    assert controller.collections == (collection.id,)
    assert picker.text() == "Documents: house"
    picker.toggle_collection(collection.id, False)
    assert controller.collections == () and picker.text() == "Documents: none"
    picker.toggle_collection(collection.id, True)
    assert controller.collections == (collection.id,)

    docs_app.load()
    docs_app.factory.tokens = ["Hold ", "the ", "red ", "button."]  # no [1]: sources still shown
    with qtbot.waitSignal(controller.generation_ended, timeout=5000):
        controller.send("How do I reset the boiler?")
    sent = docs_app.factory.requests[-1][-1].content
    assert sent.startswith("[1] boiler.md — Boiler\nTo reset the boiler, hold the red button")
    assert sent.endswith("Question: How do I reset the boiler?")
    bubble = window.chat_view.bubbles[-1]
    assert bubble.sources_label.isVisible()
    assert "boiler.md — Boiler" in bubble.sources_label.text()
    bubble.sources_label.linkActivated.emit("source:1")
    panel = docs_app.feature.panel
    assert panel.isVisible() and panel.title.text() == "[1] boiler.md"
    assert panel.where.text() == f"Boiler · {folder / 'boiler.md'}"
    assert panel.passage_html == (
        f"To {MARK_OPEN}reset</span> the {MARK_OPEN}boiler</span>, hold the red button for five "
        "seconds."
    )
    panel.open_button.click()
    assert docs_app.opened == [str(folder / "boiler.md")]
    assert panel.note.text() == "No application on this computer opens “boiler.md”."

    # Reopened (as after a restart: read back from the store), the sources and the choice stay.
    conversation = controller.conversation_id
    assert conversation is not None
    controller.set_collections([])
    assert controller.clear_conversation()
    assert controller.open_conversation(conversation)
    reply = controller.items[-1]
    assert reply.cited is not None and reply.cited.sources[0].path == str(folder / "boiler.md")
    assert controller.collections == (collection.id,) and picker.checked == (collection.id,)


def test_citations_in_the_reply_open_their_source(docs_app: DocsApp, tmp_path: Path) -> None:
    qtbot, window, controller = docs_app.qtbot, docs_app.window, docs_app.controller
    note = tmp_path / "boiler.md"
    note.write_text("# Boiler\nTo reset the boiler, hold the red button.", encoding="utf-8")
    with qtbot.waitSignal(docs_app.feature.indexing.run_finished, timeout=20_000):
        window.drop_files([note])
    docs_app.load()
    # "[1]" cites the one source; "[7]" cites nothing sent; code keeps its brackets.
    docs_app.factory.tokens = ["Hold ", "the red button [1]", " or [7]; ", "`a[1]`."]
    with qtbot.waitSignal(controller.generation_ended, timeout=5000):
        controller.send("How do I reset the boiler?")
    bubble = window.chat_view.bubbles[-1]
    shown = bubble.label.text()
    assert shown.count('href="source:1"') == 1 and "source:7" not in shown
    assert "a[1]" in shown
    bubble.label.linkActivated.emit("source:1")
    panel = docs_app.feature.panel
    assert panel.isVisible() and panel.title.text() == "[1] boiler.md"


def test_the_meter_counts_the_passages(
    docs_app: DocsApp, docs: DocumentStore, tmp_path: Path
) -> None:
    qtbot, controller = docs_app.qtbot, docs_app.controller
    note = tmp_path / "long.md"
    note.write_text("# Pumps\n" + "The pump primes itself slowly. " * 40, encoding="utf-8")
    with qtbot.waitSignal(docs_app.feature.indexing.run_finished, timeout=20_000):
        docs_app.feature.open_page().add_paths([note])
    controller.set_collections([])  # the first collection became the chat's: measure without
    docs_app.load()
    budgets: list[ContextBudget] = []
    controller.budget_changed.connect(budgets.append)
    with qtbot.waitSignal(controller.budget_changed, timeout=3000):
        controller.set_draft("How does the pump prime?")
    without = budgets[-1].prompt_tokens
    with qtbot.waitSignal(controller.budget_changed, timeout=3000):
        controller.set_collections([docs.collections()[0].id])
    assert budgets[-1].prompt_tokens > without + 200


def test_only_the_passages_that_fit_are_sent(
    docs_app: DocsApp, docs: DocumentStore, tmp_path: Path
) -> None:
    qtbot, controller, factory = docs_app.qtbot, docs_app.controller, docs_app.factory
    folder = tmp_path / "pumps"
    folder.mkdir()
    for n in range(4):  # four passages of ~160 words each about pumps
        (folder / f"pump{n}.md").write_text(f"# Pump {n}\n" + "the pump primes slowly " * 40)
    with qtbot.waitSignal(docs_app.feature.indexing.run_finished, timeout=20_000):
        docs_app.window.drop_files([folder])
    factory.n_ctx = 1000  # the engine counts words: room for about two passages
    controller.params = dataclasses.replace(controller.params, max_tokens=400)
    docs_app.load()
    with qtbot.waitSignal(controller.generation_ended, timeout=5000):
        controller.send("Why does the pump prime slowly?")
    sent = factory.requests[-1]
    assert factory.last.count_prompt_tokens(sent) <= 1000 - 400
    cited = controller.items[-1].cited
    assert cited is not None and 1 <= len(cited.sources) < 4
    assert sent[-1].content.count("[") == len(cited.sources) + 1  # and "[1]" in the instruction


def test_the_first_collection_made_in_the_page_is_the_chats(
    docs_app: DocsApp, tmp_path: Path
) -> None:
    qtbot, window, controller = docs_app.qtbot, docs_app.window, docs_app.controller
    actions = [a.text() for a in window.menu.actions() if a.text()]
    assert actions.index("Documents…") < actions.index("Quit Hearth")  # Quit stays last
    note = tmp_path / "boiler.md"
    note.write_text("# Boiler\nHold the red button.", encoding="utf-8")
    page = docs_app.feature.open_page()
    with qtbot.waitSignal(docs_app.feature.indexing.run_finished, timeout=20_000):
        page.add_paths([note])  # Add files…, not a drop
    qtbot.waitUntil(lambda: bool(controller.collections), timeout=5000)
    assert docs_app.feature.picker.text() == "Documents: My documents"
    controller.set_collections([])  # a later collection does not choose itself
    assert page.new_collection("Garden") is not None
    assert controller.collections == ()
