"""Assistants: a name, a system prompt, example exchanges, a default model and settings.

An assistant shapes every request of a conversation: its system prompt comes first, then
its few-shot examples as real user/assistant turns (so the model's own chat template
formats them like any exchange), then the conversation. The examples are *pinned*: when the
history is too long they stay and the oldest turns go (`prompting.plan_context(pinned=...)`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.errors import AssistantError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import ChatMessage

SCHEMA_VERSION = 1
MAX_NAME_CHARS = 80
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class Example:
    """One few-shot exchange: what the user says, and the reply the assistant should model."""

    user: str
    assistant: str


@dataclass(frozen=True)
class Assistant:
    """A reusable persona. `model` is a model library key or file name (None: the default);
    `settings` holds only the generation settings it overrides (see `core.settings`)."""

    id: str
    name: str
    system_prompt: str
    examples: tuple[Example, ...] = ()
    description: str = ""
    model: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    builtin: bool = False
    #: The document collections (ids in the encrypted store) its chats answer from by
    #: default; a chat can change them.
    collections: tuple[int, ...] = ()


@dataclass(frozen=True)
class PromptMessages:
    """The messages for one request; the first `pinned` non-system ones are the examples."""

    messages: list[ChatMessage]
    pinned: int


def build_messages(assistant: Assistant | None, history: Sequence[ChatMessage]) -> PromptMessages:
    """System prompt, then the examples as user/assistant pairs, then `history`.

    System messages inside `history` are dropped: the assistant's prompt is the one that
    counts. With no assistant, Hearth's default system prompt is used.
    """
    prompt = assistant.system_prompt if assistant is not None else DEFAULT_SYSTEM_PROMPT
    messages = [ChatMessage("system", prompt)] if prompt.strip() else []
    examples = assistant.examples if assistant is not None else ()
    for example in examples:
        messages.append(ChatMessage("user", example.user))
        messages.append(ChatMessage("assistant", example.assistant))
    messages += [m for m in history if m.role != "system"]
    return PromptMessages(messages, pinned=2 * len(examples))


def slugify(name: str) -> str:
    """A file-safe id stem from a name: "Code helper!" -> "code-helper"."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "assistant"


def assistant_to_dict(assistant: Assistant) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": assistant.id,
        "name": assistant.name,
        "description": assistant.description,
        "system_prompt": assistant.system_prompt,
        "examples": [{"user": e.user, "assistant": e.assistant} for e in assistant.examples],
        "model": assistant.model,
        "settings": dict(assistant.settings),
        "collections": list(assistant.collections),
    }


def assistant_from_dict(data: Any, *, builtin: bool = False, source: str = "") -> Assistant:
    """Read and check an assistant; raise `AssistantError` naming `source` and the problem."""
    where = f" in {source}" if source else ""

    def fail(problem: str) -> AssistantError:
        return AssistantError(f"The assistant{where} cannot be used: {problem}.")

    if not isinstance(data, dict):
        raise fail("it is not a JSON object")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise fail("it was saved by a newer Hearth")
    ident, name = data.get("id"), data.get("name")
    if not isinstance(ident, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", ident):
        raise fail("its id is missing or not made of lowercase letters, digits and dashes")
    if problem := name_problem(name):
        raise fail(problem)
    assert isinstance(name, str)
    name = name.strip()
    prompt = data.get("system_prompt", "")
    description = data.get("description", "")
    if not isinstance(prompt, str) or not isinstance(description, str):
        raise fail("its system prompt or description is not text")
    raw_examples = data.get("examples", [])
    if not isinstance(raw_examples, list) or len(raw_examples) > MAX_EXAMPLES:
        raise fail(f"its examples are not a list of at most {MAX_EXAMPLES} exchanges")
    examples = []
    for item in raw_examples:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("user"), str)
            and isinstance(item.get("assistant"), str)
            and item["user"].strip()
            and item["assistant"].strip()
        ):
            raise fail('an example is not a non-empty "user" and "assistant" text pair')
        examples.append(Example(item["user"], item["assistant"]))
    model = data.get("model")
    settings = data.get("settings", {})
    if model is not None and not isinstance(model, str):
        raise fail("its model is not a name")
    if not isinstance(settings, dict):
        raise fail("its settings are not a JSON object")
    collections = data.get("collections", [])
    if not isinstance(collections, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in collections
    ):
        raise fail("its document collections are not a list of collection numbers")
    return Assistant(
        id=ident,
        name=name,
        system_prompt=prompt,
        examples=tuple(examples),
        description=description,
        model=model or None,
        settings=dict(settings),
        builtin=builtin,
        collections=tuple(dict.fromkeys(collections)),
    )


def name_problem(name: Any) -> str | None:
    """Why `name` cannot name an assistant (completes "it ..."), or None if it can."""
    if not isinstance(name, str) or not name.strip():
        return "its name is empty"
    if len(name.strip()) > MAX_NAME_CHARS:
        return f"its name is longer than {MAX_NAME_CHARS} characters"
    return None
