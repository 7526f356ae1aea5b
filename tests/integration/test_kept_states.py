"""A long conversation answers warm after a restart: its model state is kept on disk,
encrypted, by the real engine host with the real built-in model."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.host.client import HostedEngine
from desktop.inference.kv_disk import DiskStatesConfig, label_for, states_key

pytestmark = pytest.mark.slow

OPTIONS = LoadOptions(n_ctx=2048, n_threads=2)
MARKER = "Zyxwvutsquall"


def hosted(config: DiskStatesConfig | None) -> HostedEngine:
    return HostedEngine(disk_states=lambda: config)


def reply(engine: HostedEngine, messages: list[ChatMessage], label: str | None) -> str:
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=5, state_label=label)
    return "".join(engine.stream(messages, params, CancelToken()))


def first_session(
    model: Path, config: DiskStatesConfig, notes: str
) -> tuple[list[ChatMessage], int]:
    """A Hearth session answers a long first message, then quits: the chat, and how many
    prompt tokens it evaluated."""
    chat = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", notes)])
    engine = hosted(config)
    engine.load(model, OPTIONS)
    try:
        chat.append(ChatMessage("assistant", reply(engine, chat, label_for(7))))
        evaluated = engine.usage.prompt_tokens
        assert evaluated > 400
    finally:
        engine.close()  # quitting: the state written after the reply is on disk
    return chat, evaluated


def test_after_a_restart_only_the_new_question_is_evaluated_and_the_reply_is_the_same(
    embedded_model: Path, tmp_path: Path
) -> None:
    config = DiskStatesConfig(tmp_path / "states", states_key(bytes(range(32))), 200 << 20)
    notes = " ".join(f"Note {n}: {MARKER} room {n} is on floor {n % 7}." for n in range(40))
    chat, evaluated = first_session(embedded_model, config, notes)
    files = list(config.folder.iterdir())
    assert len(files) == 1 and files[0].suffix == ".kv"
    raw = files[0].read_bytes()
    assert MARKER.encode() not in raw and b"floor" not in raw  # encrypted
    assert "room" not in files[0].name and len(raw) > 1_000_000  # tens of KB a token

    chat.append(ChatMessage("user", "Which floor is room 12 on?"))
    again = hosted(config)  # Hearth started again
    again.load(embedded_model, OPTIONS)
    # A fresh engine with nothing kept, through the same conversation without a restart.
    # (Evaluating the whole conversation in one pass instead can pick another token at a
    # near tie: llama.cpp's sums differ in their last bits with the batches' shapes.)
    cold = hosted(None)
    cold.load(embedded_model, OPTIONS)
    try:
        warm_reply = reply(again, chat, label_for(7))
        assert again.usage.cached_tokens >= evaluated  # only the new question was read
        assert again.usage.prompt_tokens - again.usage.cached_tokens < 40
        assert reply(cold, chat[:2], None) == chat[2].content
        assert reply(cold, chat, None) == warm_reply
        assert cold.usage.cached_tokens >= evaluated
    finally:
        again.close()
        cold.close()
    assert len(list(config.folder.iterdir())) == 1  # the conversation keeps its latest only


def test_a_state_of_another_context_size_is_not_restored(
    embedded_model: Path, tmp_path: Path
) -> None:
    config = DiskStatesConfig(tmp_path / "states", states_key(b"k" * 32), 200 << 20)
    chat, _ = first_session(
        embedded_model, config, " ".join(f"Item {n} costs {n}." for n in range(80))
    )
    chat.append(ChatMessage("user", "What does item 3 cost?"))
    other = hosted(config)
    other.load(embedded_model, LoadOptions(n_ctx=1024, n_threads=2))
    try:
        reply(other, chat, label_for(7))
        assert other.usage.cached_tokens < 5  # evaluated again, not restored
    finally:
        other.close()
