"""What recent prompts cost, so a conversation is not counted again at every step of a turn.

A turn counts its prompt several times before the first token: the context meter while the
user types, the context plan when Send is pressed, the engine when it tokenizes the prompt.
Each count renders the chat template over the whole conversation and tokenizes it (through
the engine host: a round trip too), so without a cache that work grows with the conversation.
`PromptCounts` remembers the counts of the last few message lists, for one loaded model.

Plain Python; owned by the engine's thread like the engine itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from desktop.core.types import ChatMessage

Key = tuple[ChatMessage, ...]


class PromptCounts:
    """A small LRU map from a message list to its prompt's token count. Clear it on load."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._counts: OrderedDict[Key, int] = OrderedDict()

    def get(self, messages: Sequence[ChatMessage]) -> int | None:
        key = tuple(messages)
        count = self._counts.get(key)
        if count is not None:
            self._counts.move_to_end(key)
        return count

    def put(self, messages: Sequence[ChatMessage], count: int) -> None:
        key = tuple(messages)
        self._counts[key] = count
        self._counts.move_to_end(key)
        while len(self._counts) > self._size:
            self._counts.popitem(last=False)

    def clear(self) -> None:
        self._counts.clear()

    def __len__(self) -> int:
        return len(self._counts)
