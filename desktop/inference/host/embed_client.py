"""`HostedEmbedder`: sentence embeddings computed in an engine host child of their own.

A separate host from the chat model's, so indexing never waits for a reply and a reply never
waits for indexing. The child starts on the first `embed()` and loads the model; each call
is one batch (the caller checks its cancel flag between batches). A child that crashes or
does not answer within `timeout_s` is killed and the call raises `EmbeddingError`; the next
call starts a new one. `close()` ends the child.

Owned by one thread (an indexing worker, or the command line's main thread).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import EmbeddingError
from desktop.inference.host import protocol
from desktop.inference.host.client import _Child, default_command

log = logging.getLogger("hearth.host")
LOAD_TIMEOUT_S = 60.0
BATCH_TIMEOUT_S = 300.0  # a batch of 256-token passages on one slow core


class HostedEmbedder:
    """Embeds texts with the GGUF embedding model at `model_path`. See the module docstring."""

    def __init__(
        self,
        model_path: Path,
        n_threads: int = 2,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout_s: float = BATCH_TIMEOUT_S,
    ) -> None:
        self.model_path = model_path
        self._threads = n_threads
        self._command = list(command or default_command())
        self._env = env
        self._timeout_s = timeout_s
        self._child: _Child | None = None
        self._next_id = 0
        self.dimensions: int | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None and self._child.alive() else None

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One L2-normalised float32 row per text, in order."""
        child = self._ready()
        event = self._call(child, "embed", self._timeout_s, texts=list(texts))
        rows: np.ndarray[Any, np.dtype[np.float32]] = protocol.decode_vectors(event)
        return rows

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.close()  # asks it to end; kills it if it does not

    def _ready(self) -> _Child:
        if self._child is not None and self._child.alive():
            return self._child
        self.close()
        child = _Child(self._command, self._env)
        self._child = child
        path, threads = str(self.model_path), self._threads
        event = self._call(child, "embed_load", LOAD_TIMEOUT_S, path=path, n_threads=threads)
        self.dimensions = int(event["dims"])
        return child

    def _call(self, child: _Child, op: str, timeout_s: float, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        request_id = self._next_id
        child.send({"op": op, "id": request_id, **fields})
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                event = child.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._end(child)
                raise EmbeddingError(
                    f"The embedding model did not answer within {timeout_s:.0f} s; it was "
                    "stopped. Passages already embedded are kept."
                ) from None
            if event is None:
                self._end(child)
                tail = " ".join(list(child.stderr_tail)[-2:])
                log.error("embedding host %d ended: %s", child.pid, tail)
                raise EmbeddingError(
                    "The embedding model stopped unexpectedly; passages already embedded are "
                    "kept, and the next run continues."
                )
            if int(event.get("id", -1)) != request_id:
                continue
            if event.get("ev") == "error":
                raise EmbeddingError(str(protocol.decode_error(event)))
            return event

    def _end(self, child: _Child) -> None:
        child.kill()
        if self._child is child:
            self._child = None
