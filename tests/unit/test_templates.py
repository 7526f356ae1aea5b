"""Chat templates: the model's own (sandboxed) and the named fallbacks."""

from __future__ import annotations

import pytest

from desktop.core.errors import TemplateError
from desktop.core.types import ChatMessage
from desktop.inference.templates import NAMED_FORMATS, ChatTemplate

CONVERSATION = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "Hello!"),
    ChatMessage("user", "Capital of France?"),
]


def test_chatml_exact() -> None:
    text = ChatTemplate.named("chatml").render(CONVERSATION)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nCapital of France?"
        "<|im_end|>\n<|im_start|>assistant\n"
    )


def test_llama2_puts_system_in_first_instruction() -> None:
    text = ChatTemplate.named("llama-2").render(CONVERSATION)
    assert text.startswith("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]")
    assert text.endswith("[INST] Capital of France? [/INST]")


@pytest.mark.parametrize("name", sorted(NAMED_FORMATS))
def test_every_named_format_renders_all_turns(name: str) -> None:
    text = ChatTemplate.named(name).render(CONVERSATION)
    for message in CONVERSATION:
        assert message.content in text


def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="Unknown chat format"):
        ChatTemplate.named("nonesuch")


def test_model_template_used_with_tokens() -> None:
    source = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    template = ChatTemplate.from_model(source, "<s>", "</s>")
    assert template.name == "model"
    assert template.render(CONVERSATION[1:2]) == "<s>[user]Hi"
    assert "</s>" in template.stop


def test_broken_model_template_falls_back() -> None:
    template = ChatTemplate.from_model("{% for m in messages %}", "<s>", "</s>", fallback="alpaca")
    assert template.name == "alpaca"


def test_raise_exception_in_template_is_a_template_error() -> None:
    source = "{% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}ok"
    template = ChatTemplate.from_model(source, "", "")
    assert template.name == "model"
    with pytest.raises(TemplateError, match="no system"):
        template.render(CONVERSATION)


def test_sandbox_blocks_python_internals() -> None:
    hostile = "{{ messages.__class__.__mro__[1].__subclasses__() }}"
    template = ChatTemplate("x", "hostile")
    object.__setattr__(template, "source", hostile)
    with pytest.raises(TemplateError):
        template.render(CONVERSATION)


@pytest.mark.parametrize("name", sorted(NAMED_FORMATS))
def test_a_conversation_ending_with_a_reply_asks_to_continue_it(name: str) -> None:
    template = ChatTemplate.named(name)
    partial = [*CONVERSATION, ChatMessage("assistant", "The capital is")]
    text = template.render(partial)
    # Everything up to the reply prompt is the usual prompt; the partial reply follows,
    # left open (no end-of-turn marker) for the model to go on.
    assert text == template.render(CONVERSATION) + "The capital is"
    assert template.render(partial, add_generation_prompt=False).count("The capital is") == 1
