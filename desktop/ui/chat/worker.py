"""The inference worker: the one object that owns the engine, on its own QThread.

`InferenceWorker` lives on a dedicated `QThread` and is driven by queued signals from
the GUI thread (see `InferenceThread`, which creates the thread and wires them). It only
*emits*; the GUI thread applies the results. Every exception raised inside a slot is
caught: a `HearthError` becomes its own (user-facing) message, anything else is logged
with its traceback and reported as "Internal error: ...", so nothing escapes into Qt.

Slots (run on the worker thread, invoked through queued connections):
    load_model(request_id, path, options), generate(request_id, messages, params, pinned),
    measure_context(request_id, messages, reserve, pinned), unload_model(), shutdown(),
    serve(Generation)  an API request of the window's `hearth serve`, queued with the rest
    and `generate_grounded` / `measure_grounded` (the same with a `DocumentQuery`: the
    user's documents are searched here, by words and meaning, with the `DocumentSearcher`
    set by `set_searcher`, and as many passages as fit, counted by the engine, go into the
    last question), set_searcher(factory), warm_searcher()
Thread-safe plain method (callable from any thread, because the worker thread is busy
while it generates): cancel()
Signals (emitted on the worker thread, delivered queued to the GUI thread):
    load_progress(float), model_loaded(int, ModelDescription), model_load_failed(int, str),
    context_planned(int, ContextPlan)        what a generation sends, before its first token
    context_measured(int, ContextPlan | str)  a measure_context answer (str: why it won't fit)
    token_generated(int, str), generation_finished(int, GenerationStats),
    generation_failed(int, str), model_unloaded()
    sources_chosen(int, list[Source])  the passages a grounded generation sends
    documents_notice(str)      the documents could not be searched (or by words only): why
    model_crashed(str, str)    the engine's process crashed: (model path, phase); a phase of
                               "loading" means the model is unusable until loaded again
With a `HostedEngine` (the app's factory) no engine code runs in this process: a crash of
the engine's process becomes `model_load_failed`/`generation_failed` with its message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from desktop.chat.cited import ground_request
from desktop.chat.grounding import Source
from desktop.chat.serve_backend import Generation
from desktop.core.errors import (
    ContextOverflowError,
    EngineCrashedError,
    HearthError,
    ModelNotLoadedError,
)
from desktop.core.prompting import ContextPlan
from desktop.core.types import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    LoadOptions,
    ModelDescription,
)
from desktop.documents.searcher import DocumentQuery, DocumentSearcher
from desktop.inference.engine import CancelToken, Engine
from desktop.inference.host.client import HostedEngine
from desktop.inference.runner import measure_context, run_generation
from desktop.storage.documents import PassageHit
from desktop.ui.common.owned_thread import OwnedThread

log = logging.getLogger(__name__)

EngineFactory = Callable[[Path], Engine]
#: Builds the description of a freshly loaded model: (path, engine, load time in s).
ModelDescriber = Callable[[Path, Engine, float], ModelDescription]
#: Opens the document searcher on the inference thread (its own connection to the store).
SearcherFactory = Callable[[], DocumentSearcher]
#: The passages found for a question are reused this long (the meter's search, then Send).
SEARCH_REUSE_S = 30.0


def describe_from_path(path: Path, engine: Engine, load_time_s: float) -> ModelDescription:
    """A description from what any engine knows: the file name and the context size."""
    return ModelDescription(
        path=str(path),
        name=path.stem,
        engine=engine.info.name,
        architecture="unknown",
        context_length=engine.n_ctx,
        n_ctx=engine.n_ctx,
        load_time_s=load_time_s,
        template_note=engine.template_note,
    )


def _internal_error(what: str, error: BaseException) -> str:
    log.error("Unexpected error while %s", what, exc_info=error)
    return f"Internal error: {error or type(error).__name__}"


class InferenceWorker(QObject):
    """Owns the engine; loads models and streams replies on the inference thread."""

    load_progress = Signal(float)
    model_loaded = Signal(int, object)
    model_load_failed = Signal(int, str)
    context_planned = Signal(int, object)
    context_measured = Signal(int, object)
    token_generated = Signal(int, str)
    generation_finished = Signal(int, object)
    generation_failed = Signal(int, str)
    model_unloaded = Signal()
    model_crashed = Signal(str, str)
    sources_chosen = Signal(int, list)
    documents_notice = Signal(str)

    def __init__(
        self, engine_factory: EngineFactory, describe: ModelDescriber = describe_from_path
    ) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._describe = describe
        self._engine: Engine | None = None
        self._path = ""
        self._cancel = CancelToken()
        self._open_searcher: SearcherFactory | None = None
        self._searcher: DocumentSearcher | None = None
        self._found: tuple[DocumentQuery, float, list[PassageHit]] | None = None
        self._words_only_said: str | None = None

    @Slot(object)
    def set_searcher(self, factory: SearcherFactory | None) -> None:
        """Search the user's documents with searchers made by `factory` (None: no
        documents). The searcher is made on this thread when a question first needs it."""
        self._close_searcher()
        self._open_searcher = factory

    def cancel(self) -> None:
        """Stop the running generation soon (between tokens). Safe from any thread."""
        self._cancel.cancel()

    @Slot(int, str, object)
    def load_model(self, request_id: int, path: str, options: LoadOptions) -> None:
        """Replace the loaded model (if any) by the one at `path`."""
        try:
            self._close_engine()
            started = time.monotonic()
            model_path = Path(path)
            engine = self._engine_factory(model_path)
            try:
                engine.load(model_path, options, self.load_progress.emit)
                description = self._describe(model_path, engine, time.monotonic() - started)
            except BaseException:
                engine.close()
                raise
            self._engine, self._path = engine, path
        except HearthError as error:
            self._report_crash(path, error)
            self.model_load_failed.emit(request_id, str(error))
        except Exception as error:
            self.model_load_failed.emit(request_id, _internal_error("loading a model", error))
        else:
            self.model_loaded.emit(request_id, description)

    @Slot(int, list, object, int)
    def generate(
        self, request_id: int, messages: list[ChatMessage], params: GenerationParams, pinned: int
    ) -> None:
        """Stream a reply to `messages`, trimmed to fit the context window.

        The first `pinned` non-system messages (an assistant's examples) are never trimmed.
        """
        self._cancel.reset()
        try:
            stats = self._generate(request_id, messages, params, pinned)
        except HearthError as error:
            self._report_crash(self._path, error)
            self.generation_failed.emit(request_id, str(error))
        except Exception as error:
            self.generation_failed.emit(request_id, _internal_error("generating", error))
        else:
            self.generation_finished.emit(request_id, stats)

    def _generate(
        self,
        request_id: int,
        messages: list[ChatMessage],
        params: GenerationParams,
        pinned: int,
    ) -> GenerationStats:
        engine = self._engine
        if engine is None:
            raise ModelNotLoadedError("No model is loaded yet. Load a model, then try again.")
        return run_generation(
            engine,
            messages,
            params,
            self._cancel,
            lambda piece: self.token_generated.emit(request_id, piece),
            pinned=pinned,
            on_plan=lambda plan: self.context_planned.emit(request_id, plan),
        )

    @Slot(object)
    def serve(self, generation: Generation) -> None:
        """Answer an API request (the window's `hearth serve`) with the loaded model, in
        turn with the window's own replies. It has its own cancel token: the window's Stop
        leaves it alone, and its client going away stops only it."""
        try:
            generation.run(self._engine, self.loaded_path)
        except EngineCrashedError as error:
            self._report_crash(self._path, error)

    @property
    def loaded_path(self) -> str | None:
        """The loaded model's path, or None. Read from any thread it may be a moment old:
        `serve` checks again on this thread."""
        return self._path if self._engine is not None else None

    @Slot(int, list, object, int, object)
    def generate_grounded(
        self,
        request_id: int,
        messages: list[ChatMessage],
        params: GenerationParams,
        pinned: int,
        query: DocumentQuery,
    ) -> None:
        """`generate` with the passages found for `query` that fit put into the question."""
        hits = self._find(query)
        grounded, sources = self._grounded(messages, params.max_tokens, hits)
        self.sources_chosen.emit(request_id, sources)
        self.generate(request_id, grounded, params, pinned)

    @Slot(int, list, int, int, object)
    def measure_grounded(
        self,
        request_id: int,
        messages: list[ChatMessage],
        reserve: int,
        pinned: int,
        query: DocumentQuery,
    ) -> None:
        """`measure_context` of the request as `generate_grounded` would send it."""
        hits = self._find(query)
        self.measure_context(
            request_id, self._grounded(messages, reserve, hits)[0], reserve, pinned
        )

    @property
    def searcher(self) -> DocumentSearcher | None:
        """The document search, once made (read it on this thread, or when idle)."""
        return self._searcher

    @Slot()
    def warm_searcher(self) -> None:
        """Get the document search ready (its connection, the embedding model's process)
        before the first question that needs it."""
        if self._open_searcher is None:
            return
        try:
            if self._searcher is None:
                self._searcher = self._open_searcher()
            self._searcher.warm()
        except Exception as error:  # the search itself will say what is wrong
            log.warning("could not get the document search ready: %s", error)

    def _find(self, query: DocumentQuery) -> list[PassageHit]:
        """The passages for `query` (the same question a moment ago: the same passages, so
        what the meter counted is what is sent). Failures: none, and a notice."""
        found, now = self._found, time.monotonic()
        if found is not None and found[0] == query and now - found[1] < SEARCH_REUSE_S:
            return found[2]
        if self._open_searcher is None:
            return []
        try:
            if self._searcher is None:
                self._searcher = self._open_searcher()
            hits = self._searcher.search(query)
        except HearthError as error:
            log.warning("searching the documents failed: %s", error)
            self.documents_notice.emit(f"Could not search your documents: {error}")
            self._close_searcher()
            return []
        except Exception as error:
            self.documents_notice.emit(_internal_error("searching your documents", error))
            self._close_searcher()
            return []
        reason = self._searcher.words_only_reason
        if reason is not None and reason != self._words_only_said:
            self.documents_notice.emit(
                f"Your documents were searched by their words only: {reason}"
            )
        self._words_only_said = reason
        self._found = (query, now, hits)
        return hits

    def _close_searcher(self) -> None:
        searcher, self._searcher, self._found = self._searcher, None, None
        if searcher is not None:
            try:
                searcher.close()
            except Exception as error:
                _internal_error("closing the document search", error)

    def _grounded(
        self, messages: list[ChatMessage], reserve: int, hits: list[PassageHit]
    ) -> tuple[list[ChatMessage], list[Source]]:
        engine = self._engine
        if engine is None or not hits:
            return messages, []
        try:
            return ground_request(
                messages, hits, engine.n_ctx - reserve, engine.count_prompt_tokens
            )
        except HearthError as error:
            log.warning("packing the passages failed: %s", error)
            self._report_crash(self._path, error)
        except Exception as error:
            _internal_error("packing the passages", error)
        return messages, []

    def _report_crash(self, path: str, error: HearthError) -> None:
        if isinstance(error, EngineCrashedError):
            self.model_crashed.emit(path, error.phase)

    @Slot(int, list, int, int)
    def measure_context(
        self, request_id: int, messages: list[ChatMessage], reserve: int, pinned: int
    ) -> None:
        """How many tokens `messages` take and what would be left out; no engine: no answer."""
        engine = self._engine
        if engine is None or (isinstance(engine, HostedEngine) and engine.waiting_for_restart):
            return  # after a crash the model restarts with the next reply, not for the meter
        try:
            plan: object = measure_context(engine, messages, reserve, pinned)
        except ContextOverflowError as error:
            plan = str(error)
        except HearthError as error:
            log.warning("measuring the context failed: %s", error)
            self._report_crash(self._path, error)
            return
        except Exception as error:
            _internal_error("measuring the context", error)
            return
        self.context_measured.emit(request_id, plan)
        if isinstance(engine, HostedEngine) and isinstance(plan, ContextPlan):
            engine.prefill(plan.messages)  # in the engine's process; Send finds it evaluated

    @Slot()
    def unload_model(self) -> None:
        """Free the loaded model, if any."""
        try:
            self._close_engine()
        except Exception as error:
            _internal_error("unloading the model", error)
        self.model_unloaded.emit()

    @Slot()
    def shutdown(self) -> None:
        """Close the engine and the document search before the thread ends. Safe to call
        twice."""
        self._close_searcher()
        try:
            self._close_engine()
        except Exception as error:
            _internal_error("shutting down", error)

    def _close_engine(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


class InferenceThread(QObject):
    """Creates the inference `QThread`, moves an `InferenceWorker` onto it, and stops it.

    Lives on the GUI thread. Its `*_requested` signals are connected (queued) to the
    worker's slots, so emitting one from the GUI thread runs the command on the
    inference thread. Call `start()` once and `stop()` before the application exits.
    """

    load_requested = Signal(int, str, object)
    generate_requested = Signal(int, list, object, int)
    measure_requested = Signal(int, list, int, int)
    generate_grounded_requested = Signal(int, list, object, int, object)
    #: An API request (emitted from the API's thread: the connection is queued).
    serve_requested = Signal(object)
    measure_grounded_requested = Signal(int, list, int, int, object)
    unload_requested = Signal()
    searcher_set = Signal(object)
    searcher_warm_requested = Signal()

    def __init__(
        self,
        engine_factory: EngineFactory,
        describe: ModelDescriber = describe_from_path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._worker = InferenceWorker(engine_factory, describe)
        self._thread = OwnedThread(self._worker, self._worker.shutdown, "hearth-inference")
        queued = Qt.ConnectionType.QueuedConnection
        self.load_requested.connect(self._worker.load_model, queued)
        self.generate_requested.connect(self._worker.generate, queued)
        self.measure_requested.connect(self._worker.measure_context, queued)
        self.generate_grounded_requested.connect(self._worker.generate_grounded, queued)
        self.serve_requested.connect(self._worker.serve, queued)
        self.measure_grounded_requested.connect(self._worker.measure_grounded, queued)
        self.unload_requested.connect(self._worker.unload_model, queued)
        self.searcher_set.connect(self._worker.set_searcher, queued)
        self.searcher_warm_requested.connect(self._worker.warm_searcher, queued)

    @property
    def worker(self) -> InferenceWorker:
        return self._worker

    @property
    def qthread(self) -> QThread:
        """The inference thread itself (`thread()` is the GUI thread this object lives on)."""
        return self._thread.qthread

    def start(self) -> None:
        self._thread.start()

    def set_searcher(self, factory: SearcherFactory | None) -> None:
        """Search the user's documents with searchers `factory` makes (on the inference
        thread, so the search never runs on the GUI thread)."""
        self.searcher_set.emit(factory)

    def is_running(self) -> bool:
        return self._thread.is_running()

    def cancel(self) -> None:
        """Ask the running generation to stop. Returns at once."""
        self._worker.cancel()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Cancel, close the engine on its thread, end the thread and join it.

        Returns True when the thread has ended (or never ran); False, logged as an error,
        when it did not end within `timeout_ms`.
        """
        self._worker.cancel()
        return self._thread.stop(timeout_ms)
