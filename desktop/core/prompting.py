"""Building what the model sees: the system prompt plus as much history as fits.

The context window must hold the rendered prompt *and* the reply. When the history
is too long, the oldest turns are left out (the system message always stays); a
single message too long for the window is a clear error, never an engine crash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    messages: Sequence[ChatMessage], n_ctx: int, reserve: int, count_tokens: TokenCounter
) -> list[ChatMessage]:
    """The longest suffix of the conversation whose prompt leaves `reserve` tokens free.

    System messages at the start are always kept. Turns are dropped oldest first, a
    whole exchange at a time, so the kept history still starts with a user message.
    Raises `ContextOverflowError` when not even the newest message fits.
    """
    system = [m for m in messages if m.role == "system"][:1]
    turns = [m for m in messages if m.role != "system"]
    reserve = min(reserve, max(MIN_REPLY_TOKENS, n_ctx // 4))
    budget = n_ctx - reserve
    if not turns:
        return list(system)

    # Candidate start points: each user message (so the history starts with a question).
    starts = [i for i, m in enumerate(turns) if m.role == "user"] or [0]
    if starts[-1] != len(turns) - 1 and turns[-1].role == "user":
        starts.append(len(turns) - 1)
    # Binary search for the earliest start that fits: later starts are never longer.
    lo, hi = 0, len(starts) - 1
    if count_tokens(system + turns[starts[hi] :]) > budget:
        newest = count_tokens(system + turns[starts[hi] :])
        raise ContextOverflowError(
            f"The message is too long for this model: it needs about {newest} tokens, but "
            f"the context window holds {n_ctx} with {reserve} kept for the reply. "
            "Shorten the message, or load the model with a larger context."
        )
    while lo < hi:
        mid = (lo + hi) // 2
        if count_tokens(system + turns[starts[mid] :]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return system + turns[starts[lo] :]
