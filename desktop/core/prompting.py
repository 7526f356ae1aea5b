"""Building what the model sees: the system prompt plus as much history as fits.

The context window must hold the rendered prompt *and* the reply. When the history
is too long, the oldest turns are left out (the system message always stays); a
single message too long for the window is a clear error, never an engine crash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from desktop.core.errors import ContextOverflowError
from desktop.core.types import ChatMessage

TokenCounter = Callable[[Sequence[ChatMessage]], int]

#: Phrased like the system prompt small chat models are trained with: SmolLM2 answers
#: simple factual questions correctly with it, and drifts into other languages without it.
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful AI assistant named Hearth. You answer questions clearly and accurately."
)

#: The smallest reply the budget keeps room for when `reserve` is larger than the window.
MIN_REPLY_TOKENS = 16


def with_system_prompt(system_prompt: str, history: Sequence[ChatMessage]) -> list[ChatMessage]:
    """`history` preceded by a system message (none when `system_prompt` is blank)."""
    head = [ChatMessage("system", system_prompt)] if system_prompt.strip() else []
    return head + [m for m in history if m.role != "system"]


def fit_messages(
    messages: Sequence[ChatMessage],
    n_ctx: int,
    reserve: int,
    count_tokens: TokenCounter,
    pinned: int = 0,
) -> list[ChatMessage]:
    """The longest suffix of the conversation whose prompt leaves `reserve` tokens free.

    System messages at the start are always kept, and so are the first `pinned` other
    messages (an assistant's example exchanges). Turns are dropped oldest first, a
    whole exchange at a time, so the kept history still starts with a user message.
    Raises `ContextOverflowError` when not even the newest message fits.
    """
    return plan_context(messages, n_ctx, reserve, count_tokens, pinned).messages


@dataclass(frozen=True)
class ContextPlan:
    """What the next request sends: the fitted messages and how the budget is used.

    `omitted` is how many of the oldest history messages (after the system prompt and the
    pinned examples) were left out; the UI marks those. `prompt_tokens` is the rendered
    prompt's length; `budget` is what the prompt may take (`n_ctx - reserve`).
    """

    messages: list[ChatMessage]
    omitted: int
    prompt_tokens: int
    n_ctx: int
    reserve: int

    @property
    def budget(self) -> int:
        return self.n_ctx - self.reserve


def plan_context(
    messages: Sequence[ChatMessage],
    n_ctx: int,
    reserve: int,
    count_tokens: TokenCounter,
    pinned: int = 0,
) -> ContextPlan:
    """`fit_messages` with the figures the composer shows; same rules, same errors."""
    system = [m for m in messages if m.role == "system"][:1]
    rest = [m for m in messages if m.role != "system"]
    head = system + rest[:pinned]
    turns = rest[pinned:]
    reserve = min(reserve, max(MIN_REPLY_TOKENS, n_ctx // 4))
    budget = n_ctx - reserve
    if not turns:
        return ContextPlan(list(head), 0, count_tokens(head) if head else 0, n_ctx, reserve)

    # The usual case first: everything fits (one count, not a search: a prompt counted
    # several times per turn would make later turns slower to start).
    whole = count_tokens(head + turns)
    if whole <= budget and (turns[0].role == "user" or len(turns) == 1):
        return ContextPlan(head + turns, 0, whole, n_ctx, reserve)
    # Candidate start points: each user message (so the history starts with a question).
    starts = [i for i, m in enumerate(turns) if m.role == "user"] or [0]
    if starts[-1] != len(turns) - 1 and turns[-1].role == "user":
        starts.append(len(turns) - 1)
    # Binary search for the earliest start that fits: later starts are never longer.
    lo, hi = 0, len(starts) - 1
    newest = count_tokens(head + turns[starts[hi] :])
    if newest > budget:
        what = "message" if len(turns) - starts[hi] == 1 else "last exchange"
        extra = " with the assistant's examples" if pinned else ""
        raise ContextOverflowError(
            f"The {what} is too long for this model: it needs about {newest} tokens{extra}, "
            f"but the context window holds {n_ctx} with {reserve} kept for the reply. "
            "Shorten the message, or load the model with a larger context."
        )
    used = {hi: newest}
    while lo < hi:
        mid = (lo + hi) // 2
        used[mid] = count_tokens(head + turns[starts[mid] :])
        if used[mid] <= budget:
            hi = mid
        else:
            lo = mid + 1
    if lo not in used:
        used[lo] = count_tokens(head + turns[starts[lo] :])
    return ContextPlan(head + turns[starts[lo] :], starts[lo], used[lo], n_ctx, reserve)
