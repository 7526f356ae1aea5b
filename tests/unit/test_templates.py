"""Chat templates: the model's own (sandboxed) and the named fallbacks."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

import pytest

from desktop.core.errors import TemplateError
from desktop.core.types import ChatMessage
from desktop.inference.template_sandbox import (
    BoundedEnvironment,
    RenderLimits,
    TemplateLimitError,
    compile_bounded,
)
from desktop.inference.templates import NAMED_FORMATS, ChatTemplate
from tests.hostile_templates import HOSTILE

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


def test_a_template_without_system_role_gets_the_system_prompt_folded_in() -> None:
    source = (
        "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    )
    template = ChatTemplate.from_model(source, "", "")
    assert template.name == "model" and template.fold_system
    assert template.note is not None and "no system role" in template.note
    assert template.replaced_note is None
    assert template.render(CONVERSATION) == (
        "[user]Be brief.\n\nHi[assistant]Hello![user]Capital of France?"
    )


def test_a_refused_conversation_names_the_rule() -> None:
    source = (
        "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}"
        "{{ m.content }}{% endfor %}"
    )
    template = ChatTemplate.from_model(source, "", "")
    assert template.name == "model" and template.fold_system
    twice = [ChatMessage("user", "Hi"), ChatMessage("user", "Hi again")]
    with pytest.raises(TemplateError) as caught:
        template.render(twice)
    assert str(caught.value) == (
        "The model's chat template does not accept this conversation: "
        '"Conversation roles must alternate user/assistant".'
    )


def test_loop_controls_generation_block_and_globals() -> None:
    source = (
        "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
        "{% generation %}<{{ m.content }}>{% endgeneration %}{% if loop.index > 2 %}{% break %}"
        "{% endif %}{% endfor %}{{ strftime_now('%Y-%m-%d') }}"
        "{% set ns = namespace(n=0) %}{{ dict(a=1)|tojson(sort_keys=true) }}"
    )
    template = ChatTemplate.from_model(source, "", "", now=lambda: datetime(2026, 3, 14))
    assert template.note is None
    assert template.render(CONVERSATION) == '<Hi><Hello!>2026-03-14{"a": 1}'


def test_a_template_that_needs_tools_gets_them_empty() -> None:
    source = (
        "{% for t in tools %}{{ t }}{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    template = ChatTemplate.from_model(source, "", "")
    assert template.name == "model" and template.empty_tools
    assert template.render(CONVERSATION[1:2]) == "Hi"


def test_an_unusable_template_is_replaced_with_a_note() -> None:
    template = ChatTemplate.from_model("{% for m in messages %}", "<s>", "</s>", fallback="alpaca")
    assert template.name == "alpaca"
    assert template.replaced_note is not None
    assert template.replaced_note.startswith("The model's chat template could not be rendered (")
    assert template.replaced_note.endswith("so Hearth uses the Alpaca format instead.")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_is_refused_quickly(name: str) -> None:
    source, expected = HOSTILE[name]
    start = time.monotonic()
    template = ChatTemplate.from_model(source, "<s>", "</s>")
    assert time.monotonic() - start < 5
    assert template.name == "chatml"
    assert template.replaced_note is not None and expected in template.replaced_note
    assert template.replaced_note.endswith(", so Hearth uses the ChatML format instead.")


def test_a_conversation_too_big_for_the_limits_is_refused_with_a_sentence() -> None:
    template = replace(ChatTemplate.named("chatml"), limits=RenderLimits(time_s=0.0))
    with pytest.raises(TemplateLimitError, match="takes too long to render"):
        template.render(CONVERSATION)


def test_the_sandbox_renders_only_within_limits() -> None:
    compiled = compile_bounded(BoundedEnvironment(), "{{ 1 }}", RenderLimits())
    with pytest.raises(TemplateError, match="without its limits"):
        compiled.render()


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
    assert text.startswith(template.render(CONVERSATION).rstrip())
    assert text.endswith("The capital is") and "CONTINUE" not in text
    assert template.render(partial, add_generation_prompt=False).count("The capital is") == 1
