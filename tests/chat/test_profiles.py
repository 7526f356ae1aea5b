"""Which model and settings a chat runs with: the same for the window and `hearth ask`.

Real model library (a tiny generated GGUF in the models folder), real assistants; no engine.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from desktop.chat.profiles import ChatProfiles, make_profiles
from desktop.inference.library import ModelLibrary
from desktop.paths import AppPaths
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from tests.tinymodels import write_tiny_llama_gguf


def _paths_with_tiny_default(tmp_path: Path) -> AppPaths:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    paths.models_dir.mkdir(parents=True, exist_ok=True)
    write_tiny_llama_gguf(paths.models_dir / "tiny.gguf")
    profiles = make_profiles(paths)
    entry = profiles.library.set_default("tiny")
    saved = replace(
        profiles.library.settings_for(entry), temperature=0.33, max_new_tokens=64, top_k=7
    )
    profiles.library.save_settings(entry, saved)
    return paths


def test_the_default_model_and_its_saved_settings_are_what_a_new_chat_gets(
    tmp_path: Path,
) -> None:
    paths = _paths_with_tiny_default(tmp_path)
    profile = make_profiles(paths).resolve(None, None)
    assert profile.model_path is not None and profile.model_path.name == "tiny.gguf"
    assert profile.model_name == "tiny" and profile.problem is None
    settings = profile.settings
    assert (settings.temperature, settings.max_new_tokens, settings.top_k) == (0.33, 64, 7)


def test_settings_precedence_model_then_assistant_then_this_session(tmp_path: Path) -> None:
    paths = _paths_with_tiny_default(tmp_path)
    coder = make_profiles(paths).resolve("coder", None).settings  # coder.json: 0.2, 768
    assert (coder.temperature, coder.max_new_tokens, coder.top_k) == (0.2, 768, 7)
    flagged = make_profiles(
        paths, session_settings={"temperature": 0.9, "context_length": 256}
    ).resolve("coder", None)
    settings = flagged.settings
    assert (settings.temperature, settings.max_new_tokens, settings.top_k) == (0.9, 768, 7)
    assert flagged.load_options.n_ctx == 256


def test_a_model_given_on_the_command_line_wins_and_a_gone_one_is_said(tmp_path: Path) -> None:
    paths = _paths_with_tiny_default(tmp_path)
    other = write_tiny_llama_gguf(tmp_path / "other.gguf")
    profiles = make_profiles(paths, override_model=other)
    chosen = profiles.resolve(None, str(profiles.override_model))
    assert chosen.model_path == other.absolute() and chosen.problem is None
    gone = make_profiles(paths).resolve(None, "deleted.gguf")
    assert gone.model_name == "tiny"
    assert gone.problem == (
        "This chat's model (deleted.gguf) is no longer available; the default is used."
    )


def test_an_adapter_key_is_its_base_model_with_the_adapter(
    tmp_path: Path, store: ConversationStore
) -> None:
    from desktop.core.adapter_keys import adapter_key
    from desktop.storage.adapters import AdapterStore
    from tests.integration.test_adapters import tiny_adapter

    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    profiles = ChatProfiles(
        ModelLibrary(tmp_path / "models", tmp_path / "models.json", model),
        AssistantStore(builtin_assistants_dir(), tmp_path / "assistants"),
    )
    assert profiles.resolve(None, adapter_key("sea")).problem == (
        "This chat's adapter (“sea”) is gone; the default model is used."
    )
    profiles.adapters = AdapterStore(store.db)
    data = tiny_adapter(tmp_path / "sea.gguf").read_bytes()
    profiles.adapters.add("sea", "embedded", data, 4, "imported from sea.gguf", scale=0.5)
    profile = profiles.resolve(None, adapter_key("sea"))
    assert (profile.model_key, profile.model_path, profile.problem) == ("adapter:sea", model, None)
    assert profile.model_name == "tiny · with adapter sea"
    assert profile.load_options.adapter_scale == 0.5 and profile.load_options.adapter is None
    assert ("adapter:sea", "tiny · with adapter sea") in profiles.model_choices()
    # An assistant naming the adapter as its model answers with it.
    helper = profiles.assistants.create("Sea", "Talk of the sea.", model=adapter_key("sea"))
    assert profiles.resolve(helper.id, None).adapter == profiles.adapters.get("sea")
    with profiles.materialized("sea") as file:
        assert file.read_bytes() == data
    assert not file.exists()
