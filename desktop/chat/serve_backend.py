"""`ServeBackend`: Hearth's local models for `hearth serve`, one generation at a time.

One thread (a single-worker executor) owns the engine, like the window's inference thread:
requests queue in arrival order, and the model a request names is loaded there (replacing
the one loaded) before its reply streams. Each request is a `Generation`: its tokens, then
its stats or its error, are put on an asyncio queue of the server's event loop; `cancel()`
(a client that went away) stops it between tokens.

Plain Python, no Qt, no HTTP (see `desktop.chat.api_server`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from desktop.chat.profiles import ChatProfile, ChatProfiles
from desktop.core.errors import HearthError
from desktop.core.types import ChatMessage, GenerationParams, GenerationStats
from desktop.inference.engine import CancelToken, Engine
from desktop.inference.runner import run_generation

log = logging.getLogger(__name__)

#: (profile) -> an engine with the profile's model loaded.
EngineLoader = Callable[[ChatProfile], Engine]


@dataclass
class Event:
    kind: str  # "token", "done" (value: GenerationStats) or "error" (value: a sentence)
    value: Any


class Generation:
    """One request's reply, produced on the engine thread, read on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.cancel_token = CancelToken()
        self._loop = loop

    def put(self, kind: str, value: Any) -> None:
        """From the engine thread."""
        self._loop.call_soon_threadsafe(self.events.put_nowait, Event(kind, value))

    def cancel(self) -> None:
        self.cancel_token.cancel()


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
        self._lock = threading.Lock()
        #: Requests finished, and of those, cancelled (the client went away): for the status.
        self.finished = 0
        self.cancelled = 0

    # --- models -------------------------------------------------------------------------

    def models(self) -> dict[str, str]:
        """model id -> the library key, every usable model."""
        return {label: key for key, label in self._profiles.model_choices()}

    def default_id(self) -> str:
        profile = self._profiles.resolve(None, self._default)
        return profile.model_name

    def profile_for(self, model_id: str | None) -> ChatProfile | None:
        """The profile of `model_id` (None or unknown: the default when None, else None)."""
        if not model_id:
            return self._profiles.resolve(None, self._default)
        key = self.models().get(model_id)
        return None if key is None else self._profiles.resolve(None, key)

    def preload(self) -> str:
        """Load the default model now (on the engine thread); its id."""
        profile = self._profiles.resolve(None, self._default)
        self._executor.submit(self._ensure, profile).result()
        return profile.model_name

    # --- generations --------------------------------------------------------------------

    def submit(
        self,
        profile: ChatProfile,
        messages: Sequence[ChatMessage],
        overrides: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
    ) -> Generation:
        """Queue a reply to `messages` with `profile`'s model and settings (`overrides` win)."""
        generation = Generation(loop)
        self._executor.submit(self._run, generation, profile, list(messages), overrides)
        return generation

    def _run(
        self,
        generation: Generation,
        profile: ChatProfile,
        messages: list[ChatMessage],
        overrides: dict[str, Any],
    ) -> None:
        if generation.cancel_token.cancelled:  # the client left while it waited its turn
            self._count(cancelled=True)
            generation.put("error", "The request was cancelled.")
            return
        try:
            engine = self._ensure(profile)
            params: GenerationParams = replace(profile.settings.to_params(), **overrides)
            stats = run_generation(
                engine,
                messages,
                params,
                generation.cancel_token,
                lambda piece: generation.put("token", piece),
            )
        except HearthError as error:
            generation.put("error", str(error))
            self._count(cancelled=False)
        except Exception as error:  # a bug: logged, said, the server goes on
            log.exception("serving a request failed")
            generation.put("error", f"Internal error: {error or type(error).__name__}")
            self._count(cancelled=False)
        else:
            if stats.cancelled:
                log.info("a generation was cancelled after %d tokens", stats.generated_tokens)
            self._count(cancelled=stats.cancelled)
            generation.put("done", stats)

    def _count(self, cancelled: bool) -> None:
        with self._lock:
            self.finished += 1
            self.cancelled += int(cancelled)

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
