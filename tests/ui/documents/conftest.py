"""Fixtures for the Documents page: the real encrypted store, the real indexing thread
with the real parser child (stopped and joined in teardown)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from desktop.storage.conversations import ConversationStore
from desktop.storage.documents import DocumentStore
from desktop.ui.documents.indexing import IndexingThread
from desktop.ui.documents.page import DocumentsPage


@pytest.fixture
def docs(store: ConversationStore) -> DocumentStore:
    return DocumentStore(store.db)


@pytest.fixture
def indexing(docs: DocumentStore) -> Iterator[IndexingThread]:
    db = docs.db
    thread = IndexingThread(lambda: DocumentStore(db.another_connection()))
    thread.start()
    yield thread
    assert thread.stop(), "the indexing thread did not stop"


@pytest.fixture
def page(qtbot: QtBot, docs: DocumentStore, indexing: IndexingThread) -> Iterator[DocumentsPage]:
    page = DocumentsPage(docs, indexing)
    qtbot.addWidget(page)
    page.watch.stop()  # the tests rescan when they mean to
    page.show()
    yield page
    page.detach()
