"""The loaded model as one explicit state: unloaded, loading, ready or failed.

The window keeps one `ModelState` (in a `ModelSlot`, which the status bar and the pages
observe) instead of working out from several fields which model is loaded. Transitions are
methods that return the next state; a transition that does not apply (a late event of an
older load request) returns the state unchanged.

Plain Python, immutable. Any thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from desktop.core.types import LoadOptions, ModelDescription


class ModelPhase(Enum):
    UNLOADED = "unloaded"  # nothing in memory (at start, after Unload, after a crash)
    LOADING = "loading"  # a load request is on its way; `progress` 0..1
    READY = "ready"  # `description` says what answers
    FAILED = "failed"  # the last load failed; `error` says why


@dataclass(frozen=True)
class ModelState:
    """Which model is loaded (or loading, or failed), and how."""

    phase: ModelPhase = ModelPhase.UNLOADED
    key: str | None = None  # the library key (or path) of the model
    path: Path | None = None
    options: LoadOptions | None = None
    description: ModelDescription | None = None  # READY
    progress: float = 0.0  # LOADING
    error: str | None = None  # FAILED
    request_id: int | None = None  # LOADING: the load request whose answer is awaited

    @property
    def ready(self) -> bool:
        return self.phase is ModelPhase.READY

    @property
    def loading(self) -> bool:
        return self.phase is ModelPhase.LOADING

    @property
    def active_key(self) -> str | None:
        """The key of the model loaded or loading (None when unloaded or failed)."""
        return self.key if self.phase in (ModelPhase.READY, ModelPhase.LOADING) else None

    def wants(self, key: str | None, options: LoadOptions | None) -> bool:
        """Whether `key` with `options` is what is loaded or loading already."""
        return self.active_key is not None and (self.key, self.options) == (key, options)

    def load(self, request_id: int, key: str, path: Path, options: LoadOptions) -> ModelState:
        return ModelState(ModelPhase.LOADING, key, path, options, request_id=request_id)

    def progressed(self, request_id: int | None, fraction: float) -> ModelState:
        if not self.loading or request_id not in (None, self.request_id):
            return self
        return dataclasses.replace(self, progress=max(0.0, min(1.0, fraction)))

    def loaded(self, request_id: int, description: ModelDescription) -> ModelState:
        if not self.loading or request_id != self.request_id:
            return self
        return dataclasses.replace(
            self, phase=ModelPhase.READY, description=description, progress=1.0, request_id=None
        )

    def failed(self, request_id: int | None, error: str) -> ModelState:
        """The load `request_id` failed (None: the loaded model stopped working)."""
        if request_id is not None and (not self.loading or request_id != self.request_id):
            return self
        return dataclasses.replace(
            self, phase=ModelPhase.FAILED, description=None, error=error, request_id=None
        )

    def unloaded(self) -> ModelState:
        return ModelState()
