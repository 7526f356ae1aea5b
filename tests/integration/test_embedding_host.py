"""Embeddings run in an engine host child of their own: the real model, batched, normalised,
and a crashed child is a sentence, then a new child on the next call."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import EmbeddingError
from desktop.inference.host.embed_client import HostedEmbedder

pytestmark = pytest.mark.slow


def test_embeddings_come_from_a_child_and_rank_meaning(embedding_model_file: Path) -> None:
    embedder = HostedEmbedder(embedding_model_file)
    try:
        rows = embedder.embed(
            ["The cat sits on the mat.", "A kitten rests on a rug.", "Interest rates rose."]
        )
        assert embedder.pid is not None and embedder.pid != os.getpid()
        assert rows.shape == (3, 384) and embedder.dimensions == 384
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
        similar, unrelated = float(rows[0] @ rows[1]), float(rows[0] @ rows[2])
        assert similar > unrelated + 0.3
        assert embedder.embed([]).shape == (0, 384)

        first = embedder.pid
        os.kill(first, signal.SIGKILL)
        with pytest.raises(EmbeddingError, match="stopped unexpectedly; passages already"):
            embedder.embed(["after the crash"])
        again = embedder.embed(["The cat sits on the mat."])
        assert embedder.pid not in (None, first)
        assert float(again[0] @ rows[0]) > 0.999
    finally:
        embedder.close()
    assert embedder.pid is None


def test_a_file_that_is_not_a_model_is_a_sentence(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + bytes(64))
    embedder = HostedEmbedder(bogus)
    try:
        with pytest.raises(EmbeddingError, match=r"could not load bogus\.gguf"):
            embedder.embed(["anything"])
    finally:
        embedder.close()
