"""Sentence embeddings with llama.cpp: a `Llama(embedding=True)` over a BERT GGUF.

Used only inside the engine host child (`host.server`), never in the window's or the
command line's process. `embed(texts)` returns one L2-normalised float32 row per text (mean
pooling is in the file); texts longer than the context are cut at its end. Owned by the
child's main thread, like every engine.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import EmbeddingError
from desktop.inference.llamacpp_engine import import_llama_cpp

log = logging.getLogger("hearth.embedder")
N_CTX = 512  # the model's positions; it was trained on 256-token texts


class LlamaEmbedder:
    """One loaded embedding model. See the module docstring."""

    def __init__(self, path: Path, n_threads: int = 2) -> None:
        llama_cpp = import_llama_cpp()
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
                self._llm: Any = llama_cpp.Llama(
                    model_path=str(path),
                    embedding=True,
                    n_ctx=N_CTX,
                    n_batch=N_CTX,
                    n_ubatch=N_CTX,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=True,
                )
        except (ValueError, RuntimeError, OSError) as error:
            raise EmbeddingError(f"llama.cpp could not load {path.name}: {error}") from error
        finally:
            for line in captured.getvalue().splitlines():
                log.debug("%s", line)
        self._llm.verbose = False
        self.dimensions = int(self._llm.n_embd())

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        rows = np.asarray(self._llm.embed(list(texts), truncate=True), dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        result: np.ndarray[Any, np.dtype[np.float32]] = rows / np.maximum(norms, 1e-12)
        return result

    def close(self) -> None:
        self._llm.close()
