"""Conversations' evaluated prompts kept in memory, so going back to a chat answers warm.

llama.cpp keeps one conversation's prompt in its KV cache. Switching to another chat
replaces it; switching back used to evaluate the whole earlier conversation again (at
1,500 tokens, a second or more on a laptop CPU before the first word). `KvStates` keeps
the context's state (llama.cpp's own serialisation: the KV cache of every evaluated token)
of the last conversations left, keyed by their rendered prompt text, within a memory
budget: the engine saves the state it is about to replace and restores the one whose
prompt the new request continues.

It lives in the engine host process with the model (it is the model's memory, not the
user's data) and is dropped when the model is unloaded or the process ends: nothing of it
is written to disk. Plain Python; owned by the engine's thread like the engine itself.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: Memory for saved states (about 23 KB a token for the built-in model: ~11,000 tokens).
DEFAULT_BUDGET = 256 * 1024 * 1024


@dataclass(frozen=True)
class SavedState:
    """A context's state after evaluating `tokens`, the tokens of the prompt `text`
    followed by the reply generated from it."""

    text: str
    prompt_tokens: tuple[int, ...]
    tokens: tuple[int, ...]
    data: bytes


class KvStates:
    """A least-recently-used set of saved states within `budget` bytes."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self._budget = budget
        self._states: OrderedDict[str, SavedState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    @property
    def budget(self) -> int:
        return self._budget

    @property
    def size(self) -> int:
        return sum(len(state.data) for state in self._states.values())

    def put(self, state: SavedState) -> None:
        """Keep `state`; an older state of the same conversation (a prompt this one
        extends, or that extends this one) is replaced; the oldest go beyond the budget."""
        if len(state.data) > self._budget:
            return
        same = [t for t in self._states if state.text.startswith(t) or t.startswith(state.text)]
        for text in same:
            del self._states[text]
        self._states[state.text] = state
        while self.size > self._budget:
            self._states.popitem(last=False)

    def take(self, text: str) -> SavedState | None:
        """The state whose prompt `text` continues (the longest), taken out of the set:
        once restored it is the engine's live cache."""
        best = max(
            (saved for saved in self._states.values() if text.startswith(saved.text)),
            key=lambda saved: len(saved.text),
            default=None,
        )
        if best is not None:
            del self._states[best.text]
        return best

    def clear(self) -> None:
        self._states.clear()
