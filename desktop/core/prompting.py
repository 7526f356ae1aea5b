"""Building what the model sees: the system prompt plus as much history as fits.

The context window must hold the rendered prompt *and* the reply. When the history
is too long, the oldest turns are left out (the system message stays). On a model whose
window is too small for the system prompt beside the newest message, the assistant's
examples, then the system prompt (shortened, then left out) give way, and the plan says
so; a single message too long for the window by itself is a clear error naming what takes
the room, never an engine crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

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

    System messages at the start are kept, and so are the first `pinned` other messages
    (an assistant's example exchanges), unless the newest turn cannot fit beside them (see
    `plan_context`). Turns are dropped oldest first, a whole exchange at a time, so the kept
    history still starts with a user message. Raises `ContextOverflowError` when not even
    the newest message fits on its own.
    """
    return plan_context(messages, n_ctx, reserve, count_tokens, pinned).messages


#: How the system prompt went into a request: whole (or there is none), cut, or left out.
SystemPromptFit = Literal["kept", "shortened", "dropped"]


@dataclass(frozen=True)
class ContextPlan:
    """What the next request sends: the fitted messages and how the budget is used.

    `omitted` is how many of the oldest history messages (after the system prompt and the
    pinned examples) were left out; the UI marks those. `prompt_tokens` is the rendered
    prompt's length; `budget` is what the prompt may take (`n_ctx - reserve`). On a model
    whose window cannot hold the system prompt and the newest message together, the
    assistant's examples are left out (`examples_left_out` messages), then the system prompt
    is shortened to its first sentences or left out (`system_prompt`); `note` says so.
    """

    messages: list[ChatMessage]
    omitted: int
    prompt_tokens: int
    n_ctx: int
    reserve: int
    examples_left_out: int = 0
    system_prompt: SystemPromptFit = "kept"

    @property
    def budget(self) -> int:
        return self.n_ctx - self.reserve

    @property
    def note(self) -> str | None:
        """One sentence when the system prompt or the examples had to give way, else None."""
        parts = []
        if self.system_prompt == "shortened":
            parts.append("the system prompt is shortened to its first sentences")
        elif self.system_prompt == "dropped":
            parts.append("the system prompt is left out")
        if self.examples_left_out:
            parts.append("the assistant's examples are left out")
        if not parts:
            return None
        return (
            f"This model's context window ({self.n_ctx:,} tokens) is too small for the whole "
            f"prompt, so {' and '.join(parts)}."
        )


@dataclass(frozen=True)
class _Head:
    """The messages before the conversation, and what was taken out of them."""

    messages: list[ChatMessage]
    examples_left_out: int = 0
    system_prompt: SystemPromptFit = "kept"


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]


def _fit_head(
    system: list[ChatMessage],
    examples: list[ChatMessage],
    newest: list[ChatMessage],
    budget: int,
    count_tokens: TokenCounter,
) -> tuple[_Head, int] | None:
    """The fullest head with which the newest turn fits, and that prompt's length.

    In order: everything; fewer example exchanges (the last ones go first); no examples and
    the system prompt's first sentences (as many as fit); nothing. None when even the newest
    turn alone is too long.
    """
    tried: list[tuple[_Head, int]] = []

    def fits(head: _Head) -> bool:
        tried.append((head, count_tokens(head.messages + newest)))
        return tried[-1][1] <= budget

    for keep in range(len(examples), -1, -2):
        if fits(_Head(system + examples[:keep], len(examples) - keep)):
            return tried[-1]
    dropped = len(examples)
    if system:
        sentences = _sentences(system[0].content)
        lo, hi = 1, len(sentences) - 1  # binary search for the most sentences that fit
        best: tuple[_Head, int] | None = None
        while lo <= hi:
            mid = (lo + hi) // 2
            short = ChatMessage("system", " ".join(sentences[:mid]))
            if fits(_Head([short], dropped, "shortened")):
                best, lo = tried[-1], mid + 1
            else:
                hi = mid - 1
        if best is not None:
            return best
        if fits(_Head([], dropped, "dropped")):
            return tried[-1]
    return None


def _overflow(
    system: list[ChatMessage],
    examples: list[ChatMessage],
    newest: list[ChatMessage],
    n_ctx: int,
    reserve: int,
    count_tokens: TokenCounter,
) -> ContextOverflowError:
    """The error for a newest turn that does not fit on its own, naming what takes the room."""
    what = "message" if len(newest) == 1 else "last exchange"
    alone = count_tokens(newest)
    without = []
    if system:
        with_system = count_tokens(system + newest)
        without.append(f"the system prompt (about {with_system - alone} tokens)")
        if examples:
            share = count_tokens(system + examples + newest) - with_system
            without.append(f"the assistant's examples (about {share})")
    even = f", even without {' and '.join(without)}" if without else ""
    return ContextOverflowError(
        f"The {what} is too long for this model: it takes about {alone} tokens by itself, "
        f"but the context window holds {n_ctx} with {reserve} kept for the reply{even}. "
        "Shorten the message, or load the model with a larger context."
    )


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
    examples = rest[:pinned]
    turns = rest[pinned:]
    reserve = min(reserve, max(MIN_REPLY_TOKENS, n_ctx // 4))
    budget = n_ctx - reserve
    if not turns:
        everything = system + examples
        prompt = count_tokens(everything) if everything else 0
        return ContextPlan(everything, 0, prompt, n_ctx, reserve)

    # The usual case first: everything fits (one count, not a search: a prompt counted
    # several times per turn would make later turns slower to start).
    everything = system + examples + turns
    whole = count_tokens(everything)
    if whole <= budget and (turns[0].role == "user" or len(turns) == 1):
        return ContextPlan(everything, 0, whole, n_ctx, reserve)
    # Candidate start points: each user message (so the history starts with a question).
    starts = [i for i, m in enumerate(turns) if m.role == "user"] or [0]
    if starts[-1] != len(turns) - 1 and turns[-1].role == "user":
        starts.append(len(turns) - 1)
    # The system prompt and examples stay unless the newest turn cannot fit beside them.
    lo, hi = 0, len(starts) - 1
    fitted = _fit_head(system, examples, turns[starts[hi] :], budget, count_tokens)
    if fitted is None:
        raise _overflow(system, examples, turns[starts[hi] :], n_ctx, reserve, count_tokens)
    head, newest = fitted
    # Binary search for the earliest start that fits: later starts are never longer.
    used = {hi: newest}
    while lo < hi:
        mid = (lo + hi) // 2
        used[mid] = count_tokens(head.messages + turns[starts[mid] :])
        if used[mid] <= budget:
            hi = mid
        else:
            lo = mid + 1
    if lo not in used:
        used[lo] = count_tokens(head.messages + turns[starts[lo] :])
    return ContextPlan(
        head.messages + turns[starts[lo] :],
        starts[lo],
        used[lo],
        n_ctx,
        reserve,
        head.examples_left_out,
        head.system_prompt,
    )
