"""How the conversation is fitted into the context window."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from desktop.core.errors import ContextOverflowError
from desktop.core.prompting import fit_messages, with_system_prompt
from desktop.core.types import ChatMessage


def words(messages: Sequence[ChatMessage]) -> int:
    """A stand-in tokenizer: one token per word plus two per message."""
    return sum(len(m.content.split()) + 2 for m in messages)


def conversation(turns: int) -> list[ChatMessage]:
    out = [ChatMessage("system", "be brief")]
    for i in range(turns):
        out.append(ChatMessage("user", f"question {i} " + "x " * 8))
        out.append(ChatMessage("assistant", f"answer {i} " + "y " * 8))
    out.append(ChatMessage("user", "last question"))
    return out


def test_everything_kept_when_it_fits() -> None:
    messages = conversation(3)
    assert fit_messages(messages, n_ctx=1000, reserve=100, count_tokens=words) == messages


def test_oldest_turns_dropped_first_and_system_kept() -> None:
    messages = conversation(10)
    fitted = fit_messages(messages, n_ctx=100, reserve=30, count_tokens=words)
    assert fitted[0] == ChatMessage("system", "be brief")
    assert fitted[-1] == ChatMessage("user", "last question")
    assert fitted[1].role == "user"  # history starts with a question
    assert words(fitted) <= 70
    assert len(fitted) < len(messages)
    # It keeps the longest suffix that fits: adding the previous exchange would overflow.
    kept = len(fitted) - 1
    longer = [messages[0], *messages[-(kept + 2) :]]
    assert words(longer) > 70


def test_single_message_too_long_is_a_clear_error() -> None:
    messages = [ChatMessage("user", "word " * 500)]
    with pytest.raises(ContextOverflowError, match="too long"):
        fit_messages(messages, n_ctx=256, reserve=32, count_tokens=words)


def test_reserve_larger_than_window_is_capped() -> None:
    messages = [ChatMessage("user", "hello")]
    assert fit_messages(messages, n_ctx=128, reserve=4096, count_tokens=words) == messages


def test_with_system_prompt() -> None:
    history = [ChatMessage("user", "hi")]
    assert with_system_prompt("  ", history) == history
    assert with_system_prompt("sys", history)[0] == ChatMessage("system", "sys")
