"""The `Engine` protocol every model runtime implements, and the shared cancel token.

An engine object is owned by exactly one thread (the inference worker, or the
command line's main thread): none of the engines is thread-safe. The only call
allowed from another thread is `CancelToken.cancel()`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from desktop.core.types import ChatMessage, GenerationParams, LoadOptions

ProgressCallback = Callable[[float], None]


class CancelToken:
    """A thread-safe stop flag checked between tokens and during prompt evaluation.

    `watch` lets an engine hear a cancellation as it happens (to raise a flag native code
    reads) instead of asking, from inside native code, whether it happened.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._watchers: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            watchers = list(self._watchers)
        for on_cancel in watchers:
            on_cancel()

    def watch(self, on_cancel: Callable[[], None]) -> Callable[[], None]:
        """Call `on_cancel` (on the cancelling thread) when this token is cancelled, at once
        if it is already; returns the call that stops watching."""
        with self._lock:
            self._watchers.append(on_cancel)
            already = self._event.is_set()
        if already:
            on_cancel()

        def unwatch() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._watchers.remove(on_cancel)

        return unwatch

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class EngineInfo:
    """Name and version of an engine, and the file formats it accepts."""

    name: str
    version: str
    formats: tuple[str, ...]


@dataclass
class Usage:
    """Token counts of the last generation, filled in by the engine as it streams."""

    prompt_tokens: int = 0
    generated_tokens: int = 0
    #: Of `prompt_tokens`, how many were already in the engine's cache (not evaluated again).
    cached_tokens: int = 0


class Engine(Protocol):
    """A loaded-model runtime. Create, `load`, then `stream` as often as needed, `close`."""

    info: EngineInfo
    usage: Usage

    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        """Load the model at `path`; raise `ModelLoadError` with a readable reason on failure."""
        ...

    @property
    def n_ctx(self) -> int:
        """The context window the model was loaded with, in tokens."""
        ...

    @property
    def template_note(self) -> str | None:
        """For the user: why the loaded model's own chat template is not used and which
        format is used instead; None when it is used."""
        ...

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens the rendered chat prompt for `messages` takes (with the generation prompt)."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        """Yield the reply piece by piece; stop early, without error, once `cancel` is set.

        Raises `ContextOverflowError` when the prompt does not fit, `GenerationError` on
        engine failure. `usage` is up to date when the iterator ends.
        """
        ...

    def close(self) -> None:
        """Free the model. Safe to call twice."""
        ...


@runtime_checkable
class PromptCompleter(Protocol):
    """An engine that can also continue raw text (no chat template): local engines and the
    engine host. Same rules as `Engine.stream`; only `params.stop` (and the model's end of
    text) stops it."""

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]: ...
