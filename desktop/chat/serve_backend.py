"""`ServeBackend`: Hearth's local models for `hearth serve`, one generation at a time.

A `Generation` is one API request (a chat reply, or the continuation of a raw prompt) that
runs itself on the thread owning an engine: its tokens, then its stats or its error, are put
on an asyncio queue of the server's event loop; `cancel()` (a client that went away) stops
it between tokens. `ServeBackend` (the command line) owns its engine on one thread (a
single-worker executor): requests queue in arrival order, and the model a request names is
loaded there (replacing the one loaded) before its reply streams. The window's serve hands
its generations to the window's inference thread instead (`serve_shared.SharedBackend`).

Plain Python, no Qt, no HTTP (see `desktop.chat.api_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from desktop.chat.profiles import ChatProfile, ChatProfiles
from desktop.core.errors import EngineCrashedError, HearthError, ModelNotLoadedError
from desktop.core.types import ChatMessage, GenerationParams, GenerationStats
from desktop.inference.engine import CancelToken, Engine
from desktop.inference.runner import run_completion, run_generation

log = logging.getLogger(__name__)

#: (profile) -> an engine with the profile's model loaded.
EngineLoader = Callable[[ChatProfile], Engine]


class Backend(Protocol):
    """What the API needs: the models it offers, and a queue for generations.
    `ServeBackend` (its own engine) and `SharedBackend` (the window's) are two."""

    def models(self) -> dict[str, str]: ...

    def profile_for(self, model_id: str | None) -> ChatProfile: ...

    def submit(self, profile: ChatProfile, generation: Generation) -> None: ...

    def preload(self) -> str: ...

    def close(self) -> None: ...


@dataclass
class Event:
    kind: str  # "token", "done" (value: GenerationStats) or "error" (value: a sentence)
    value: Any


class ModelRefused(Exception):
    """The request's `model` cannot be answered: `status` (404, 400, 503) and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Generation:
    """One request's reply, produced on the engine's thread, read on the event loop.

    `prompt` set: a raw completion of that text; else a chat reply to `messages`.
    `model_path`: the model it was accepted for (`run` refuses another one)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        params: GenerationParams,
        messages: Sequence[ChatMessage] = (),
        prompt: str | None = None,
    ) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.cancel_token = CancelToken()
        self.params = params
        self.messages = list(messages)
        self.prompt = prompt
        self.model_path: str | None = None
        self._loop = loop

    def put(self, kind: str, value: Any) -> None:
        """From the engine thread. Once the server has stopped (its loop closed) nobody
        listens any more: the generation is cancelled instead."""
        try:
            self._loop.call_soon_threadsafe(self.events.put_nowait, Event(kind, value))
        except RuntimeError:
            self.cancel_token.cancel()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self, engine: Engine | None, loaded: str | None = None) -> GenerationStats | None:
        """Produce the reply with `engine` (on the thread that owns it; `loaded`: the path of
        its model). Everything becomes events; returns the stats, or None after an error.
        Raises only an `EngineCrashedError` (after its event), for the owner to act on."""
        if self.cancel_token.cancelled:  # the client left while it waited its turn
            self.put("error", "The request was cancelled.")
            return None
        try:
            if engine is None:
                raise ModelNotLoadedError("No model is loaded; choose one, then ask again.")
            if self.model_path is not None and loaded != self.model_path:
                raise ModelNotLoadedError(
                    "Another model was chosen while this request waited; ask again."
                )
            on_token = partial(self.put, "token")
            cancel = self.cancel_token
            if self.prompt is not None:
                stats = run_completion(engine, self.prompt, self.params, cancel, on_token)
            else:
                stats = run_generation(engine, self.messages, self.params, cancel, on_token)
        except EngineCrashedError as error:
            self.put("error", str(error))
            raise
        except HearthError as error:
            self.put("error", str(error))
            return None
        except Exception as error:  # a bug: logged, said, the server goes on
            log.exception("serving a request failed")
            self.put("error", f"Internal error: {error or type(error).__name__}")
            return None
        if stats.cancelled:
            log.info("a generation was cancelled after %d tokens", stats.generated_tokens)
        self.put("done", stats)
        return stats


class ServeBackend:
    """See the module docstring. `model_id` names are the models' file names (stems)."""

    def __init__(
        self, profiles: ChatProfiles, load: EngineLoader, default_model: str | None = None
    ) -> None:
        self._profiles = profiles
        self._load = load
        self._default = default_model
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="hearth-serve")
        self._engine: Engine | None = None
        self._loaded: str | None = None

    # --- models -------------------------------------------------------------------------

    def models(self) -> dict[str, str]:
        """model id -> the library key, every usable model."""
        return {label: key for key, label in self._profiles.model_choices()}

    def profile_for(self, model_id: str | None) -> ChatProfile:
        """The profile of `model_id` (None: the default); `ModelRefused` for an unknown one."""
        if not model_id:
            return self._profiles.resolve(None, self._default)
        key = self.models().get(model_id)
        if key is None:
            names = ", ".join(self.models()) or "none"
            raise ModelRefused(404, f'There is no model "{model_id}"; Hearth offers: {names}.')
        return self._profiles.resolve(None, key)

    def preload(self) -> str:
        """Load the default model now (on the engine thread); its id."""
        profile = self._profiles.resolve(None, self._default)
        self._executor.submit(self._ensure, profile).result()
        return profile.model_name

    # --- generations --------------------------------------------------------------------

    def submit(self, profile: ChatProfile, generation: Generation) -> None:
        """Queue `generation` with `profile`'s model."""
        self._executor.submit(self._run, generation, profile)

    def _run(self, generation: Generation, profile: ChatProfile) -> None:
        try:
            engine: Engine | None = self._ensure(profile)
        except HearthError as error:
            generation.put("error", str(error))
            return
        with contextlib.suppress(EngineCrashedError):  # the host restarts with the next one
            generation.run(engine)

    def _ensure(self, profile: ChatProfile) -> Engine:
        """The engine with `profile`'s model (loaded now if another one is)."""
        wanted = f"{profile.model_key}|{profile.load_options}"
        if self._engine is not None and self._loaded == wanted:
            return self._engine
        if self._engine is not None:
            self._engine.close()
            self._engine, self._loaded = None, None
        self._engine = self._load(profile)
        self._loaded = wanted
        return self._engine

    def close(self) -> None:
        """Cancel what waits, end the engine thread and the engine."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def stats_finish(stats: GenerationStats, max_tokens: int) -> str:
    """OpenAI's finish_reason for a reply: "length" when it used all its tokens."""
    return "length" if stats.generated_tokens >= max_tokens else "stop"
