"""The chat controller: the GUI-thread object between the window and the inference worker.

`ChatController` turns user actions (`send`, `stop`, `regenerate`, `edit_message`,
`continue_reply`, `switch_version`, `load_model`, `open_conversation`, `choose_model`,
`choose_assistant`, `set_draft`) into requests for the worker, and worker events into
events for the view. It never calls the engine and
never waits: all work happens on the inference thread. The conversation itself, and
how it is saved, is a `ConversationSession` (`desktop.chat.session`): with a store, the
question is committed before its reply is requested and the reply is saved while it
streams; store errors become messages, never crashes. With a `ProfileSource`, each
conversation runs with its own assistant and model (`desktop.chat.profiles`): opening a
chat loads its model if another one is loaded.

Thread: GUI thread only.

Signals to the worker (connected to `InferenceThread`'s, hence queued):
    load_requested(int, str, LoadOptions),
    generate_requested(int, list, GenerationParams, pinned), measure_requested(int, list,
    reserve, pinned), unload_requested()
Signals for the view:
    branch_changed(list[MessageItem])        show exactly these messages (open, edit, versions)
    older_loaded(list[MessageItem])          older messages read (`load_older`): add them on top
    message_appended(MessageItem)            a new bubble (a reply starts empty, streaming)
    assistant_text_changed(str)              the streaming reply so far (throttled, ~50 ms)
    message_finished(MessageItem)            the last reply's final text, status and versions
    message_focus_requested(int)             scroll to the message at this branch position
    generation_started()
    generation_ended(GenerationStats | None) None when the generation failed
    error_occurred(str)                      a user-facing message
    status_changed(str)
    busy_changed(bool)                       a send is queued or a reply is streaming
    reply_phase_changed(ReplyPhase)          the reply's phase (desktop.chat.reply)
    model_ready_changed(bool)                a model became ready, or stopped being ready
    conversation_changed(object)             the open conversation id (None: a new chat)
    conversations_changed()                  stored conversations changed (titles, order)
    profile_changed(ChatProfile | None)      the open chat's assistant, model and settings
    budget_changed(ContextBudget | None)     the next request's share of the context window
    left_out_changed(int)                    this many messages at the top are not sent
    model_load_crashed(str)                  the engine crashed loading this model (its key)
    collections_changed(list[int])           the document collections this chat answers from
    reply_requested(str, object)             a reply was asked of the model `key` (for the
                                             conversation id, None when not saved)

With `documents` and chosen collections (`set_collections`), the question of each reply
carries a `DocumentQuery`: the inference thread searches those collections by words and
meaning and packs the best passages into the question (`desktop.chat.cited`); the meter
counts them, and the reply keeps its sources (`MessageItem.cited`, saved in its stats).

Which model is loaded is one `ModelState` in `model_slot` (unloaded, loading, ready, failed):
the status bar and the pages observe `model_slot.changed` rather than asking the controller.
The reply's phase is one `ReplyPhase`.

Errors: a `HearthError` (the store, a message that is gone, a refused action) becomes its
own sentence; anything else is a bug: logged with its traceback and shown as "Something
went wrong", and the conversation stays as it was saved.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.chat.cited import SEARCH_LIMIT, Cited, question_terms, to_stats
from desktop.chat.grounding import Source
from desktop.chat.keep import keep_in_store
from desktop.chat.model_state import ModelState
from desktop.chat.profiles import ChatProfile, ProfileSource
from desktop.chat.reply import ReplyPhase
from desktop.chat.request import ChatRequest, build_request
from desktop.chat.session import ConversationSession, MessageItem
from desktop.core.adapter_keys import split_adapter_key
from desktop.core.errors import DatabaseError, HearthError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, ContextPlan
from desktop.core.servers import RanOn
from desktop.core.types import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    LoadOptions,
    ModelDescription,
)
from desktop.documents.searcher import DocumentQuery
from desktop.inference.kv_disk import label_for
from desktop.storage.conversations import ConversationStore, MessageStatus
from desktop.ui.chat.budget import PLACEHOLDER, ContextTracker
from desktop.ui.chat.model_slot import ModelSlot
from desktop.ui.chat.worker import InferenceThread

_T = TypeVar("_T")
#: The context window assumed for packing passages before a model has loaded.
DEFAULT_WINDOW = 2048

log = logging.getLogger(__name__)

#: How often, at most, the streaming reply is pushed to the view.
TEXT_THROTTLE_MS = 50


class ChatController(QObject):
    """One conversation with the model; see the module docstring for its signals."""

    load_requested = Signal(int, str, object)
    generate_requested = Signal(int, list, object, int)
    unload_requested = Signal()

    branch_changed = Signal(list)
    older_loaded = Signal(list)
    message_appended = Signal(object)
    assistant_text_changed = Signal(str)
    message_finished = Signal(object)
    message_focus_requested = Signal(int)
    generation_started = Signal()
    generation_ended = Signal(object)
    error_occurred = Signal(str)
    status_changed = Signal(str)
    busy_changed = Signal(bool)
    reply_phase_changed = Signal(object)
    model_ready_changed = Signal(bool)
    conversation_changed = Signal(object)
    conversations_changed = Signal()
    profile_changed = Signal(object)
    budget_changed = Signal(object)
    left_out_changed = Signal(int)
    model_load_crashed = Signal(str)
    collections_changed = Signal(list)
    reply_requested = Signal(str, object)

    def __init__(
        self,
        inference: InferenceThread,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        params: GenerationParams | None = None,
        store: ConversationStore | None = None,
        profiles: ProfileSource | None = None,
        documents: bool = False,
        forget_states: Callable[[int], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._documents = documents
        self._forget_states = forget_states  # deletes a conversation's kept engine states
        self._collections: tuple[int, ...] = ()
        self._active_cited: Cited | None = None
        self._inference = inference
        self._session = ConversationSession(store)
        self._profiles = profiles
        self._profile: ChatProfile | None = None
        #: The model loaded, loading or failed: observed by the status bar and the pages.
        self.model_slot = ModelSlot(self)
        self.model_slot.changed.connect(self._on_model_state)
        self._was_ready = False
        self._phase = ReplyPhase.IDLE
        self._active_request: ChatRequest | None = None
        self._start_model: str | None = None
        self._notice: str | None = None  # a profile problem to show once its model is ready
        #: The adapter file of the model loaded (a private temporary file in memory where
        #: the system allows): kept while that model is loaded, so the engine can start
        #: again after a crash; removed at the next load, at Unload and at quit.
        self._adapter_file = ExitStack()
        self._context = ContextTracker(
            self._build_request,
            lambda: None if not self.model_ready else not self.generating,
            lambda: self._params.max_tokens,
            self,
        )
        self._context.budget_changed.connect(self.budget_changed)
        self._context.left_out_changed.connect(self.left_out_changed)
        self._context.measure_requested.connect(inference.measure_requested)
        self._context.measure_grounded_requested.connect(inference.measure_grounded_requested)
        self._system_prompt = system_prompt
        self._params = params or GenerationParams()
        self._next_id = 0
        self._active_id: int | None = None  # the generate request streaming or stopping
        self._prefix = ""
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
        worker.model_crashed.connect(self._on_model_crashed)
        worker.context_planned.connect(self._on_context_planned)
        worker.context_measured.connect(self._context.on_measured)
        worker.sources_chosen.connect(self._on_sources_chosen)
        worker.documents_notice.connect(self.status_changed)

    # --- state -------------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """The conversation so far (without the system prompt), oldest first."""
        return self._session.history()

    @property
    def items(self) -> list[MessageItem]:
        """The messages shown, with their ids, statuses and versions."""
        return list(self._session.items)

    @property
    def store(self) -> ConversationStore | None:
        return self._session.store

    @property
    def conversation_id(self) -> int | None:
        """The stored conversation shown (None: a new chat, or no store)."""
        return self._session.conversation_id

    def forget_states(self, conversation_id: int) -> None:
        """A conversation was deleted: the model's states kept for it go too."""
        if self._forget_states is not None:
            self._forget_states(conversation_id)

    def _reply_params(self) -> GenerationParams:
        """The reply's parameters, naming its conversation so the engine may keep its state."""
        conversation = self._session.conversation_id
        if conversation is None or self._session.store is None:
            return self._params
        return dataclasses.replace(self._params, state_label=label_for(conversation))

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
    def model_state(self) -> ModelState:
        return self.model_slot.state

    @property
    def model(self) -> ModelDescription | None:
        return self.model_slot.state.description

    @property
    def profile(self) -> ChatProfile | None:
        """The open chat's assistant, model and settings (None without a `ProfileSource`)."""
        return self._profile

    @property
    def profiles(self) -> ProfileSource | None:
        return self._profiles

    @property
    def model_key(self) -> str | None:
        """The library key (or path) of the model loaded or loading."""
        return self.model_slot.state.active_key

    @property
    def model_ready(self) -> bool:
        return self.model_slot.state.ready

    @property
    def model_loading(self) -> bool:
        return self.model_slot.state.loading

    @property
    def reply_phase(self) -> ReplyPhase:
        return self._phase

    @property
    def generating(self) -> bool:
        return self._phase.generating

    @property
    def busy(self) -> bool:
        return self._phase.busy

    # --- model -------------------------------------------------------------------------

    def load_model(
        self, path: str | Path, options: LoadOptions | None = None, key: str | None = None
    ) -> None:
        """Ask the worker to load `path`; any running generation is stopped first."""
        if self.generating:
            self.stop()
        options = options or LoadOptions()
        request_id = self._new_id()
        state = self.model_slot.state.load(request_id, key or str(path), Path(path), options)
        self._adapter_file.close()
        adapter = split_adapter_key(key)
        sent = options
        if adapter is not None:
            try:
                file = self._adapter_file.enter_context(self._materialized(adapter))
            except HearthError as error:
                self.model_slot.set(state.failed(request_id, str(error)))
                self.error_occurred.emit(str(error))
                return
            sent = dataclasses.replace(options, adapter=str(file))
        self.model_slot.set(state)
        self.status_changed.emit(f"Loading {Path(path).stem}…")
        self.load_requested.emit(request_id, str(path), sent)

    def _materialized(self, name: str) -> AbstractContextManager[Path]:
        if self._profiles is None:
            raise HearthError("Adapters are kept in Hearth's store, which is not open.")
        return self._profiles.materialized(name)

    def unload_model(self) -> None:
        """Free the model's memory; the next chat, or choosing a model, loads one again."""
        if self.generating:
            self.stop()
        self.model_slot.set(self.model_slot.state.unloaded())
        self.unload_requested.emit()
        self._adapter_file.close()

    # --- assistant, model and settings of the open chat -------------------------------

    def start(self, model_key: str | None = None) -> None:
        """At start-up: reopen the last conversation, or get a new chat's model ready.

        `model_key` (a model given on the command line) replaces the reopened chat's model.
        """
        self._start_model = model_key
        if not self.resume_last_conversation():
            self.apply_profile()
        self._start_model = None

    def apply_profile(self) -> None:
        """Resolve the open chat's choices; load its model unless it is already loaded.

        Also the way to take up changed settings or assistants (Models, Assistants pages).
        """
        if self._profiles is None:
            return
        session = self._session
        if self._start_model is not None:
            start_model, self._start_model = self._start_model, None
            self._stored(lambda s: s.choose(assistant_id=s.assistant_id, model_key=start_model))
        profile = self._profiles.resolve(session.assistant_id, session.model_key)
        if session.conversation_id is None:  # a new chat records what it resolved to
            session.assistant_id, session.model_key = profile.assistant_id, profile.model_key
        self._profile = profile
        self._params = profile.settings.to_params()
        self.profile_changed.emit(profile)
        if profile.model_path is None:
            if self.model_key is None:
                self.error_occurred.emit(profile.problem or "There is no model to load.")
            return
        if not self.model_slot.state.wants(profile.model_key, profile.load_options):
            self.load_model(profile.model_path, profile.load_options, key=profile.model_key)
            self._notice = profile.problem  # shown once the model is ready
        elif profile.problem:
            self.error_occurred.emit(profile.problem)
        self._context.schedule()

    def choose_model(self, key: str) -> None:
        """Use the model `key` in the open chat (remembered), loading it now."""
        session = self._session
        self._stored(lambda s: s.choose(assistant_id=session.assistant_id, model_key=key))
        self.apply_profile()

    def choose_assistant(self, assistant_id: str) -> None:
        """Use the assistant in the open chat (remembered); its own model, if it names one."""
        if self._profiles is None:
            return
        model_key = self._session.model_key
        chosen = self._profiles.resolve(assistant_id, None)
        if chosen.assistant is not None and chosen.assistant.model and chosen.model_key:
            model_key = chosen.model_key
        self._stored(lambda s: s.choose(assistant_id=assistant_id, model_key=model_key))
        self.apply_profile()
        if not any(item.cited is not None for item in self.items):
            self._assistant_collections()

    def set_draft(self, text: str) -> None:
        """The composer's text changed: measure the next request again, shortly."""
        self._context.set_draft(text)

    @property
    def collections(self) -> tuple[int, ...]:
        """The document collections the next reply answers from (none: no documents)."""
        return self._collections

    def set_collections(self, collection_ids: Sequence[int]) -> None:
        """Answer from these collections (their best passages go with each question)."""
        chosen = tuple(dict.fromkeys(collection_ids))
        if chosen != self._collections:
            self._collections = chosen
            self.collections_changed.emit(list(chosen))
            if chosen and self._documents:  # the first question need not start the search
                self._inference.searcher_warm_requested.emit()
            self._context.schedule()

    # --- chatting ----------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Add a user message and ask for a reply. Returns False when it was refused.

        Blank text is ignored; a send while a reply is streaming (or another send is
        waiting for the model) is refused. Before the model is loaded, the message is
        kept and sent as soon as loading ends.
        """
        text = text.strip()
        if not text or self._refused_while_busy("Wait for the current reply, or press Stop."):
            return False
        added = self._stored(lambda session: session.add_question(text))
        if added is None:
            return False
        item, created = added
        if created:
            self.conversation_changed.emit(self._session.conversation_id)
        self.conversations_changed.emit()
        self.message_appended.emit(item)
        self._reply_when_ready()
        return True

    def stop(self) -> None:
        """Stop the streaming reply (its text so far is kept), or drop a queued send."""
        if self._phase is ReplyPhase.WAITING:
            self._set_phase(ReplyPhase.IDLE)
            self.status_changed.emit("Queued message not sent.")
        if self._phase is ReplyPhase.STREAMING:
            self._set_phase(ReplyPhase.STOPPING)
            self._inference.cancel()
            self.status_changed.emit("Stopping…")

    def regenerate(self, index: int) -> bool:
        """A new version of the reply at `index` (the old one stays, as a sibling)."""
        if self._refused_while_busy("Stop the reply before regenerating."):
            return False
        if self._change_branch(lambda session: session.drop_reply(index)) is None:
            return False
        self._reply_when_ready()
        return True

    def edit_message(self, index: int, text: str) -> bool:
        """Send a new version of the question at `index`: a new branch, the old one kept."""
        text = text.strip()
        if not text or self._refused_while_busy("Stop the reply before editing a message."):
            return False
        if self._change_branch(lambda session: session.edit_question(index, text)) is None:
            return False
        self.conversations_changed.emit()
        self._reply_when_ready()
        return True

    def switch_version(self, index: int, step: int) -> bool:
        """Show another version (`step` -1 or +1) of the message at `index`."""
        if self._refused_while_busy("Stop the reply before switching versions."):
            return False
        items = self._change_branch(lambda session: session.switch_version(index, step))
        if items is None:
            return False
        self.message_focus_requested.emit(index)
        return True

    def continue_reply(self) -> bool:
        """Let the model go on with the interrupted or stopped last reply."""
        if self._refused_while_busy("Wait for the current reply, or press Stop."):
            return False
        if not self.model_ready:
            self.error_occurred.emit("Load a model first: there is nobody to continue the reply.")
            return False
        request = self._build_request()
        item = self._stored(lambda session: session.resume_reply())
        if item is None:
            return False
        self._active_cited = item.cited
        self._start_generation(request, item)
        return True

    # --- conversations -----------------------------------------------------------------

    def clear_conversation(self) -> bool:
        """Start a new, empty conversation. Refused (False) while busy.

        With a store, the conversation is created when its first message is sent.
        """
        if self._refused_while_busy("Stop the reply before starting a new chat."):
            return False
        self._stored(lambda session: session.reset())
        self.branch_changed.emit([])
        self._context.clear_marks()
        self.conversation_changed.emit(None)
        self.apply_profile()
        self._assistant_collections()
        return True

    new_conversation = clear_conversation

    def open_conversation(self, conversation_id: int, message_id: int | None = None) -> bool:
        """Show a stored conversation (with `message_id`: the branch holding it, scrolled to it)."""
        if self.store is None:
            return False
        if conversation_id == self.conversation_id and message_id is None:
            return True
        if self._refused_while_busy("Stop the reply before opening another chat."):
            return False
        items = self._change_branch(lambda session: session.open(conversation_id, message_id))
        if items is None:
            return False
        grounded = self._restore_collections(items)
        self.conversation_changed.emit(conversation_id)
        self.apply_profile()
        if not grounded:
            self._assistant_collections()
        index = None if message_id is None else self._session.index_of(message_id)
        if index is not None:
            self.message_focus_requested.emit(index)
        return True

    def load_older(self) -> None:
        """Read the page of messages above those shown (the view nears the top)."""
        items = self._stored(lambda session: session.load_older())
        if items:
            self.older_loaded.emit(items)

    def resume_last_conversation(self) -> bool:
        """At start-up: mark replies a crash left `streaming` as interrupted, then reopen
        the conversation that was open when Hearth last closed. False if there is none."""
        store = self.store
        if store is None:
            return False
        recovered = self._stored(lambda _session: store.recover_interrupted())
        if recovered:
            log.info("%d interrupted replies recovered", recovered)
        last = self._stored(lambda _session: store.last_opened_conversation_id())
        return last is not None and self.open_conversation(last)

    def keep_conversations(self, store: ConversationStore) -> bool:
        """Start saving into `store` (it was opened after start-up); the chat shown is kept.

        Refused (False) while a reply streams; a failed write changes nothing."""
        if self.store is not None:
            return True
        if self._refused_while_busy("Stop the reply before protecting your conversations."):
            return False
        session = self._stored(lambda unsaved: keep_in_store(unsaved, store))
        if session is None:
            return False
        self._session = session
        self.branch_changed.emit(list(session.items))
        self.conversation_changed.emit(session.conversation_id)
        self.conversations_changed.emit()
        return True

    def close(self) -> None:
        """Stop the controller's timers: nothing fires after the window has gone."""
        self._throttle.stop()
        self._context.stop()
        self._adapter_file.close()

    def save_partial_reply(self) -> None:
        """Save the streaming reply's text now, as `incomplete` (the app is quitting)."""
        if self._phase.generating:
            text = self._prefix + "".join(self._pieces)
            self._stored(lambda session: session.finish_reply("incomplete", text))

    # --- worker events -----------------------------------------------------------------

    @Slot(float)
    def _on_load_progress(self, fraction: float) -> None:
        self.model_slot.set(self.model_slot.state.progressed(None, fraction))

    @Slot(int, object)
    def _on_model_loaded(self, request_id: int, description: ModelDescription) -> None:
        if not self.model_slot.set(self.model_slot.state.loaded(request_id, description)):
            return
        self.status_changed.emit("Ready")
        notice = " ".join(n for n in (self._notice, description.template_note) if n)
        if notice:
            self.error_occurred.emit(notice)
        self._notice = None
        self._context.schedule()
        if self._phase is ReplyPhase.WAITING:
            self._set_phase(ReplyPhase.IDLE)
            self._start_reply()

    @Slot(int, str)
    def _on_model_load_failed(self, request_id: int, message: str) -> None:
        if not self.model_slot.set(self.model_slot.state.failed(request_id, message)):
            return
        self.status_changed.emit("Loading failed")
        if self._phase is ReplyPhase.WAITING:
            self._set_phase(ReplyPhase.IDLE)
            message += "\nYour message is kept; it will be answered once a model is loaded."
        self.error_occurred.emit(message)

    @Slot(int, str)
    def _on_token(self, request_id: int, piece: str) -> None:
        if request_id != self._active_id:
            return
        if self._phase is ReplyPhase.STOPPING:
            # Stop was pressed before the worker started this request (its reset of the
            # cancel token may have erased it): cancel again.
            self._inference.cancel()
        elif not self._pieces:
            self.status_changed.emit("Generating…")  # the first words: no longer thinking
        self._pieces.append(piece)  # per token only this: text is joined per frame or save
        self._text_dirty = True
        if not self._throttle.isActive():
            self._flush_text()
        if self._session.streaming_save_due():
            text = self._prefix + "".join(self._pieces)
            self._stored(lambda session: session.save_streaming(text))

    @Slot(int, object)
    def _on_generation_finished(self, request_id: int, stats: GenerationStats) -> None:
        if request_id != self._active_id:
            return
        self._end_generation("cancelled" if stats.cancelled else "complete", stats)
        self.status_changed.emit("Stopped" if stats.cancelled else "Ready")
        self.generation_ended.emit(stats)

    @Slot(int, str)
    def _on_generation_failed(self, request_id: int, message: str) -> None:
        if request_id != self._active_id:
            return
        self._end_generation("error", None)
        self.status_changed.emit("Ready" if self.model_ready else "")
        self.error_occurred.emit(message)
        self.generation_ended.emit(None)

    @Slot(int, object)
    def _on_context_planned(self, request_id: int, plan: ContextPlan) -> None:
        request = self._active_request
        if request_id == self._active_id and request is not None:
            self._context.planned(request, plan)

    @Slot(str, str)
    def _on_model_crashed(self, _path: str, phase: str) -> None:
        """The engine's process crashed; while loading, the model is unusable until chosen
        again (or the next message, which loads it again)."""
        state = self.model_slot.state
        if phase != "loading" or state.active_key is None:
            return
        self.model_load_crashed.emit(state.active_key)
        if state.ready:  # it crashed restarting after an earlier crash
            self.model_slot.set(state.failed(None, "The model crashed while loading."))

    @Slot()
    def _on_model_unloaded(self) -> None:
        if self.model_slot.state.active_key is None:
            self.status_changed.emit("")

    def _on_model_state(self, state: ModelState) -> None:
        if state.ready != self._was_ready:
            self._was_ready = state.ready
            self.model_ready_changed.emit(state.ready)

    # --- helpers -----------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _set_phase(self, phase: ReplyPhase) -> None:
        if phase is self._phase:
            return
        was_busy = self._phase.busy
        self._phase = phase
        self.reply_phase_changed.emit(phase)
        if phase.busy != was_busy:
            self.busy_changed.emit(phase.busy)

    def _refused_while_busy(self, reason: str) -> bool:
        if self.busy:
            self.status_changed.emit(reason)
        return self.busy

    def _build_request(self, draft: str = "") -> ChatRequest:
        """System prompt (the assistant's, with its examples) + the branch shown + `draft`,
        the last question with the passages of the chosen collections."""
        return self._grounded_request(draft)[0]

    def _grounded_request(self, draft: str = "") -> tuple[ChatRequest, Cited | None]:
        """The request with the passages found for its last question (the worker packs those
        that fit), and what the reply will keep of them (its sources come from the worker)."""
        assistant = self._profile.assistant if self._profile is not None else None
        model = self.model
        window = None if model is None else model.n_ctx  # no turn takes < 1 token
        items = self._session.context_items(window)
        request = build_request(items, assistant, self._system_prompt, draft)
        chosen = self._collections
        last = request.messages[-1] if request.messages else None
        if not self._documents or not chosen or last is None or last.role != "user":
            return request, None
        if draft == PLACEHOLDER:  # the meter of an empty composer: no question yet
            return request, None
        query = DocumentQuery(last.content, chosen, SEARCH_LIMIT)
        cited = Cited((), question_terms(last.content), chosen)
        return dataclasses.replace(request, query=query), cited

    @Slot(int, list)
    def _on_sources_chosen(self, request_id: int, sources: list[Source]) -> None:
        cited = self._active_cited
        if request_id == self._active_id and cited is not None:
            self._active_cited = dataclasses.replace(cited, sources=tuple(sources))

    def _restore_collections(self, items: Sequence[MessageItem]) -> bool:
        """A reopened chat answers from the collections its last grounded reply used (True)."""
        for item in reversed(items):
            if item.cited is not None:
                self.set_collections(item.cited.collections)
                return True
        return False

    def _assistant_collections(self) -> None:
        """A chat no document has answered in yet takes its assistant's collections (if
        the assistant has any: otherwise the chat keeps those chosen)."""
        profile = self._profile
        assistant = None if profile is None else profile.assistant
        if self._documents and assistant is not None and assistant.collections:
            self.set_collections(assistant.collections)

    def _stored(self, action: Callable[[ConversationSession], _T]) -> _T | None:
        """Run one session call; errors become messages, never crashes.

        Hearth's own errors say what happened; anything else is a bug, logged with its
        traceback. Either way the store keeps what was saved before the call.
        """
        try:
            return action(self._session)
        except DatabaseError as error:
            log.warning("saving the conversation failed: %s", error)
            self.error_occurred.emit(f"Could not save the conversation: {error}")
        except HearthError as error:
            log.warning("conversation action refused: %s", error)
            self.status_changed.emit(str(error))
        except Exception as error:
            log.exception("unexpected error in a conversation action")
            self.error_occurred.emit(
                f"Something went wrong ({type(error).__name__}: {error}); the conversation "
                "is saved as it was. Details are in the log."
            )
        return None

    def _change_branch(
        self, action: Callable[[ConversationSession], list[MessageItem]]
    ) -> list[MessageItem] | None:
        items = self._stored(action)
        if items is not None:
            self.branch_changed.emit(items)
            self._context.clear_marks()
        return items

    def _reply_when_ready(self) -> None:
        """Ask for a reply to the branch as it stands, now or once the model has loaded."""
        profile = self._profile
        idle = not self.model_ready and not self.model_loading
        if idle and profile is not None and profile.model_path is not None:
            # The model was unloaded to free memory: load the chat's model again.
            self.load_model(profile.model_path, profile.load_options, key=profile.model_key)
        if self.model_ready:
            self._start_reply()
        elif self.model_loading:
            self._set_phase(ReplyPhase.WAITING)
            self.status_changed.emit("Your message will be sent when the model has loaded…")
        else:
            self.error_occurred.emit(
                "No model is loaded, so there is nobody to answer yet. Load a model and "
                "send again: your message is kept."
            )

    def _start_reply(self) -> None:
        request, cited = self._grounded_request()
        model = self.model
        ran_on = None if model is None else RanOn.of(self.model_key, model.name)
        item = self._stored(lambda session: session.start_reply(ran_on))
        if item is not None:
            self._active_cited = cited
            self._start_generation(request, item)

    def _start_generation(self, request: ChatRequest, item: MessageItem) -> None:
        self._active_id = self._new_id()
        self._active_request = request
        self._prefix = item.content
        self._pieces = []
        self._text_dirty = False
        if not item.content:
            self.message_appended.emit(item)
        self._set_phase(ReplyPhase.STREAMING)
        self.generation_started.emit()
        self.status_changed.emit("Thinking…" if not item.content else "Continuing…")
        self.reply_requested.emit(self.model_key or "", self.conversation_id)
        if request.query is not None:
            self._inference.generate_grounded_requested.emit(
                self._active_id,
                request.messages,
                self._reply_params(),
                request.pinned,
                request.query,
            )
            return
        self.generate_requested.emit(
            self._active_id, request.messages, self._reply_params(), request.pinned
        )

    def _flush_text(self) -> None:
        if self._text_dirty:
            self._text_dirty = False
            self._pieces = ["".join(self._pieces)]
            self.assistant_text_changed.emit(self._prefix + self._pieces[0])
            self._throttle.start()

    def _end_generation(self, status: MessageStatus, stats: GenerationStats | None) -> None:
        """Finish the active request: its text so far is kept and saved with `status`."""
        self._throttle.stop()
        self._flush_text()
        self._throttle.stop()
        text = self._prefix + "".join(self._pieces)
        stats_dict = None if stats is None else dataclasses.asdict(stats)
        if self._active_cited is not None:
            stats_dict = {**(stats_dict or {}), **to_stats(self._active_cited)}
            self._active_cited = None
        self._active_id = None
        self._active_request = None
        self._prefix, self._pieces = "", []
        item = self._stored(lambda session: session.finish_reply(status, text, stats_dict))
        self._set_phase(ReplyPhase.IDLE)
        if item is not None:
            self.message_finished.emit(item)
        self.conversations_changed.emit()
        self._context.schedule()
