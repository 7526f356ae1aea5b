"""Vectors after words: the real embedding model (in its host child) fills `doc_vectors` in
the encrypted database batch by batch; a cancelled run continues where it stopped; search by
meaning, by words and both; removing a collection removes its vectors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import EmbeddingError
from desktop.documents.embedding import EmbeddingRun, EmbedProgress
from desktop.inference.host.embed_client import HostedEmbedder
from desktop.storage.db import Database
from desktop.storage.doc_vectors import VectorIndex
from desktop.storage.documents import DocumentStore, NewPassage
from desktop.storage.migrations import open_and_migrate

pytestmark = pytest.mark.slow
KEY = bytes(range(32))
PASSAGES = {
    "/d/garden.txt": [
        "Tomato plants need deep watering twice a week in summer.",
        "Prune the roses in late winter, before new growth starts.",
    ],
    "/d/car.txt": [
        "Check the tyre pressure monthly; under-inflated tyres waste fuel.",
        "Replace the engine oil every 15,000 kilometres.",
        "The spare wheel is under the boot floor.",
    ],
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_and_migrate(tmp_path / "hearth.db", KEY)
    yield database
    database.close()


@pytest.fixture
def embedder(embedding_model_file: Path) -> Iterator[HostedEmbedder]:
    hosted = HostedEmbedder(embedding_model_file)
    yield hosted
    hosted.close()


def fill(store: DocumentStore, name: str) -> int:
    collection = store.collection_id(name, create=True)
    assert collection is not None
    for path, texts in PASSAGES.items():
        store.add_pending(collection, [(path, "text")])
        file_id = store.file_id(collection, path)
        assert file_id is not None
        passages = [NewPassage(t, "", None) for t in texts]
        store.save_indexed(file_id, passages, size=1, mtime_ns=1, sha256="x", pages=None)
    return collection


def test_a_cancelled_run_continues_and_meaning_finds_what_words_miss(
    db: Database, embedder: HostedEmbedder
) -> None:
    store = DocumentStore(db, embed_query=lambda q: embedder.embed([q])[0])
    home = fill(store, "home")
    vectors = VectorIndex(db)
    assert store.search("how often should I water vegetables") != []  # words: "water"
    with pytest.raises(EmbeddingError, match="needs the embedding model and embedded"):
        store.search("vegetables", mode="meaning")  # nothing embedded yet
    assert [h.how for h in store.search("roses")] == ["words"]  # "both" falls back

    cancel, seen = threading.Event(), []

    def stop_after_first(progress: EmbedProgress) -> None:
        seen.append((progress.done, progress.total))
        if progress.done:
            cancel.set()

    first = EmbeddingRun(vectors, embedder, stop_after_first, cancel, batch=2).run()
    assert (first.embedded, first.cancelled, first.error) == (2, True, None)
    assert seen == [(0, 5), (2, 5)] and vectors.counts() == (2, 5)
    rest = EmbeddingRun(vectors, embedder, batch=2).run([home])
    assert (rest.embedded, rest.cancelled) == (3, False) and vectors.counts([home]) == (5, 5)

    meaning = store.search("when should I cut back flowering shrubs", mode="meaning")
    assert meaning[0].text.startswith("Prune the roses") and meaning[0].how == "meaning"
    assert store.search("when should I cut back flowering shrubs", mode="words") == []
    both = store.search("car tyres inflated", limit=3)
    assert both[0].text.startswith("Check the tyre pressure") and both[0].how == "both"
    assert both[0].score < both[1].score  # smaller is better, as for words
    assert store.search("quantum chromodynamics lattice", mode="meaning") == []  # too far


def test_removing_files_and_collections_removes_their_vectors(
    db: Database, embedder: HostedEmbedder
) -> None:
    store = DocumentStore(db)
    keep, gone = fill(store, "keep"), fill(store, "gone")
    assert EmbeddingRun(VectorIndex(db), embedder).run().embedded == 10
    assert db.scalar("SELECT count(*) FROM doc_vectors") == 10
    store.remove_collection(gone)
    assert db.scalar("SELECT count(*) FROM doc_vectors") == 5
    assert db.scalar("SELECT count(*) FROM doc_vector_data") == 5
    car = store.file_id(keep, "/d/car.txt")
    assert car is not None
    store.save_indexed(car, [NewPassage("new", "", None)], size=2, mtime_ns=2, sha256="y", pages=1)
    assert db.scalar("SELECT count(*) FROM doc_vectors") == 2  # the file's old vectors went
    assert db.scalar("SELECT count(*) FROM doc_vector_data") == 2
    assert VectorIndex(db).counts() == (2, 3)
