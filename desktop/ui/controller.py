"""The chat controller: the GUI-thread object between the window and the inference worker.

`ChatController` holds the conversation (the history sent to the model), the system
prompt and the generation parameters. It turns user actions (`send`, `stop`,
`load_model`, `open_conversation`) into requests for the worker and worker events into
events for the view. It never calls the engine and never waits: all work happens on the
inference thread.

With a `ConversationStore`, every turn is saved (GUI thread; the worker never touches
the store): the user message is committed before generation is requested, the reply is
created `streaming` when generation starts, saved as it grows (at most about once per
`SAVE_INTERVAL_S`), and finished `complete`, `cancelled` or `error`. Without a store
the conversation lives in memory only.

Thread: GUI thread only.

Signals to the worker (connected to `InferenceThread`'s, hence queued):
    load_requested(int, str, LoadOptions), generate_requested(int, list, GenerationParams),
    unload_requested()
Signals for the view:
    message_appended(role: str, text: str)   a new bubble (an assistant one starts empty)
    assistant_text_changed(str)              the streaming reply so far (throttled, ~50 ms)
    generation_started()
    generation_ended(GenerationStats | None) None when the generation failed
    error_occurred(str)                      a user-facing message
    status_changed(str)
    busy_changed(bool)                       a send is queued or a reply is streaming
    model_ready_changed(bool)
    model_loading_changed(bool)
    load_progress_changed(float)             0..1
    model_changed(ModelDescription | None)
    conversation_cleared()
    message_restored(role: str, text: str, status: str)  a stored message, shown on open
    conversation_changed(object)             the open conversation id (None: a new chat)
    conversations_changed()                  stored conversations changed (titles, order)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.errors import DatabaseError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    LoadOptions,
    ModelDescription,
)
from desktop.storage.conversations import STREAM_SAVE_INTERVAL_S as SAVE_INTERVAL_S
from desktop.storage.conversations import ConversationStore, MessageStatus
from desktop.ui.worker import InferenceThread

_T = TypeVar("_T")

log = logging.getLogger(__name__)

#: How often, at most, the streaming reply is pushed to the view.
TEXT_THROTTLE_MS = 50


def format_stats(stats: GenerationStats) -> str:
    """'N tokens · X tok/s · first token Y ms' (and 'stopped' for a cancelled reply)."""
    text = (
        f"{stats.generated_tokens} tokens · {stats.tokens_per_s:.1f} tok/s · "
        f"first token {stats.time_to_first_token_s * 1000:.0f} ms"
    )
    return text + " · stopped" if stats.cancelled else text


class ChatController(QObject):
    """One conversation with the model; see the module docstring for its signals."""

    load_requested = Signal(int, str, object)
    generate_requested = Signal(int, list, object)
    unload_requested = Signal()

    message_appended = Signal(str, str)
    assistant_text_changed = Signal(str)
    generation_started = Signal()
    generation_ended = Signal(object)
    error_occurred = Signal(str)
    status_changed = Signal(str)
    busy_changed = Signal(bool)
    model_ready_changed = Signal(bool)
    model_loading_changed = Signal(bool)
    load_progress_changed = Signal(float)
    model_changed = Signal(object)
    conversation_cleared = Signal()
    message_restored = Signal(str, str, str)
    conversation_changed = Signal(object)
    conversations_changed = Signal()

    def __init__(
        self,
        inference: InferenceThread,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        params: GenerationParams | None = None,
        store: ConversationStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._inference = inference
        self._store = store
        self._conversation_id: int | None = None
        self._reply_id: int | None = None
        self._last_save = 0.0
        self._system_prompt = system_prompt
        self._params = params or GenerationParams()
        self._history: list[ChatMessage] = []
        self._next_id = 0
        self._load_id: int | None = None
        self._active_id: int | None = None
        self._model: ModelDescription | None = None
        self._pending_send = False
        self._stop_requested = False
        self._pieces: list[str] = []
        self._text_dirty = False
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(TEXT_THROTTLE_MS)
        self._throttle.timeout.connect(self._flush_text)

        self.load_requested.connect(inference.load_requested)
        self.generate_requested.connect(inference.generate_requested)
        self.unload_requested.connect(inference.unload_requested)
        worker = inference.worker
        worker.load_progress.connect(self._on_load_progress)
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_load_failed.connect(self._on_model_load_failed)
        worker.token_generated.connect(self._on_token)
        worker.generation_finished.connect(self._on_generation_finished)
        worker.generation_failed.connect(self._on_generation_failed)
        worker.model_unloaded.connect(self._on_model_unloaded)

    # --- state -------------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """The conversation so far (without the system prompt), oldest first."""
        return list(self._history)

    @property
    def store(self) -> ConversationStore | None:
        return self._store

    @property
    def conversation_id(self) -> int | None:
        """The stored conversation shown (None: a new chat, or no store)."""
        return self._conversation_id

    @property
    def params(self) -> GenerationParams:
        return self._params

    @params.setter
    def params(self, params: GenerationParams) -> None:
        self._params = params

    @property
    def system_prompt(self) -> str:
        return self._system_prompt

    @system_prompt.setter
    def system_prompt(self, text: str) -> None:
        self._system_prompt = text

    @property
    def model(self) -> ModelDescription | None:
        return self._model

    @property
    def model_ready(self) -> bool:
        return self._model is not None

    @property
    def model_loading(self) -> bool:
        return self._load_id is not None

    @property
    def generating(self) -> bool:
        return self._active_id is not None

    @property
    def busy(self) -> bool:
        return self.generating or self._pending_send

    # --- commands ----------------------------------------------------------------------

    def load_model(self, path: str | Path, options: LoadOptions | None = None) -> None:
        """Ask the worker to load `path`; any running generation is stopped first."""
        if self.generating:
            self.stop()
        self._load_id = self._new_id()
        self._set_model(None)
        self.model_loading_changed.emit(True)
        self.load_progress_changed.emit(0.0)
        self.status_changed.emit(f"Loading {Path(path).stem}…")
        self.load_requested.emit(self._load_id, str(path), options or LoadOptions())

    def unload_model(self) -> None:
        if self.generating:
            self.stop()
        if self._load_id is not None:
            self._load_id = None
            self.model_loading_changed.emit(False)
        self._set_model(None)
        self.unload_requested.emit()

    def send(self, text: str) -> bool:
        """Add a user message and ask for a reply. Returns False when it was refused.

        Blank text is ignored; a send while a reply is streaming (or another send is
        waiting for the model) is refused. Before the model is loaded, the message is
        kept and sent as soon as loading ends.
        """
        text = text.strip()
        if not text:
            return False
        if self.busy:
            self.status_changed.emit("Wait for the current reply, or press Stop.")
            return False
        if self._store is not None and not self._save_user_message(text):
            return False
        self._history.append(ChatMessage("user", text))
        self.message_appended.emit("user", text)
        if self.model_ready:
            self._start_generation()
        elif self.model_loading:
            self._pending_send = True
            self.busy_changed.emit(True)
            self.status_changed.emit("Your message will be sent when the model has loaded…")
        else:
            self.error_occurred.emit(
                "No model is loaded, so there is nobody to answer yet. Load a model and "
                "send again: your message is kept."
            )
        return True

    def stop(self) -> None:
        """Stop the streaming reply (its text so far is kept), or drop a queued send."""
        if self._pending_send:
            self._pending_send = False
            self.busy_changed.emit(False)
            self.status_changed.emit("Queued message not sent.")
        if self._active_id is not None:
            self._stop_requested = True
            self._inference.cancel()
            self.status_changed.emit("Stopping…")

    def clear_conversation(self) -> bool:
        """Start a new, empty conversation. Refused (False) while busy.

        With a store, the conversation is created when its first message is sent.
        """
        if self.busy:
            self.status_changed.emit("Stop the reply before starting a new chat.")
            return False
        self._history.clear()
        self._conversation_id = None
        self._stored(lambda store: store.set_last_opened(None))
        self.conversation_cleared.emit()
        self.conversation_changed.emit(None)
        return True

    new_conversation = clear_conversation

    def open_conversation(self, conversation_id: int) -> bool:
        """Show a stored conversation; its current branch becomes the model's history."""
        if self._store is None:
            return False
        if conversation_id == self._conversation_id:
            return True
        if self.busy:
            self.status_changed.emit("Stop the reply before opening another chat.")
            return False
        store = self._store
        branch = self._stored(lambda _store: store.branch(conversation_id))
        if branch is None:
            return False
        self._conversation_id = conversation_id
        self._history = [
            ChatMessage(message.role, message.content)
            for message in branch
            if message.content.strip()
        ]
        self.conversation_cleared.emit()
        for message in branch:
            if message.role in ("user", "assistant") and message.content.strip():
                self.message_restored.emit(message.role, message.content, message.status)
        self._stored(lambda _store: store.set_last_opened(conversation_id))
        self.conversation_changed.emit(conversation_id)
        return True

    def resume_last_conversation(self) -> bool:
        """At start-up: mark replies a crash left `streaming` as interrupted, then reopen
        the conversation that was open when Hearth last closed. False if there is none."""
        recovered = self._stored(lambda store: store.recover_interrupted())
        if recovered:
            log.info("%d interrupted replies recovered", recovered)
        last = self._stored(lambda store: store.last_opened_conversation_id())
        return last is not None and self.open_conversation(last)

    def save_partial_reply(self) -> None:
        """Save the streaming reply's text now, as `incomplete` (the app is quitting)."""
        if self._reply_id is not None:
            reply_id, text = self._reply_id, "".join(self._pieces)
            self._stored(lambda store: store.finish_message(reply_id, "incomplete", content=text))
            self._reply_id = None

    # --- worker events -----------------------------------------------------------------

    @Slot(float)
    def _on_load_progress(self, fraction: float) -> None:
        if self._load_id is not None:
            self.load_progress_changed.emit(fraction)

    @Slot(int, object)
    def _on_model_loaded(self, request_id: int, description: ModelDescription) -> None:
        if request_id != self._load_id:
            return
        self._load_id = None
        self.model_loading_changed.emit(False)
        self._set_model(description)
        self.status_changed.emit("Ready")
        if self._pending_send:
            self._pending_send = False
            self._start_generation()

    @Slot(int, str)
    def _on_model_load_failed(self, request_id: int, message: str) -> None:
        if request_id != self._load_id:
            return
        self._load_id = None
        self.model_loading_changed.emit(False)
        self.status_changed.emit("Loading failed")
        if self._pending_send:
            self._pending_send = False
            self.busy_changed.emit(False)
            message += "\nYour message is kept; it will be answered once a model is loaded."
        self.error_occurred.emit(message)

    @Slot(int, str)
    def _on_token(self, request_id: int, piece: str) -> None:
        if request_id != self._active_id:
            return
        if self._stop_requested:
            # Stop was pressed before the worker started this request (its reset of the
            # cancel token may have erased it): cancel again.
            self._inference.cancel()
        self._pieces.append(piece)
        self._text_dirty = True
        if not self._throttle.isActive():
            self._flush_text()
        now = time.monotonic()
        if self._reply_id is not None and now - self._last_save >= SAVE_INTERVAL_S:
            self._last_save = now
            reply_id, text = self._reply_id, "".join(self._pieces)
            self._stored(lambda store: store.update_message_content(reply_id, text))

    @Slot(int, object)
    def _on_generation_finished(self, request_id: int, stats: GenerationStats) -> None:
        if request_id != self._active_id:
            return
        self._finish_reply("cancelled" if stats.cancelled else "complete", stats)
        self._end_generation()
        self.status_changed.emit("Stopped" if stats.cancelled else "Ready")
        self.generation_ended.emit(stats)

    @Slot(int, str)
    def _on_generation_failed(self, request_id: int, message: str) -> None:
        if request_id != self._active_id:
            return
        self._finish_reply("error", None)
        self._end_generation()
        self.status_changed.emit("Ready" if self.model_ready else "")
        self.error_occurred.emit(message)
        self.generation_ended.emit(None)

    @Slot()
    def _on_model_unloaded(self) -> None:
        if self._load_id is None and self._model is None:
            self.status_changed.emit("")

    # --- helpers -----------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _set_model(self, description: ModelDescription | None) -> None:
        was_ready = self.model_ready
        self._model = description
        self.model_changed.emit(description)
        if was_ready != self.model_ready:
            self.model_ready_changed.emit(self.model_ready)

    def _request_messages(self) -> list[ChatMessage]:
        """System prompt + history, with consecutive user messages merged.

        A user message left without a reply (its generation failed, or it was sent with
        no model) is merged with the next one, so roles still alternate for the template.
        """
        merged: list[ChatMessage] = []
        for message in self._history:
            if merged and message.role == "user" and merged[-1].role == "user":
                merged[-1] = ChatMessage("user", f"{merged[-1].content}\n\n{message.content}")
            else:
                merged.append(message)
        return with_system_prompt(self._system_prompt, merged)

    def _stored(self, action: Callable[[ConversationStore], _T]) -> _T | None:
        """Run one store call; a database error becomes a message, not a crash."""
        if self._store is None:
            return None
        try:
            return action(self._store)
        except DatabaseError as error:
            log.warning("saving the conversation failed: %s", error)
            self.error_occurred.emit(f"Could not save the conversation: {error}")
            return None

    def _save_user_message(self, text: str) -> bool:
        """Commit the user message (creating the conversation first); False if it failed."""

        def save(store: ConversationStore) -> bool:
            created = self._conversation_id is None
            if self._conversation_id is None:
                self._conversation_id = store.create_conversation().id
                store.set_last_opened(self._conversation_id)
            store.add_message(self._conversation_id, "user", text)
            if created:
                self.conversation_changed.emit(self._conversation_id)
            return True

        saved = self._stored(save) is True
        if saved:
            self.conversations_changed.emit()
        return saved

    def _finish_reply(self, status: MessageStatus, stats: GenerationStats | None) -> None:
        if self._reply_id is None:
            return
        reply_id, text = self._reply_id, "".join(self._pieces)
        stats_dict = None if stats is None else dataclasses.asdict(stats)
        self._reply_id = None
        self._stored(lambda store: store.finish_message(reply_id, status, stats_dict, content=text))
        self.conversations_changed.emit()

    def _start_generation(self) -> None:
        self._active_id = self._new_id()
        self._stop_requested = False
        self._pieces = []
        self._text_dirty = False
        conversation_id = self._conversation_id
        if conversation_id is not None:
            reply = self._stored(
                lambda store: store.add_message(
                    conversation_id, "assistant", "", status="streaming"
                )
            )
            self._reply_id = None if reply is None else reply.id
            self._last_save = time.monotonic()
        self.message_appended.emit("assistant", "")
        self.generation_started.emit()
        self.busy_changed.emit(True)
        self.status_changed.emit("Thinking…")
        self.generate_requested.emit(self._active_id, self._request_messages(), self._params)

    def _flush_text(self) -> None:
        if self._text_dirty:
            self._text_dirty = False
            self.assistant_text_changed.emit("".join(self._pieces))
            self._throttle.start()

    def _end_generation(self) -> None:
        """Finish the active request; its text so far (if any) joins the history."""
        self._throttle.stop()
        self._flush_text()
        self._throttle.stop()
        text = "".join(self._pieces)
        if text.strip():
            self._history.append(ChatMessage("assistant", text))
        self._active_id = None
        self._stop_requested = False
        self._pieces = []
        self.busy_changed.emit(False)
