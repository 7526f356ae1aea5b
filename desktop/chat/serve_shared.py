"""`SharedBackend`: the API answered by the engine of another owner (the window's).

The window's serve does not load a model of its own: each request is handed, as a
`Generation`, to the thread that owns the window's engine (`hand_off`, thread-safe), where
it queues with the window's own replies, one at a time in arrival order. It answers with
the model that owner has loaded (`loaded()`: its path, or None); a request naming another
model of the library is refused with a sentence naming the loaded one, so the window's
chat is never disturbed by a model switch. Cancelling a request (its client went away)
stops that generation only.

Plain Python, no Qt: the caller gives `hand_off` and `loaded`. Called on the API's thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from desktop.chat.profiles import ChatProfile, ChatProfiles
from desktop.chat.serve_backend import Generation, ModelRefused
from desktop.core.servers import split_remote_key


class SharedBackend:
    """See the module docstring."""

    def __init__(
        self,
        profiles: ChatProfiles,
        loaded: Callable[[], str | None],
        hand_off: Callable[[Generation], None],
    ) -> None:
        self._profiles = profiles
        self._loaded = loaded
        self._hand_off = hand_off
        self._waiting: weakref.WeakSet[Generation] = weakref.WeakSet()

    def _profile(self) -> ChatProfile:
        """The profile of the loaded model; `ModelRefused` when there is none to serve."""
        path = self._loaded()
        if not path:
            raise ModelRefused(
                503, "No model is loaded in Hearth's window yet; choose one there, then ask again."
            )
        remote = split_remote_key(path)
        if remote is not None:
            raise ModelRefused(
                503,
                f"Hearth's window is using a model on your server {remote[0]}; the API serves "
                "only models on this computer. Choose one in the window, then ask again.",
            )
        for entry in self._profiles.library.entries():
            if entry.path == Path(path):
                return self._profiles.resolve(None, entry.key)
        default = self._profiles.resolve(None, None)  # a file given on the command line
        return replace(default, model_key=path, model_path=Path(path), model_name=Path(path).stem)

    def models(self) -> dict[str, str]:
        """The loaded model's id -> its key (nothing when none can be served)."""
        try:
            profile = self._profile()
        except ModelRefused:
            return {}
        return {profile.model_name: profile.model_key or profile.model_name}

    def profile_for(self, model_id: str | None) -> ChatProfile:
        profile = self._profile()
        if not model_id or model_id == profile.model_name:
            return profile
        library = {label for _, label in self._profiles.model_choices()}
        if model_id in library:
            raise ModelRefused(
                400,
                f'Hearth\'s window has "{profile.model_name}" loaded and the API answers with '
                f'it; ask for "{profile.model_name}", or choose "{model_id}" in the window.',
            )
        raise ModelRefused(
            404, f'There is no model "{model_id}"; Hearth offers: {profile.model_name}.'
        )

    def submit(self, profile: ChatProfile, generation: Generation) -> None:
        """Queue `generation` behind what the window's engine is doing."""
        generation.model_path = None if profile.model_path is None else str(profile.model_path)
        self._waiting.add(generation)
        self._hand_off(generation)

    def preload(self) -> str:
        """Nothing to load: the window has its model. Its id, or "" when none."""
        return next(iter(self.models()), "")

    def close(self) -> None:
        """Cancel the requests not answered yet (they end at their next token)."""
        for generation in list(self._waiting):
            generation.cancel()
