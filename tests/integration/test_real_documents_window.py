"""The real window, the built-in model, the real store, the real indexing and the real
embedding model together: a folder of a PDF and a note is dropped on the window, indexed
and embedded, and a question is answered with its sources, which open on the right page;
a question that shares no word with its passage finds it by meaning."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import GenerationParams, LoadOptions
from desktop.documents.searcher import DocumentSearcher
from desktop.inference.host.embed_client import HostedEmbedder
from desktop.storage.conversations import ConversationStore
from desktop.storage.documents import DocumentStore
from desktop.storage.migrations import open_and_migrate
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.documents.indexing import IndexingThread
from desktop.ui.documents.source_panel import SourcePanel
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.documents import DocumentsFeature
from tests import sample_docs

pytestmark = pytest.mark.slow


@pytest.fixture
def parts(
    qtbot: QtBot, embedded_model: Path, embedding_model_file: Path, tmp_path: Path
) -> Iterator[tuple[ChatController, DocumentsFeature, InferenceThread]]:
    db = open_and_migrate(tmp_path / "hearth.db", bytes(range(32)))
    docs = DocumentStore(db)
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(
        inference,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        params=GenerationParams(max_tokens=48, temperature=0.0),
        store=ConversationStore(db),
        documents=True,
    )
    find_model = partial(Path, embedding_model_file)
    inference.set_searcher(partial(DocumentSearcher, db.another_connection, find_model))
    window = build_main_window(controller)
    qtbot.addWidget(window)
    indexing = IndexingThread(
        lambda: DocumentStore(db.another_connection()),
        make_embedder=lambda: HostedEmbedder(embedding_model_file, n_threads=1),
    )
    feature = DocumentsFeature(window, controller, docs, indexing, SourcePanel(lambda _p: True))
    feature.start()
    window.show()
    with qtbot.waitSignal(controller.model_ready_changed, timeout=30_000):
        controller.load_model(embedded_model, LoadOptions(n_ctx=2048, n_threads=2))
    yield controller, feature, inference
    if feature.page is not None:
        feature.page.detach()
    controller.stop()
    controller.close()
    assert inference.stop()
    assert feature.indexing.stop()
    db.close()


def test_the_built_in_model_answers_with_sources(
    qtbot: QtBot, parts: tuple[ChatController, DocumentsFeature, InferenceThread], tmp_path: Path
) -> None:
    controller, feature, _ = parts
    folder = tmp_path / "Home"
    folder.mkdir()
    (folder / "manual.pdf").write_bytes(
        sample_docs.pdf_bytes(
            [["Boiler manual."], ["To reset the boiler, hold the red button for five seconds."]]
        )
    )
    (folder / "garden.md").write_text("# Garden\nWater the roses every week.", encoding="utf-8")
    with qtbot.waitSignal(feature.indexing.embedding_finished, timeout=60_000) as embedded:
        feature.add_dropped([folder])
    assert embedded.args is not None
    report = embedded.args[1]
    assert report.error is None and report.embedded == 3  # each page, and the note
    page = feature.page
    assert page is not None and "searchable by meaning" in page.progress_label.text()
    assert controller.collections  # the dropped folder is this chat's documents
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000):
        controller.send("How do I reset the boiler?")
    reply = controller.items[-1]
    assert reply.content.strip()
    assert reply.cited is not None
    first = reply.cited.sources[0]
    assert (Path(first.path).name, first.page) == ("manual.pdf", 2)
    feature.show_source(reply.cited, 1)
    assert feature.panel.where.text().startswith("page 2 · ")
    assert "reset" in feature.panel.passage.toPlainText()
    # The page itself, drawn by the parser child, with the question's words marked on it.
    view = feature.panel.page_view
    qtbot.waitUntil(lambda: view.note.text().startswith("Page 2 of 2"), timeout=20_000)
    assert "words of your question marked" in view.note.text()
    assert not view.image.pixmap().isNull() and view.first_mark_y is not None
    feature.panel.enlarge_page()  # a click on the page: the same page, readable
    dialog = feature.panel.page_dialog
    assert dialog is not None and dialog.windowTitle() == "manual.pdf, page 2"
    qtbot.waitUntil(lambda: dialog.view.has_page(), timeout=20_000)
    assert dialog.view.image.width() > 2 * view.image.width()
    dialog.close()


def test_a_question_in_other_words_finds_its_passage_by_meaning(
    qtbot: QtBot, parts: tuple[ChatController, DocumentsFeature, InferenceThread], tmp_path: Path
) -> None:
    controller, feature, inference = parts
    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "pets.md").write_text(
        "# Pets\nThe cat gets its food twice a day, at seven and at six.", encoding="utf-8"
    )
    (folder / "car.md").write_text(
        "# Car\nThe tyres are checked every month at the garage.", encoding="utf-8"
    )
    with qtbot.waitSignal(feature.indexing.embedding_finished, timeout=60_000):
        feature.add_dropped([folder])
    # Choosing the collection got the search ready before any question.
    worker = inference.worker
    qtbot.waitUntil(lambda: worker.searcher is not None, timeout=30_000)
    qtbot.waitUntil(lambda: worker.searcher is not None and worker.searcher.embedding_ready)
    # No word of the question is in the passage ("feed" is not "food", "kitten" not "cat").
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000):
        controller.send("When should I feed my kitten?")
    reply = controller.items[-1]
    assert reply.cited is not None and reply.cited.sources
    assert Path(reply.cited.sources[0].path).name == "pets.md"
