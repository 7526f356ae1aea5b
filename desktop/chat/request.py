"""The messages one request sends: system prompt, assistant examples, then the branch shown.

`build_request` also remembers which message on screen each sent turn came from, so when
the context planner leaves the oldest turns out (`ContextPlan.omitted`), the view can mark
exactly those messages. A user message left without a reply (its generation failed, or
it was sent with no model) is merged with the next one, so roles still alternate for the
chat template.

Plain Python. Thread: GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.chat.session import MessageItem
from desktop.core.assistants import Assistant, build_messages
from desktop.core.prompting import with_system_prompt
from desktop.core.types import ChatMessage
from desktop.documents.searcher import DocumentQuery

#: `turn_items` value of the draft (not yet a message on screen).
DRAFT = -1


@dataclass(frozen=True)
class ChatRequest:
    """`messages` for the engine; the first `pinned` non-system ones are examples.

    `turn_items[i]` is the position (in the branch shown) of the last message that the
    i-th conversation turn was built from (`DRAFT` for the composer's text).
    """

    messages: list[ChatMessage]
    pinned: int
    turn_items: list[int]
    #: The search of the user's documents for the last question (run and packed on the
    #: engine's thread: the passages found are put into the question there).
    query: DocumentQuery | None = None

    def left_out_items(self, omitted: int) -> int:
        """How many messages at the top of the branch the model does not see."""
        if omitted <= 0 or not self.turn_items:
            return 0
        last = self.turn_items[min(omitted, len(self.turn_items)) - 1]
        return 0 if last == DRAFT else last + 1


def build_request(
    items: Sequence[MessageItem],
    assistant: Assistant | None,
    system_prompt: str,
    draft: str = "",
) -> ChatRequest:
    """The request for the branch `items` (plus `draft` as the next question, if any).

    `items` may be the end of a longer branch: `turn_items` are the items' positions.

    With an assistant, its system prompt and examples lead; without one, `system_prompt`.
    """
    turns: list[ChatMessage] = []
    sources: list[int] = []
    entries = [
        (item.position if item.position >= 0 else index, ChatMessage(item.role, item.content))
        for index, item in enumerate(items)
        if item.role in ("user", "assistant") and item.content.strip()
    ]
    if draft.strip():
        entries.append((DRAFT, ChatMessage("user", draft.strip())))
    for index, message in entries:
        if turns and message.role == "user" and turns[-1].role == "user":
            turns[-1] = ChatMessage("user", f"{turns[-1].content}\n\n{message.content}")
            sources[-1] = index if index != DRAFT else sources[-1]
        else:
            turns.append(message)
            sources.append(index)
    if assistant is not None:
        built = build_messages(assistant, turns)
        return ChatRequest(built.messages, built.pinned, sources)
    return ChatRequest(with_system_prompt(system_prompt, turns), 0, sources)


@dataclass(frozen=True)
class ContextBudget:
    """What the next request uses of the model's window, for the composer.

    `prompt_tokens` of `n_ctx` are taken by the prompt; `reserve` is kept for the reply.
    `left_out` messages at the top of the branch are not sent. `error` (a sentence) when
    even the newest message does not fit. `note` (a sentence) when the system prompt or the
    assistant's examples were shortened or left out to fit a small context window.
    """

    prompt_tokens: int
    n_ctx: int
    reserve: int
    left_out: int = 0
    error: str | None = None
    note: str | None = None

    @property
    def fraction(self) -> float:
        """The share of the window the prompt and the reply's reserve take (0..1+)."""
        return (self.prompt_tokens + self.reserve) / self.n_ctx if self.n_ctx else 0.0
