"""Chat prompts: a model's own Jinja template (sandboxed) or a named fallback format.

A GGUF file usually carries `tokenizer.chat_template`; it is rendered in a jinja2
`ImmutableSandboxedEnvironment` so a hostile template cannot reach Python objects.
Files without one (most legacy GGML files) get a named format chosen by the user or
guessed from the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from desktop.core.errors import TemplateError
from desktop.core.types import ChatMessage

_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_LLAMA2 = (
    "{% if messages and messages[0].role == 'system' %}"
    "{% set system = messages[0].content %}{% set rest = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{% for m in rest %}"
    "{% if m.role == 'user' %}{{ bos_token }}[INST] "
    "{% if loop.first and system %}<<SYS>>\n{{ system }}\n<</SYS>>\n\n{% endif %}"
    "{{ m.content }} [/INST]"
    "{% else %} {{ m.content }} {{ eos_token }}{% endif %}"
    "{% endfor %}"
)
_ALPACA = (
    "{% for m in messages %}"
    "{% if m.role == 'system' %}{{ m.content }}\n\n"
    "{% elif m.role == 'user' %}### Instruction:\n{{ m.content }}\n\n"
    "{% else %}### Response:\n{{ m.content }}\n\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}### Response:\n{% endif %}"
)
_VICUNA = (
    "{% for m in messages %}"
    "{% if m.role == 'system' %}{{ m.content }}\n\n"
    "{% elif m.role == 'user' %}USER: {{ m.content }}\n"
    "{% else %}ASSISTANT: {{ m.content }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
_ZEPHYR = (
    "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
_PLAIN = (
    "{% for m in messages %}"
    "{% if m.role == 'system' %}{{ m.content }}\n\n"
    "{% elif m.role == 'user' %}User: {{ m.content }}\n"
    "{% else %}Assistant: {{ m.content }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)

#: Named formats for files that carry no template, with the stop strings each needs.
NAMED_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "chatml": (_CHATML, ("<|im_end|>", "<|im_start|>")),
    "llama-2": (_LLAMA2, ("[INST]",)),
    "alpaca": (_ALPACA, ("### Instruction:",)),
    "vicuna": (_VICUNA, ("USER:",)),
    "zephyr": (_ZEPHYR, ("<|user|>",)),
    "plain": (_PLAIN, ("\nUser:",)),
}


def _raise_exception(message: str) -> NoReturn:
    raise TemplateError(f"The model's chat template refused the conversation: {message}")


def _strftime_now(fmt: str) -> str:
    return date.today().strftime(fmt)


@dataclass(frozen=True)
class ChatTemplate:
    """A compiled chat template plus the special tokens and stop strings it uses."""

    source: str
    name: str
    bos_token: str = ""
    eos_token: str = ""
    stop: tuple[str, ...] = ()

    @classmethod
    def named(cls, name: str, bos_token: str = "<s>", eos_token: str = "</s>") -> ChatTemplate:
        try:
            source, stop = NAMED_FORMATS[name]
        except KeyError:
            known = ", ".join(sorted(NAMED_FORMATS))
            raise TemplateError(f"Unknown chat format {name!r}; known formats: {known}.") from None
        return cls(source, name, bos_token, eos_token, stop)

    @classmethod
    def from_model(
        cls, source: str | None, bos_token: str, eos_token: str, fallback: str = "chatml"
    ) -> ChatTemplate:
        """The model's own template when it has a usable one, else the named `fallback`."""
        if source:
            stop = tuple(s for s in (eos_token, *_guess_stops(source)) if s)
            template = cls(source, "model", bos_token, eos_token, stop)
            try:
                template.render([ChatMessage("user", "hi")])
            except TemplateError:
                pass
            else:
                return template
        return cls.named(fallback, bos_token, eos_token)

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """The prompt for `messages`; with `add_generation_prompt`, ready for the reply.

        A conversation that ends with an assistant message asks to *continue* that reply
        (an interrupted one): the messages before it are rendered with the generation
        prompt and its text follows, left open for the model to go on.
        """
        if add_generation_prompt and messages and messages[-1].role == "assistant":
            return self._render(messages[:-1], True) + messages[-1].content
        return self._render(messages, add_generation_prompt)

    def _render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
        try:
            compiled = _environment().from_string(self.source)
            return compiled.render(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                raise_exception=_raise_exception,
                strftime_now=_strftime_now,
            )
        except TemplateError:
            raise
        except jinja2.TemplateError as exc:
            raise TemplateError(f"The chat template could not be rendered: {exc}") from exc
        except Exception as exc:  # a template is code from a file: any failure is the file's
            raise TemplateError(f"The chat template failed: {exc}") from exc


def _guess_stops(source: str) -> tuple[str, ...]:
    stops: list[str] = []
    for marker in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"):
        if marker in source:
            stops.append(marker)
    return tuple(stops)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.globals["raise_exception"] = _raise_exception

    def tojson(value: Any, indent: int | None = None) -> str:
        import json

        return json.dumps(value, ensure_ascii=False, indent=indent)

    env.filters["tojson"] = tojson
    return env
