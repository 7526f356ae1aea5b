"""Which model, assistant and settings a conversation runs with.

A conversation records two choices: its assistant (`Conversation.assistant_id`) and the
model it last used (`Conversation.model_path`, a model library key). `ChatProfiles` turns
those choices into a `ChatProfile`: the assistant itself, the model file to load, and the
generation settings. Settings take precedence in this order, each over the one before:
Hearth's built-in defaults (with the model file's own recommendations), the model's saved
settings (`ModelLibrary.settings_for`, the Models page), the assistant's settings, then this
session's overrides (command-line flags). A choice that no longer exists (a deleted model or
assistant) falls back to the default, and the profile says so in `problem`.

A model key "adapter:NAME" (`desktop.core.adapter_keys`) is one of the user's LoRA adapters
(kept in the encrypted store, `ChatProfiles.adapters`): its base model with the adapter at
its scale. The profile names the adapter (`adapter`); whoever loads it asks `materialized`
for the adapter's private temporary file.

The window and `hearth ask` both build their profiles with `make_profiles`, so they agree on
the default model and its settings.

Plain Python: no Qt, no engine. Thread: the caller's (it reads small files and headers).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from desktop.chat.remote_models import RemoteModels
from desktop.core.adapter_keys import adapter_key, split_adapter_key
from desktop.core.assistants import Assistant
from desktop.core.errors import HearthError
from desktop.core.servers import split_remote_key
from desktop.core.settings import GenerationSettings, settings_from_dict
from desktop.core.types import LoadOptions
from desktop.inference.embedded import find_embedded_model
from desktop.inference.inspection_cache import InspectionCache
from desktop.inference.library import ModelEntry, ModelLibrary
from desktop.paths import AppPaths
from desktop.storage.assistants import DEFAULT_ASSISTANT_ID, AssistantStore, builtin_assistants_dir

if TYPE_CHECKING:  # the store's modules (and SQLCipher) load only where a store is open
    from desktop.storage.adapters import AdapterStore, StoredAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatProfile:
    """What one conversation runs with. `model_path` None: there is no usable model."""

    assistant: Assistant | None
    model_key: str | None
    model_path: Path | None
    model_name: str
    settings: GenerationSettings
    problem: str | None = None
    adapter: StoredAdapter | None = None  # applied to the model (an "adapter:NAME" key)

    @property
    def assistant_id(self) -> str | None:
        return None if self.assistant is None else self.assistant.id

    @property
    def load_options(self) -> LoadOptions:
        """How to load the model; with an adapter, its scale (its file is made at load time,
        see `ChatProfiles.materialized`)."""
        options = self.settings.to_load_options()
        if self.adapter is None:
            return options
        return replace(options, adapter_scale=self.adapter.scale)


class ProfileSource(Protocol):
    """What the controller needs to know about models and assistants."""

    def resolve(self, assistant_id: str | None, model_key: str | None) -> ChatProfile: ...

    def model_choices(self) -> list[tuple[str, str]]: ...

    def assistant_choices(self) -> list[tuple[str, str]]: ...

    def materialized(self, name: str) -> AbstractContextManager[Path]: ...


class ChatProfiles:
    """`ProfileSource` over the model library and the assistant store."""

    def __init__(
        self,
        library: ModelLibrary,
        assistants: AssistantStore,
        *,
        override_model: Path | None = None,
        base_settings: GenerationSettings | None = None,
        session_settings: Mapping[str, Any] | None = None,
        remote: RemoteModels | None = None,
    ) -> None:
        self.library = library
        #: The user's servers and their models (None: servers are not offered).
        self.remote = remote
        self.assistants = assistants
        #: A model given on the command line: used when a conversation names none.
        self.override_model = override_model
        self._base = base_settings or GenerationSettings()
        #: Settings given on the command line (context, threads) for this session only.
        self._session = dict(session_settings or {})
        #: The user's adapters (None: no store open, none offered).
        self.adapters: AdapterStore | None = None

    def resolve(self, assistant_id: str | None, model_key: str | None) -> ChatProfile:
        problems: list[str] = []
        assistant = self._assistant(assistant_id, problems)
        wanted = model_key or (assistant.model if assistant is not None else None)
        remote = self._remote(wanted, assistant_id, problems)
        if remote is not None:
            return remote
        adapter = self._adapter(wanted, problems)
        if adapter is not None:
            wanted = adapter.base
        elif split_adapter_key(wanted) is not None:
            wanted = None
        entry = self._entry(wanted, problems) if wanted else None
        if entry is not None and adapter is not None:
            context = entry.info.context_length if entry.info else None
            return ChatProfile(
                assistant,
                adapter_key(adapter.name),
                entry.path,
                f"{entry.path.stem} · with adapter {adapter.name}",
                self._layered(self.library.settings_for(entry), assistant, context),
                " ".join(problems) or None,
                adapter,
            )
        if entry is None and self.override_model is not None:
            path = self.override_model
            return ChatProfile(
                assistant,
                str(path),
                path,
                path.stem,
                self._layered(self._base, assistant, None),
                " ".join(problems) or None,
            )
        if entry is None:
            entry = self.library.default_entry()
        if entry is None:
            problems.append("There is no usable model; import one in the Models page.")
            return ChatProfile(assistant, None, None, "", self._base, " ".join(problems))
        context = entry.info.context_length if entry.info else None
        return ChatProfile(
            assistant,
            entry.key,
            entry.path,
            entry.path.stem,
            self._layered(self.library.settings_for(entry), assistant, context),
            " ".join(problems) or None,
        )

    def resolve_remote(
        self, assistant_id: str | None, key: str, name: str, context: int
    ) -> ChatProfile:
        """A model on the user's server (`key` "server:NAME:MODEL"): Hearth's defaults with
        `context`, the assistant's settings, then this session's; no file to load."""
        problems: list[str] = []
        assistant = self._assistant(assistant_id, problems)
        base = replace(self._base, context_length=context)
        settings = self._layered(base, assistant, None)
        return ChatProfile(assistant, key, None, name, settings, " ".join(problems) or None)

    def _remote(
        self, key: str | None, assistant_id: str | None, problems: list[str]
    ) -> ChatProfile | None:
        """The profile of a server's model, or None (with a problem when its server is gone)."""
        parts = split_remote_key(key)
        if parts is None or key is None:
            return None
        found = None if self.remote is None else self.remote.find(key)
        if found is None or self.remote is None:
            problems.append(f"This chat's server ({parts[0]}) is gone; the default model is used.")
            return None
        server, model = found
        self.remote.remember(server.name, model)  # listed in the picker before any request
        profile = self.resolve_remote(
            assistant_id, key, model, server.context_length or self._base.context_length
        )
        problem = " ".join([*problems, profile.problem or ""]).strip() or None
        return replace(profile, model_path=Path(key), problem=problem)

    def _adapter(self, key: str | None, problems: list[str]) -> StoredAdapter | None:
        name = split_adapter_key(key)
        if name is None:
            return None
        try:
            found = None if self.adapters is None else self.adapters.find(name)
        except HearthError as error:
            log.warning("adapter %s unreadable: %s", name, error)
            found = None
        if found is None:
            problems.append(f"This chat's adapter (“{name}”) is gone; the default model is used.")
        return found

    def materialized(self, name: str) -> AbstractContextManager[Path]:
        """The adapter `name`'s private temporary file, removed when the block ends."""
        if self.adapters is None:
            raise HearthError(f"The adapter “{name}” is kept in the store, which is not open.")
        return self.adapters.materialized(name)

    def adapters_of(self, key: str) -> list[StoredAdapter]:
        """The user's adapters for the model `key` (none when the store is not open)."""
        try:
            return [] if self.adapters is None else self.adapters.adapters(key)
        except HearthError as error:
            log.warning("adapters unreadable: %s", error)
            return []

    def model_choices(self) -> list[tuple[str, str]]:
        """(key, label) of every usable model, in the library's order, each followed by its
        adapters ("smollm2 · with adapter capitals"), then the servers'."""
        choices = []
        for entry in self.library.entries():
            if entry.usable:
                choices.append((entry.key, entry.path.stem))
                choices += [
                    (adapter_key(a.name), f"{entry.path.stem} · with adapter {a.name}")
                    for a in self.adapters_of(entry.key)
                ]
        if self.remote is not None:
            choices += self.remote.choices()
        override = self.override_model
        if override is not None and all(key != str(override) for key, _ in choices):
            choices.append((str(override), override.stem))
        return choices

    def assistant_choices(self) -> list[tuple[str, str]]:
        return [(a.id, a.name) for a in self.assistants.assistants()]

    def _assistant(self, assistant_id: str | None, problems: list[str]) -> Assistant | None:
        wanted = assistant_id or DEFAULT_ASSISTANT_ID
        try:
            found = self.assistants.find(wanted)
        except HearthError as error:
            log.warning("assistant %s unreadable: %s", wanted, error)
            found = None
        if found is None and assistant_id:
            problems.append(
                f'The assistant this chat used ("{assistant_id}") is gone; the general one '
                "answers instead."
            )
            found = self.assistants.find(DEFAULT_ASSISTANT_ID)
        return found

    def _entry(self, ref: str, problems: list[str]) -> ModelEntry | None:
        try:
            entry = self.library.find(ref)
        except HearthError:
            entry = None
        if entry is not None and entry.usable:
            return entry
        if self.override_model is not None and ref == str(self.override_model):
            return None
        name = Path(ref).name if ref != "embedded" else "the built-in model"
        problems.append(f"This chat's model ({name}) is no longer available; the default is used.")
        return None

    def _layered(
        self, settings: GenerationSettings, assistant: Assistant | None, context: int | None
    ) -> GenerationSettings:
        """The assistant's settings over `settings`, then this session's over both.

        A context given on the command line is taken even past the model's training (the
        command line warns about it, and refuses one that does not fit in memory).
        """
        if assistant is not None:
            settings = self._apply(
                settings, assistant.settings, context, f"assistant {assistant.id}"
            )
        return self._apply(settings, self._session, None, "the command line")

    @staticmethod
    def _apply(
        settings: GenerationSettings,
        overrides: Mapping[str, Any],
        context: int | None,
        source: str,
    ) -> GenerationSettings:
        if not overrides:
            return settings
        merged, problems = settings_from_dict(overrides, settings, context)
        for problem in problems:
            log.warning("settings from %s: %s", source, problem)
        return merged


def make_profiles(
    paths: AppPaths,
    *,
    override_model: Path | None = None,
    session_settings: Mapping[str, Any] | None = None,
) -> ChatProfiles:
    """The model library and assistants in `paths`, as the window and `hearth ask` use them.

    `override_model`: a file given with `--model`; `session_settings`: flags such as
    `context_length` or `threads` that win over every saved setting for this session only.
    """
    try:
        embedded: Path | None = find_embedded_model(verify=False)
    except HearthError as error:
        log.warning("no built-in model: %s", error)
        embedded = None
    library = ModelLibrary(
        paths.models_dir,
        paths.model_state_path,
        embedded,
        inspections=InspectionCache(paths.model_inspections_path),
    )
    assistants = AssistantStore(builtin_assistants_dir(), paths.assistants_dir)
    override = None if override_model is None else override_model.expanduser().absolute()
    return ChatProfiles(
        library, assistants, override_model=override, session_settings=session_settings
    )
