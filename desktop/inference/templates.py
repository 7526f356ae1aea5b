"""Chat prompts: a model's own Jinja template (sandboxed, bounded) or a named fallback format.

A GGUF file usually carries `tokenizer.chat_template`; it is rendered as transformers renders
it (the model was trained on that), in `template_sandbox.BoundedEnvironment`, so a hostile
template can neither reach Python objects nor hang Hearth or eat its memory. Before a model's
template is used it is tried once (`ChatTemplate.from_model`): a template without a system
role gets the system prompt folded into the first user message; one that needs tool inputs
gets them empty; one that cannot be used at all is replaced by a named format, and `note`
says which and why, for the user. Files without a template (most legacy GGML files) get a
named format chosen by the user.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import jinja2

from desktop.core.errors import TemplateError
from desktop.core.types import ChatMessage
from desktop.inference.template_sandbox import (
    BoundedEnvironment,
    RaisedByTemplate,
    RenderLimits,
    TemplateLimitError,
    bounded_render,
    compile_bounded,
)

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
#: How the formats are named to the user.
FORMAT_LABELS = {
    "chatml": "ChatML",
    "llama-2": "Llama 2",
    "alpaca": "Alpaca",
    "vicuna": "Vicuna",
    "zephyr": "Zephyr",
    "plain": "plain User/Assistant",
}
#: Seconds a model's template may take on the trial conversations of `from_model`.
TRIAL_TIME_S = 0.5
#: transformers marks the reply to continue with this, renders, and cuts there.
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
FOLD_NOTE = (
    "The model's chat template has no system role, so Hearth puts the system prompt at the "
    "start of the first user message."
)


def empty_tool_inputs(now: datetime) -> dict[str, Any]:
    """What templates written for tool use get when they cannot render without tools."""
    return {"tools": [], "documents": [], "functions": "[]", "datetime": now.strftime("%Y-%m-%d")}


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template plus the special tokens and stop strings it uses.

    `fold_system`: the template has no system role (the system prompt goes into the first
    user message). `empty_tools`: it needs tool inputs, given empty. `note`: for the user,
    when the model's own template is adapted or replaced, and why.
    """

    source: str
    name: str
    bos_token: str = ""
    eos_token: str = ""
    stop: tuple[str, ...] = ()
    fold_system: bool = False
    empty_tools: bool = False
    note: str | None = None
    limits: RenderLimits = field(default_factory=RenderLimits)
    now: Callable[[], datetime] = field(default=datetime.now, compare=False, repr=False)
    _compiled: list[jinja2.Template] = field(
        default_factory=list, init=False, compare=False, repr=False
    )

    @property
    def replaced_note(self) -> str | None:
        """The note when the model's own template is replaced by a named format, else None."""
        return self.note if self.name != "model" else None

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
        cls,
        source: str | None,
        bos_token: str,
        eos_token: str,
        fallback: str = "chatml",
        limits: RenderLimits | None = None,
        now: Callable[[], datetime] = datetime.now,
    ) -> ChatTemplate:
        """The model's own template when it is usable, else the named `fallback` with a note."""
        if not source:
            return cls.named(fallback, bos_token, eos_token)
        stop = tuple(s for s in (eos_token, *_guess_stops(source)) if s)
        template = cls(source, "model", bos_token, eos_token, stop, now=now)
        if limits is not None:
            template = replace(template, limits=limits)
        # The trial renders a few words: it gets at most half a second (real templates take
        # milliseconds), so a file that hangs costs little wherever it is tried.
        trial = replace(template.limits, time_s=min(template.limits.time_s, TRIAL_TIME_S))
        try:
            tried = replace(template, limits=trial)._tried()
            return replace(tried, limits=template.limits)
        except TemplateError as exc:
            named = cls.named(fallback, bos_token, eos_token)
            if isinstance(exc, RaisedByTemplate):
                reason = f'The model\'s chat template refuses a lone user message ("{exc.rule}")'
            else:
                reason = str(exc).rstrip(".")
            label = FORMAT_LABELS.get(fallback, fallback)
            return replace(named, note=f"{reason}, so Hearth uses the {label} format instead.")

    def _tried(self) -> ChatTemplate:
        """This template as it can be used: tried on a lone user message, then with a system
        prompt. Raises `TemplateError` when it cannot be used at all."""
        hello = [ChatMessage("user", "Hello")]
        template = self
        try:
            template.render(hello)
        except (TemplateLimitError, RaisedByTemplate):
            raise
        except TemplateError:
            template = replace(self, empty_tools=True)
            try:
                template.render(hello)
            except TemplateError:
                self.render(hello)  # the error of the template as it is
                raise
        try:
            template.render([ChatMessage("system", "Be brief."), *hello])
        except TemplateLimitError:
            raise
        except TemplateError:
            template = replace(template, fold_system=True, note=FOLD_NOTE)
            template.render([ChatMessage("system", "Be brief."), *hello])
        return template

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        """The prompt for `messages`; with `add_generation_prompt`, ready for the reply.

        A conversation that ends with an assistant message asks to *continue* that reply
        (an interrupted one), as transformers' `continue_final_message` does: the whole
        conversation is rendered and cut right after that reply's text, left open for the
        model to go on.
        """
        dicts = [{"role": m.role, "content": m.content} for m in messages]
        if self.fold_system and dicts and dicts[0]["role"] == "system":
            dicts = _folded(dicts)
        if add_generation_prompt and dicts and dicts[-1]["role"] == "assistant":
            return self._continued(dicts)
        return self._render(dicts, add_generation_prompt)

    def _continued(self, dicts: list[dict[str, str]]) -> str:
        reply = dicts[-1]["content"]
        tagged = [*dicts[:-1], {"role": "assistant", "content": reply + _CONTINUE_TAG}]
        text = self._render(tagged, False)
        at = text.rfind(_CONTINUE_TAG.strip())
        if at < 0 or reply.strip() not in text:  # the template drops the reply: append it
            return self._render(dicts[:-1], True) + reply
        if text[at : at + len(_CONTINUE_TAG)] == _CONTINUE_TAG:
            return text[:at]
        return text[:at].rstrip()

    def _render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        now = self.now()
        variables: dict[str, Any] = {
            "messages": messages,
            "tools": None,
            "documents": None,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }
        if self.empty_tools:
            variables.update(empty_tool_inputs(now))
        size = sum(len(m["content"]) for m in messages)
        try:
            if not self._compiled:
                env = BoundedEnvironment(now=self.now)
                self._compiled.append(compile_bounded(env, self.source, self.limits))
            return bounded_render(self._compiled[0], self.limits, variables, size)
        except TemplateError:
            raise
        except RecursionError as exc:
            raise TemplateLimitError("memory", "nesting too deep") from exc
        except MemoryError as exc:
            raise TemplateLimitError("memory", "out of memory") from exc
        except Exception as exc:  # a template is code from a file: any failure is the file's
            detail = (str(exc) or type(exc).__name__).rstrip(".")
            raise TemplateError(
                f"The model's chat template could not be rendered ({detail[:200]})."
            ) from exc


def _folded(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system prompt put in front of the first user message (or made one)."""
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    for message in rest:
        if message["role"] == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def _guess_stops(source: str) -> tuple[str, ...]:
    stops: list[str] = []
    for marker in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"):
        if marker in source:
            stops.append(marker)
    return tuple(stops)
