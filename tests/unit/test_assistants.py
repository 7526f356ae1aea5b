"""Assistants: the message list, pinned few-shot examples under trimming, the template."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from desktop.core.assistants import (
    Assistant,
    Example,
    assistant_from_dict,
    assistant_to_dict,
    build_messages,
)
from desktop.core.errors import AssistantError, ContextOverflowError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, fit_messages, plan_context
from desktop.core.types import ChatMessage
from desktop.inference.templates import ChatTemplate

CODER = Assistant(
    id="coder",
    name="Coder",
    system_prompt="Answer with code.",
    examples=(Example("Reverse a string.", "text[::-1]"), Example("Add 1.", "x + 1")),
)


def words(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content.split()) + 2 for m in messages)


def history(turns: int) -> list[ChatMessage]:
    out = []
    for i in range(turns):
        out += [ChatMessage("user", f"q{i} " + "x " * 8), ChatMessage("assistant", f"a{i} y y")]
    return [*out, ChatMessage("user", "last question")]


def test_system_prompt_then_examples_then_history() -> None:
    prompt = build_messages(CODER, [ChatMessage("system", "ignored"), *history(1)])
    assert prompt.pinned == 4
    assert [m.role for m in prompt.messages] == [
        "system", "user", "assistant", "user", "assistant", "user", "assistant", "user",
    ]  # fmt: skip
    assert prompt.messages[0].content == "Answer with code."
    assert prompt.messages[1:3] == [
        ChatMessage("user", "Reverse a string."),
        ChatMessage("assistant", "text[::-1]"),
    ]
    plain = build_messages(None, history(0))
    assert plain.messages[0] == ChatMessage("system", DEFAULT_SYSTEM_PROMPT) and plain.pinned == 0


def test_trimming_keeps_system_and_examples_and_counts_what_was_left_out() -> None:
    prompt = build_messages(CODER, history(10))
    plan = plan_context(prompt.messages, n_ctx=120, reserve=30, count_tokens=words,
                        pinned=prompt.pinned)  # fmt: skip
    assert plan.messages[:5] == prompt.messages[:5]  # system prompt and both examples
    assert plan.messages[-1] == ChatMessage("user", "last question")
    assert plan.messages[5].role == "user"  # the kept history starts with a question
    assert plan.omitted > 0 and plan.omitted % 2 == 0
    assert plan.messages[5:] == prompt.messages[5 + plan.omitted :]
    assert plan.prompt_tokens == words(plan.messages) <= plan.budget == 90
    # The next older exchange would not have fitted.
    assert words(prompt.messages[:5] + prompt.messages[5 + plan.omitted - 2 :]) > 90
    # Without pinning, the old behaviour drops the examples first.
    unpinned = fit_messages(prompt.messages, 120, 30, words)
    assert ChatMessage("user", "Reverse a string.") not in unpinned


def test_everything_fits_nothing_left_out() -> None:
    prompt = build_messages(CODER, history(1))
    plan = plan_context(prompt.messages, 1000, 100, words, prompt.pinned)
    assert plan.messages == prompt.messages and plan.omitted == 0
    assert plan.prompt_tokens == words(prompt.messages)


def test_a_single_message_too_long_is_a_clear_error() -> None:
    prompt = build_messages(CODER, [ChatMessage("user", "word " * 500)])
    with pytest.raises(ContextOverflowError, match="The message is too long for this model"):
        plan_context(prompt.messages, 256, 32, words, prompt.pinned)


def test_examples_reach_the_prompt_in_the_templates_format() -> None:
    chatml = ChatTemplate.named("chatml")
    text = chatml.render(build_messages(CODER, [ChatMessage("user", "Sort a list.")]).messages)
    assert text == (
        "<|im_start|>system\nAnswer with code.<|im_end|>\n"
        "<|im_start|>user\nReverse a string.<|im_end|>\n"
        "<|im_start|>assistant\ntext[::-1]<|im_end|>\n"
        "<|im_start|>user\nAdd 1.<|im_end|>\n"
        "<|im_start|>assistant\nx + 1<|im_end|>\n"
        "<|im_start|>user\nSort a list.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    llama2 = ChatTemplate.named("llama-2").render(build_messages(CODER, []).messages)
    assert "[INST] <<SYS>>\nAnswer with code.\n<</SYS>>\n\nReverse a string. [/INST]" in llama2
    assert " text[::-1] </s>" in llama2


def test_dict_round_trip_and_refusals() -> None:
    data = assistant_to_dict(CODER)
    assert assistant_from_dict(data) == CODER
    bad = [
        ([], "not a JSON object"),
        ({**data, "id": "Bad Id"}, "its id"),
        ({**data, "name": "  "}, "its name is empty"),
        ({**data, "examples": [{"user": "hi"}]}, "an example"),
        ({**data, "schema_version": 2}, "newer Hearth"),
        ({**data, "settings": []}, "settings"),
    ]
    for value, reason in bad:
        with pytest.raises(AssistantError, match=reason):
            assistant_from_dict(value, source="x.json")
