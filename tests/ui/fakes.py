"""A scripted engine for GUI tests: implements the `Engine` protocol without a model.

`FakeEngineFactory` is the `engine_factory` given to `InferenceThread`; its attributes
script every engine it creates (and may be changed while a test runs): the reply
tokens, the delay per token, errors to raise at load or at generate. Each engine records
the messages it was asked to answer and the threads it was called on.
`WorkerEvents` re-emits a worker's signals on the GUI thread for `qtbot.waitSignal`;
`ChatApp` bundles the real window, controller and thread that the `chat_app` fixture makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from pytestqt.qtbot import QtBot

from desktop.core.errors import HearthError
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken, EngineInfo, ProgressCallback, Usage
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread, InferenceWorker
from desktop.ui.shell.main_window import MainWindow

#: A model path for the fake engines (never opened).
MODEL_PATH = "/models/tiny-chat-q4.gguf"


@dataclass
class FakeEngineFactory:
    """Creates `FakeEngine`s; the fields are the script they follow."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "!"])
    token_delay_s: float = 0.002
    load_delay_s: float = 0.0
    n_ctx: int = 1_000_000
    #: Raised by the factory itself (e.g. a refused file); consumed when raised.
    create_error: HearthError | None = None
    #: Raised by `load`; consumed when raised, so a second load works.
    load_error: HearthError | None = None
    #: Raised by `stream` after `fail_after_tokens` tokens; consumed when raised.
    generate_error: BaseException | None = None
    fail_after_tokens: int = 0
    engines: list[FakeEngine] = field(default_factory=list)

    def __call__(self, path: Path) -> FakeEngine:
        if self.create_error is not None:
            error, self.create_error = self.create_error, None
            raise error
        engine = FakeEngine(self)
        self.engines.append(engine)
        return engine

    @property
    def last(self) -> FakeEngine:
        return self.engines[-1]

    @property
    def requests(self) -> list[list[ChatMessage]]:
        """The messages of every `stream` call, over all engines, in order."""
        return [request for engine in self.engines for request in engine.requests]


class FakeEngine:
    """Streams the factory's scripted tokens; honours cancellation between tokens."""

    info = EngineInfo(name="fake", version="1.0", formats=("gguf",))
    template_note: str | None = None

    def __init__(self, script: FakeEngineFactory) -> None:
        self._script = script
        self.usage = Usage()
        self.loaded_path: Path | None = None
        self.closed = False
        self.requests: list[list[ChatMessage]] = []
        self.params: list[GenerationParams] = []
        self.threads: set[int] = set()

    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        self.threads.add(threading.get_ident())
        steps = 4
        for step in range(steps + 1):
            if progress is not None:
                progress(step / steps)
            if step < steps and self._script.load_delay_s:
                time.sleep(self._script.load_delay_s / steps)
        if self._script.load_error is not None:
            error, self._script.load_error = self._script.load_error, None
            raise error
        self.loaded_path = path

    @property
    def n_ctx(self) -> int:
        return self._script.n_ctx

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        self.threads.add(threading.get_ident())
        return sum(len(m.content.split()) + 4 for m in messages) + 2

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        self.threads.add(threading.get_ident())
        assert self.loaded_path is not None and not self.closed, "stream on an unloaded engine"
        self.requests.append(list(messages))
        self.params.append(params)
        self.usage = Usage(prompt_tokens=self.count_prompt_tokens(messages))
        return self._tokens(cancel)

    def _tokens(self, cancel: CancelToken) -> Iterator[str]:
        script = self._script
        for index, token in enumerate(script.tokens):
            if cancel.cancelled:
                return
            if script.generate_error is not None and index >= script.fail_after_tokens:
                error, script.generate_error = script.generate_error, None
                raise error
            time.sleep(script.token_delay_s)
            self.usage.generated_tokens += 1
            yield token
        if script.generate_error is not None:
            error, script.generate_error = script.generate_error, None
            raise error

    def close(self) -> None:
        self.closed = True


class WorkerEvents(QObject):
    """The worker's signals, re-emitted on the GUI thread.

    pytest-qt's `waitSignal` connects a plain Python callable, which Qt calls on the
    *emitting* thread: waiting directly on a worker signal would run pytest-qt's
    timer code on the worker thread. Connecting the worker's signals to this QObject's
    slots makes them queued, so tests wait on these copies, delivered on the GUI thread.
    """

    load_progress = Signal(float)
    model_loaded = Signal(int, object)
    model_load_failed = Signal(int, str)
    token_generated = Signal(int, str)
    generation_finished = Signal(int, object)
    generation_failed = Signal(int, str)
    model_unloaded = Signal()

    def __init__(self, worker: InferenceWorker) -> None:
        super().__init__()
        worker.load_progress.connect(self._on_load_progress)
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_load_failed.connect(self._on_model_load_failed)
        worker.token_generated.connect(self._on_token_generated)
        worker.generation_finished.connect(self._on_generation_finished)
        worker.generation_failed.connect(self._on_generation_failed)
        worker.model_unloaded.connect(self._on_model_unloaded)

    @Slot(float)
    def _on_load_progress(self, fraction: float) -> None:
        self.load_progress.emit(fraction)

    @Slot(int, object)
    def _on_model_loaded(self, request_id: int, description: object) -> None:
        self.model_loaded.emit(request_id, description)

    @Slot(int, str)
    def _on_model_load_failed(self, request_id: int, message: str) -> None:
        self.model_load_failed.emit(request_id, message)

    @Slot(int, str)
    def _on_token_generated(self, request_id: int, text: str) -> None:
        self.token_generated.emit(request_id, text)

    @Slot(int, object)
    def _on_generation_finished(self, request_id: int, stats: object) -> None:
        self.generation_finished.emit(request_id, stats)

    @Slot(int, str)
    def _on_generation_failed(self, request_id: int, message: str) -> None:
        self.generation_failed.emit(request_id, message)

    @Slot()
    def _on_model_unloaded(self) -> None:
        self.model_unloaded.emit()


@dataclass
class ChatApp:
    """The real window, controller and worker, driven by a `FakeEngineFactory`."""

    factory: FakeEngineFactory
    inference: InferenceThread
    controller: ChatController
    window: MainWindow
    qtbot: QtBot

    def load(self, path: str = MODEL_PATH) -> None:
        """Load a model and wait until it is ready."""
        with self.qtbot.waitSignal(self.controller.model_ready_changed, timeout=3000):
            self.controller.load_model(path)

    def assistant_texts(self) -> list[str]:
        return [text for role, text in self.window.chat_view.messages() if role == "assistant"]
