"""How the conversation is fitted into the context window."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from desktop.core.errors import ContextOverflowError
from desktop.core.prompting import fit_messages, plan_context, with_system_prompt
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


# --- a context window too small for the system prompt ------------------------------------
# With `words`, n_ctx 28 keeps 16 tokens for the reply (the minimum): the prompt gets 12.
SMALL_CTX = 28
HI = ChatMessage("user", "hi")  # 3 tokens


def test_system_prompt_shortened_to_the_sentences_that_fit() -> None:
    system = ChatMessage("system", "Sentence one is here. Sentence two is here too. Three.")
    plan = plan_context([system, HI], SMALL_CTX, 64, words)
    assert plan.messages == [ChatMessage("system", "Sentence one is here."), HI]
    assert plan.system_prompt == "shortened" and plan.prompt_tokens == 9 <= plan.budget == 12
    assert plan.note == (
        "This model's context window (28 tokens) is too small for the whole prompt, so the "
        "system prompt is shortened to its first sentences."
    )


def test_system_prompt_left_out_when_not_even_its_first_sentence_fits() -> None:
    system = ChatMessage("system", "A single long sentence with many words in it, far too many.")
    plan = plan_context([system, HI], SMALL_CTX, 64, words)
    assert plan.messages == [HI] and plan.system_prompt == "dropped"
    assert plan.note is not None and "the system prompt is left out" in plan.note


def test_examples_give_way_before_the_system_prompt() -> None:
    examples = [ChatMessage("user", "u1 x"), ChatMessage("assistant", "a1 y")]
    examples += [ChatMessage("user", "u2 x"), ChatMessage("assistant", "a2 y")]
    system = ChatMessage("system", "be brief")
    # n_ctx 36: 20 for the prompt; everything takes 23, one exchange fewer 15.
    plan = plan_context([system, *examples, HI], 36, 64, words, pinned=4)
    assert plan.messages == [system, *examples[:2], HI]
    assert plan.examples_left_out == 2 and plan.system_prompt == "kept"
    assert plan.note is not None and "the assistant's examples are left out" in plan.note


def test_a_window_that_holds_everything_says_nothing() -> None:
    plan = plan_context([ChatMessage("system", "be brief"), HI], 1000, 64, words)
    assert plan.note is None and plan.system_prompt == "kept" and plan.examples_left_out == 0


def test_a_message_too_long_by_itself_names_what_takes_the_room() -> None:
    system = ChatMessage("system", "be brief")
    long = ChatMessage("user", "word " * 30)
    with pytest.raises(ContextOverflowError) as caught:
        plan_context([system, long], 36, 64, words)
    assert str(caught.value) == (
        "The message is too long for this model: it takes about 32 tokens by itself, but the "
        "context window holds 36 with 16 kept for the reply, even without the system prompt "
        "(about 4 tokens). Shorten the message, or load the model with a larger context."
    )
